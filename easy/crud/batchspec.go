package crud

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/swaggest/jsonschema-go"

	"github.com/fastapi-easy/easy-go/easy/openapi"
	"github.com/fastapi-easy/easy-go/internal/typeschema"
)

// documentBatch adds the schemas of a batch's body to the document:
// ItemBatch, a list of ItemBatchOperation, each one of ItemBatchCreate,
// ItemBatchReplace, ItemBatchUpdate and ItemBatchDelete (those the batch
// takes), told apart by their op; their bodies are those of the single
// routes.
func (c *core) documentBatch(spec *openapi.Spec) error {
	name := c.names.schema
	ref := func(s string) map[string]any { return map[string]any{"$ref": "#/components/schemas/" + s} }
	head := jsonschema.Reflector{DefaultOptions: typeschema.Options()}
	hs, err := head.Reflect(reflect.New(c.batchHeadType).Interface(), jsonschema.PropertyNameTag("json"))
	if err != nil {
		return fmt.Errorf("crud: batch: %w", err)
	}
	id, err := hs.Properties["id"].ToSimpleMap()
	if err != nil {
		return fmt.Errorf("crud: batch: %w", err)
	}
	ifMatch := map[string]any{"type": "string", "description": "Do the operation only if the row's ETag is one of these entity tags, or * for any."}
	bodies := map[string]string{"create": name + "Create", "replace": name + "Update", "update": name + "Patch"}
	customs := map[string]*input{"create": c.cfg.create, "replace": c.cfg.update}
	var oneOf []any
	mapping := map[string]any{}
	for _, op := range c.batchOps() {
		props := map[string]any{"op": map[string]any{"type": "string", "enum": []any{op}}}
		required := []any{"op"}
		if op != "create" {
			props["id"], props["if_match"] = id, ifMatch
			required = append(required, "id")
		}
		if body, ok := bodies[op]; ok {
			if in := customs[op]; in != nil {
				// A custom input is named after the model's body, here.
				if _, err := spec.Derive(body, reflect.New(in.typ).Interface(), nil, false); err != nil {
					return fmt.Errorf("crud: batch: %w (name the schemas with crud.SchemaName)", err)
				}
			}
			props["body"] = ref(body)
			required = append(required, "body")
		}
		comp := name + "Batch" + strings.ToUpper(op[:1]) + op[1:]
		spec.AddSchema(comp, map[string]any{"type": "object", "properties": props, "required": required,
			"description": "One " + op + " of a batch, as " + opRoute(op) + " does it."})
		oneOf = append(oneOf, ref(comp))
		mapping[op] = "#/components/schemas/" + comp
	}
	spec.AddSchema(name+"BatchOperation", map[string]any{"oneOf": oneOf,
		"discriminator": map[string]any{"propertyName": "op", "mapping": mapping}})
	spec.AddSchema(name+"Batch", map[string]any{"type": "array", "items": ref(name + "BatchOperation"),
		"maxItems": c.cfg.maxBatch, "description": "Operations run in order in one transaction: all or nothing."})
	return nil
}

func opRoute(op string) string {
	return map[string]string{"create": "POST", "replace": "PUT", "update": "PATCH", "delete": "DELETE"}[op]
}

func (c *core) batchDescription() string {
	return fmt.Sprintf("Runs up to %d operations (%s) in order, in one transaction: all or nothing. "+
		"Each means what its single route means, with the same body, row policy, hooks and If-Match (as if_match). "+
		"A problem with any operation is a 422 located by its index, such as [\"body\", 2, \"body\", \"price\"]; "+
		"an operation that fails when it runs rolls the batch back, and its error is the answer, its detail prefixed with \"Operation 2: \". "+
		"The answer lists each operation's result in order; the realtime events of its rows follow the commit, in order.",
		c.cfg.maxBatch, strings.Join(c.batchOps(), ", "))
}
