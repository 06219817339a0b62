package crud_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"gorm.io/gorm"

	"github.com/fastapi-easy/easy-go/easy"
	"github.com/fastapi-easy/easy-go/internal/binding"
	"github.com/fastapi-easy/easy-go/internal/testkit"
)

// Profile has fields that hold objects, stored as JSON, which a merge
// patch merges into.
type Profile struct {
	ID    uint           `json:"id" gorm:"primaryKey"`
	Name  string         `json:"name" required:"true" minLength:"1"`
	Bio   *string        `json:"bio"`
	Age   int            `json:"age" minimum:"0"`
	Prefs map[string]any `json:"prefs" gorm:"serializer:json;type:text"`
	Home  Address        `json:"home" gorm:"serializer:json;type:text"`
}

type Address struct {
	City string `json:"city" required:"true"`
	Zip  string `json:"zip" maxLength:"5"`
}

// TestMergePatch sends JSON Merge Patches (RFC 7396) one after another,
// on each database, and checks each answer exactly: null clears a
// nullable field, objects merge member by member and are checked once
// merged, and the JSON body of PATCH keeps its meaning beside it.
func TestMergePatch(t *testing.T) {
	merge := http.Header{"Content-Type": {"application/merge-patch+json"}}
	steps := []struct {
		method, path, body string
		header             http.Header
		status             int
		want               string
	}{
		{"POST", "/profiles", `{"name":"ann","bio":"hi","age":30,"prefs":{"lang":"en","theme":"light"},"home":{"city":"Paris","zip":"75001"}}`, nil, 201,
			`{"id":1,"name":"ann","bio":"hi","age":30,"prefs":{"lang":"en","theme":"light"},"home":{"city":"Paris","zip":"75001"}}`},
		{"PATCH", "/profiles/1", `{"bio":null}`, merge, 200,
			`{"id":1,"name":"ann","bio":null,"age":30,"prefs":{"lang":"en","theme":"light"},"home":{"city":"Paris","zip":"75001"}}`},
		{"PATCH", "/profiles/1", `{"prefs":{"theme":"dark","font":{"size":12}}}`, merge, 200,
			`{"id":1,"name":"ann","bio":null,"age":30,"prefs":{"font":{"size":12},"lang":"en","theme":"dark"},"home":{"city":"Paris","zip":"75001"}}`},
		{"PATCH", "/profiles/1", `{"prefs":{"lang":null,"font":{"size":null,"bold":true}},"age":31}`, merge, 200,
			`{"id":1,"name":"ann","bio":null,"age":31,"prefs":{"font":{"bold":true},"theme":"dark"},"home":{"city":"Paris","zip":"75001"}}`},
		{"PATCH", "/profiles/1", `{"home":{"zip":null}}`, http.Header{"Content-Type": {"application/merge-patch+json; charset=utf-8"}}, 200,
			`{"id":1,"name":"ann","bio":null,"age":31,"prefs":{"font":{"bold":true},"theme":"dark"},"home":{"city":"Paris","zip":""}}`},
		{"PATCH", "/profiles/1", `{"home":{"city":null},"bio":"x"}`, merge, 422,
			`{"detail":[{"type":"missing","loc":["body","home","city"],"msg":"Field required","input":{"zip":""}}]}`},
		{"PATCH", "/profiles/1", `{"home":{"zip":"123456"}}`, merge, 422,
			`{"detail":[{"type":"string_too_long","loc":["body","home","zip"],"msg":"String should have at most 5 characters","input":"123456","ctx":{"max_length":5}}]}`},
		{"PATCH", "/profiles/1", `{"name":null}`, merge, 422,
			`{"detail":[{"type":"string_type","loc":["body","name"],"msg":"Input should be a valid string","input":null}]}`},
		{"PATCH", "/profiles/1", `{"age":-1,"prefs":{"a":1}}`, merge, 422,
			`{"detail":[{"type":"greater_than_equal","loc":["body","age"],"msg":"Input should be greater than or equal to 0","input":-1,"ctx":{"ge":0}}]}`},
		{"PATCH", "/profiles/1", `[1,2]`, merge, 422,
			`{"detail":[{"type":"model_attributes_type","loc":["body"],"msg":"Input should be a valid dictionary or object to extract fields from","input":[1,2]}]}`},
		{"PATCH", "/profiles/1", `{"age":`, merge, 422,
			`{"detail":[{"type":"json_invalid","loc":["body",7],"msg":"JSON decode error","input":{},"ctx":{"error":"unexpected end of JSON input"}}]}`},
		{"PATCH", "/profiles/x", `{"age":-1}`, merge, 422,
			`{"detail":[{"type":"int_parsing","loc":["path","id"],"msg":"Input should be a valid integer, unable to parse string as an integer","input":"x"},{"type":"greater_than_equal","loc":["body","age"],"msg":"Input should be greater than or equal to 0","input":-1,"ctx":{"ge":0}}]}`},
		{"PATCH", "/profiles/9", `{"age":1}`, merge, 404, `{"detail":"Profile not found"}`},
		{"PATCH", "/profiles/1", `{"age":1}`, http.Header{"Content-Type": {"application/merge-patch+json"}, "If-Match": {`"stale"`}}, 412,
			`{"detail":"Profile has changed since the version If-Match names"}`},
		{"PATCH", "/profiles/1", `{"prefs":null}`, merge, 200,
			`{"id":1,"name":"ann","bio":null,"age":31,"prefs":null,"home":{"city":"Paris","zip":""}}`},
		{"PATCH", "/profiles/1", `{"prefs":{"lang":"fr"}}`, merge, 200,
			`{"id":1,"name":"ann","bio":null,"age":31,"prefs":{"lang":"fr"},"home":{"city":"Paris","zip":""}}`},
		// The JSON body of PATCH replaces a field whole.
		{"PATCH", "/profiles/1", `{"prefs":{"theme":"dark"}}`, nil, 200,
			`{"id":1,"name":"ann","bio":null,"age":31,"prefs":{"theme":"dark"},"home":{"city":"Paris","zip":""}}`},
		{"PATCH", "/profiles/1", `{"home":{"zip":"1"}}`, nil, 422,
			`{"detail":[{"type":"missing","loc":["body","home","city"],"msg":"Field required","input":{"zip":"1"}}]}`},
		{"PATCH", "/profiles/1", `{}`, merge, 200,
			`{"id":1,"name":"ann","bio":null,"age":31,"prefs":{"theme":"dark"},"home":{"city":"Paris","zip":""}}`},
		{"GET", "/profiles/1", ``, nil, 200,
			`{"id":1,"name":"ann","bio":null,"age":31,"prefs":{"theme":"dark"},"home":{"city":"Paris","zip":""}}`},
	}
	testkit.Each(t, nil, func(t *testing.T, db *gorm.DB) {
		s := serve(t, db, easy.CRUDRouter[Profile]())
		for _, st := range steps {
			res := s.doHeader(st.method, st.path, st.body, st.header)
			if res.status != st.status || res.body != st.want {
				t.Errorf("%s %s %s %v\n got %d %s\nwant %d %s", st.method, st.path, st.body, st.header, res.status, res.body, st.status, st.want)
			}
		}
	})
}

