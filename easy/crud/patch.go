package crud

import (
	"bytes"
	"encoding/json"
	"mime"
	"net/http"
	"reflect"

	"github.com/fastapi-easy/easy-go/internal/binding"
	"github.com/fastapi-easy/easy-go/internal/model"
)

// mergePatchType is the media type of a JSON Merge Patch (RFC 7396).
const mergePatchType = "application/merge-patch+json"

// isMergePatch reports whether r's body is a JSON Merge Patch.
func isMergePatch(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == mergePatchType
}

// mergeUpdate serves PATCH with a JSON Merge Patch body. For the row's
// own fields it means what the JSON body of PATCH means: a member sets a
// field, null clears a nullable one (and is a 422 for one that cannot be
// null), a field left out keeps its value. A field that holds an object
// (a struct or a map stored as JSON) is merged with the stored one,
// member by member, as RFC 7396 says, and checked once merged.
func (rt *Router[T]) mergeUpdate(w http.ResponseWriter, r *http.Request, im *condition, id any, invalid error) {
	ctx := r.Context()
	raw, err := binding.ReadBody(r)
	if err == nil {
		err = binding.CheckMergeDepth(raw)
	}
	if err != nil {
		rt.fail(w, r, joinInvalid(invalid, err))
		return
	}
	var doc map[string]json.RawMessage
	nested := map[string]json.RawMessage{}
	if json.Unmarshal(raw, &doc) == nil && doc != nil {
		for name, v := range doc {
			if f := rt.m.ByName[name]; f != nil && f.Update && mergeable(f) && bytes.HasPrefix(bytes.TrimSpace(v), []byte("{")) {
				nested[name] = v
				delete(doc, name)
			}
		}
		raw, _ = json.Marshal(doc)
	}
	patch := new(T)
	present, berr := rt.patch.DecodeJSON(raw, patch, []any{"body"})
	sent := func(f *model.Field) bool { return f.Update && (present[f.Name] || nested[f.Name] != nil) }
	if berr == nil {
		berr = rt.m.Check(patch, sent)
	}
	if invalid != nil || berr != nil {
		rt.fail(w, r, joinInvalid(invalid, berr))
		return
	}
	item, tag, err := rt.modify(ctx, UpdateRoute, id, im, rt.m.Columns(sent), func(item *T) error {
		rt.m.Copy(item, patch, func(f *model.Field) bool { return f.Update && present[f.Name] })
		if len(nested) == 0 {
			return nil
		}
		return rt.mergeNested(item, nested)
	})
	if err != nil {
		rt.fail(w, r, err)
		return
	}
	w.Header().Set("ETag", tag)
	rt.write(w, r, http.StatusOK, item)
}

// mergeNested merges the object members of a patch into the stored
// values of their fields in item, and checks the results as a body.
func (rt *Router[T]) mergeNested(item *T, nested map[string]json.RawMessage) error {
	b, err := json.Marshal(item)
	if err != nil {
		return err
	}
	var stored map[string]json.RawMessage
	if err := json.Unmarshal(b, &stored); err != nil {
		return err
	}
	merged := make(map[string]json.RawMessage, len(nested))
	for name, p := range nested {
		if merged[name], err = binding.MergePatch(stored[name], p); err != nil {
			return err
		}
	}
	doc, err := json.Marshal(merged)
	if err != nil {
		return err
	}
	out := new(T)
	if _, err := rt.patch.DecodeJSON(doc, out, []any{"body"}); err != nil {
		return err
	}
	in := func(f *model.Field) bool { return nested[f.Name] != nil }
	if err := rt.m.Check(out, in); err != nil {
		return err
	}
	rt.m.Copy(item, out, in)
	return nil
}

// mergeable reports whether a field holds a JSON object that a merge
// patch merges into rather than replaces: a struct (not a time) or a map.
func mergeable(f *model.Field) bool {
	switch f.Base.Kind() {
	case reflect.Map:
		return true
	case reflect.Struct:
		return f.Kind == model.KindOther
	}
	return false
}
