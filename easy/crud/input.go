package crud

import (
	"context"
	"reflect"
)

// Input is a request body other than the model, and how it becomes a
// row: make one with Convert and give it to Router.CreateInput or
// Router.UpdateInput.
type Input[T any] struct{ in *input }

// Convert returns the Input whose body is a C, which convert turns into a
// T. C is bound and validated as a typed operation's body is, and named in
// the docs by its type.
func Convert[C, T any](convert func(ctx context.Context, in *C, item *T) error) Input[T] {
	if convert == nil {
		panic("crud: Convert: nil function")
	}
	return Input[T]{&input{
		typ: reflect.TypeFor[C](),
		convert: func(ctx context.Context, in, item any) error {
			return convert(ctx, in.(*C), item.(*T))
		},
	}}
}

// CreateInput makes POST take in's body instead of the model less its
// read-only fields; in's conversion fills the new row. It returns rt, so
// that calls chain.
func (rt *Router[T]) CreateInput(in Input[T]) *Router[T] {
	return rt.setInput("CreateInput", &rt.cfg.create, in)
}

// UpdateInput makes PUT take in's body instead of the model less its
// read-only fields; in's conversion applies it to the stored row, and
// every column it changes is written. It returns rt, so that calls chain.
func (rt *Router[T]) UpdateInput(in Input[T]) *Router[T] {
	return rt.setInput("UpdateInput", &rt.cfg.update, in)
}

func (rt *Router[T]) setInput(method string, dst **input, in Input[T]) *Router[T] {
	rt.configure(method, false)
	if in.in == nil {
		panic("crud: " + method + ": the Input was not made by Convert")
	}
	*dst = in.in
	return rt
}

// input is a custom body type and how it becomes a row.
type input struct {
	typ     reflect.Type // the body type
	convert func(ctx context.Context, in, item any) error
}
