package secret

import (
	"context"
	"reflect"
)

// maxDepth bounds how deep Redact follows pointers, so that a cyclic value
// ends; what lies deeper is left out (zero), never passed on unredacted.
const maxDepth = 64

// Redact returns a deep copy of v for a reader who may not see secrets:
// every tagged field (see the package comment) holds its placeholder, or
// for URLs the URL with its secret parts replaced, and every other string,
// map keys included, is scrubbed of the secrets found in v and of those
// known already. Empty secrets stay empty. v itself is not changed.
//
// Redact sees what encoding/json sees: exported fields, also those
// promoted from embedded structs, through pointers, interfaces, slices,
// arrays and maps. Values kept in unexported fields are copied as they
// are.
func Redact[T any](v T, known *Known) T {
	var c collector
	if known != nil {
		c.swaps = append(c.swaps, known.swaps...)
	}
	c.walk(v)
	scrub := c.replacer()
	out := transform(reflect.ValueOf(&v).Elem(), rule{}, func(s string, r rule) string {
		if s == "" {
			return s
		}
		switch r.kind {
		case plain:
			return scrub.Replace(s)
		case urlParts, userinfo:
			hidden, _ := hideURL(s, r)
			return hidden
		default:
			return r.placeholder
		}
	}, 0)
	res, _ := out.Interface().(T) // transform keeps the type; a nil interface stays nil
	return res
}

// transformAny walks any value with fn, for collecting.
func transformAny(v any, fn func(string, rule) string) {
	if v == nil {
		return
	}
	transform(reflect.ValueOf(v), rule{}, fn, 0)
}

// transform returns a copy of v with fn applied to every string JSON would
// encode, under the rule of the nearest secret tag (plain without one).
func transform(v reflect.Value, r rule, fn func(string, rule) string, depth int) reflect.Value {
	if depth > maxDepth {
		return reflect.Zero(v.Type())
	}
	switch v.Kind() {
	case reflect.String:
		out := reflect.New(v.Type()).Elem()
		out.SetString(fn(v.String(), r))
		return out
	case reflect.Pointer:
		if v.IsNil() {
			return v
		}
		out := reflect.New(v.Type().Elem())
		out.Elem().Set(transform(v.Elem(), r, fn, depth+1))
		return out
	case reflect.Interface:
		if v.IsNil() {
			return v
		}
		out := reflect.New(v.Type()).Elem()
		out.Set(transform(v.Elem(), r, fn, depth+1))
		return out
	case reflect.Struct:
		out := reflect.New(v.Type()).Elem()
		out.Set(v)
		transformFields(out, r, fn, depth)
		return out
	case reflect.Slice:
		if v.IsNil() {
			return v
		}
		out := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		if !holdsStrings(v.Type().Elem()) {
			reflect.Copy(out, v)
			return out
		}
		for i := range v.Len() {
			out.Index(i).Set(transform(v.Index(i), r, fn, depth+1))
		}
		return out
	case reflect.Array:
		out := reflect.New(v.Type()).Elem()
		for i := range v.Len() {
			out.Index(i).Set(transform(v.Index(i), r, fn, depth+1))
		}
		return out
	case reflect.Map:
		if v.IsNil() {
			return v
		}
		out := reflect.MakeMapWithSize(v.Type(), v.Len())
		it := v.MapRange()
		for it.Next() {
			// A key is never a tagged secret, but it is scrubbed.
			out.SetMapIndex(transform(it.Key(), rule{}, fn, depth+1), transform(it.Value(), r, fn, depth+1))
		}
		return out
	default:
		return v
	}
}

// transformFields replaces the exported fields of the addressable struct
// out with their transformed copies. The exported fields of an embedded
// struct of unexported type are promoted by encoding/json, so they are
// transformed in place.
func transformFields(out reflect.Value, r rule, fn func(string, rule) string, depth int) {
	t := out.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		fr := r
		if tag, ok := f.Tag.Lookup(TagName); ok {
			fr = parseRule(tag)
		}
		switch {
		case f.IsExported():
			out.Field(i).Set(transform(out.Field(i), fr, fn, depth+1))
		case f.Anonymous && f.Type.Kind() == reflect.Struct:
			transformFields(out.Field(i), fr, fn, depth+1)
		}
	}
}

// holdsStrings reports whether values of t can hold a string (a byte
// slice, say, cannot, and is copied whole).
func holdsStrings(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.String, reflect.Pointer, reflect.Interface, reflect.Struct, reflect.Slice, reflect.Array, reflect.Map:
		return true
	}
	return false
}

// KnownFunc collects the secrets a server holds, when they are asked for.
type KnownFunc func(ctx context.Context) (*Known, error)

// RedactFor is v as a page without a token may show it: as it is without
// known, else redacted with what known finds.
func RedactFor[T any](ctx context.Context, known KnownFunc, v T) (T, error) {
	if known == nil {
		return v, nil
	}
	k, err := known(ctx)
	if err != nil {
		var zero T
		return zero, err
	}
	return Redact(v, k), nil
}
