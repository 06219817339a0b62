package easy

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"strings"

	"github.com/fastapi-easy/easy-go/easy/openapi"
	"github.com/fastapi-easy/easy-go/internal/binding"
	"github.com/fastapi-easy/easy-go/internal/handler"
)

// Handler is a typed operation: it takes the bound and validated input
// and returns the response body, or an error (an *HTTPError for a client
// error; any other error is a 500).
type Handler[I, O any] func(ctx context.Context, in *I) (*O, error)

// NoInput is the input of an operation that takes nothing.
type NoInput struct{}

// NoContent is the output of an operation that answers with no body
// (204 unless Status says otherwise).
type NoContent struct{}

// Get adds a GET operation at path. An input struct's fields tagged path,
// query, header and cookie are parameters; its fields tagged json are the
// body. Constraint tags (required, minimum, maxLength, pattern, enum, ...)
// are enforced and shown in the OpenAPI document.
func Get[I, O any](r Operations, path string, h Handler[I, O], opts ...OperationOption) {
	add(r, http.MethodGet, path, h, opts)
}

// Post adds a POST operation; see Get.
func Post[I, O any](r Operations, path string, h Handler[I, O], opts ...OperationOption) {
	add(r, http.MethodPost, path, h, opts)
}

// Put adds a PUT operation; see Get.
func Put[I, O any](r Operations, path string, h Handler[I, O], opts ...OperationOption) {
	add(r, http.MethodPut, path, h, opts)
}

// Patch adds a PATCH operation; see Get.
func Patch[I, O any](r Operations, path string, h Handler[I, O], opts ...OperationOption) {
	add(r, http.MethodPatch, path, h, opts)
}

// Delete adds a DELETE operation; see Get.
func Delete[I, O any](r Operations, path string, h Handler[I, O], opts ...OperationOption) {
	add(r, http.MethodDelete, path, h, opts)
}

// Operations is where typed operations are added: the App or a Group.
type Operations interface {
	site() site
}

type operation struct {
	op            openapi.Operation
	middleware    []func(http.Handler) http.Handler
	uses          []Dep
	forbidUnknown *bool // nil: as the App or Group says
}

func add[I, O any](r Operations, method, path string, h Handler[I, O], opts []OperationOption) {
	o := operation{op: openapi.Operation{Method: method, Path: path}}
	for _, opt := range opts {
		opt.applyOperation(&o)
	}
	if o.op.Status == 0 && reflect.TypeFor[O]() == reflect.TypeFor[NoContent]() {
		o.op.Status = http.StatusNoContent
	}
	s := r.site()
	forbid := s.ForbidsUnknownFields()
	if o.forbidUnknown != nil {
		forbid = *o.forbidUnknown
	}
	hh, plan, err := handler.Typed(h, handler.Config{
		Status: o.op.Status,
		Logger: s.Logger(),
		Body:   binding.ObjectOptions{ForbidUnknown: forbid},
	})
	if err != nil {
		panic(fmt.Sprintf("easy: %s %s: %v", method, path, err))
	}
	if plan.HasParams() || plan.HasBody() {
		o.op.Input = new(I)
		o.op.Errors = append(o.op.Errors, http.StatusUnprocessableEntity)
	}
	if plan.HasBody() {
		o.op.Errors = append(o.op.Errors, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType)
	}
	if reflect.TypeFor[O]() != reflect.TypeFor[NoContent]() && o.op.Status != http.StatusNoContent {
		o.op.Output = new(O)
	}
	s.Add(o.op, wrap(useDeps(s.Spec(), s.Logger(), &o.op, o.uses, hh), o.middleware))
}

var nonWord = regexp.MustCompile(`[^a-zA-Z0-9]+`)

// defaultOperationID makes an ID from the method and path: get_items_id.
func defaultOperationID(method, path string) string {
	id := strings.Trim(nonWord.ReplaceAllString(path, "_"), "_")
	if id == "" {
		id = "root"
	}
	return strings.ToLower(method) + "_" + strings.ToLower(id)
}