// TestMergePatchDepth checks that a merge patch nested deeper than
// binding.MaxMergeDepth is a 422 at the brace that goes too deep, and
// writes nothing, while one at the limit merges.
func TestMergePatchDepth(t *testing.T) {
	merge := http.Header{"Content-Type": {"application/merge-patch+json"}}
	// nested is a patch of prefs whose objects nest depth deep, the
	// patch's own included.
	nested := func(depth int) string {
		return `{"prefs":{"deep":` + strings.Repeat(`{"a":`, depth-2) + `1` + strings.Repeat(`}`, depth)
	}
	testkit.Each(t, nil, func(t *testing.T, db *gorm.DB) {
		s := serve(t, db, easy.CRUDRouter[Profile]())
		s.expect("POST", "/profiles", `{"name":"ann","home":{"city":"Paris"}}`, 201,
			`{"id":1,"name":"ann","bio":null,"age":0,"prefs":null,"home":{"city":"Paris","zip":""}}`)
		deep := nested(binding.MaxMergeDepth + 1)
		offset := len(`{"prefs":{"deep":`) + (binding.MaxMergeDepth-2)*len(`{"a":`) + 1 // just past the brace
		want := fmt.Sprintf(`{"detail":[{"type":"json_invalid","loc":["body",%d],"msg":"JSON decode error","input":{},"ctx":{"error":"objects and arrays nest deeper than %d levels"}}]}`,
			offset, binding.MaxMergeDepth)
		if res := s.doHeader("PATCH", "/profiles/1", deep, merge); res.status != 422 || res.body != want {
			t.Errorf("too deep:\n got %d %s\nwant 422 %s", res.status, res.body, want)
		}
		if res := s.do("GET", "/profiles/1", ""); !strings.Contains(res.body, `"prefs":null`) {
			t.Errorf("too deep a patch wrote: %s", res.body)
		}
		if res := s.doHeader("PATCH", "/profiles/1", nested(binding.MaxMergeDepth), merge); res.status != 200 || !strings.Contains(res.body, `"prefs":{"deep":{"a":`) {
			t.Errorf("at the limit: %d %s", res.status, res.body)
		}
	})
}
