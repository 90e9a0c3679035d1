package config

import (
	"encoding"
	"fmt"
	"reflect"

	"gopkg.in/yaml.v3"
)

// maxNodes caps how many YAML nodes one file may expand to. Aliases make a
// small file describe an exponentially large document (an "alias bomb");
// a real stack file is a few hundred nodes.
const maxNodes = 100_000

// Core YAML tags as yaml.v3 spells them in short form.
const (
	nullTag      = "!!null"
	boolTag      = "!!bool"
	strTag       = "!!str"
	intTag       = "!!int"
	floatTag     = "!!float"
	timestampTag = "!!timestamp"
	mapTag       = "!!map"
	seqTag       = "!!seq"
	mergeTag     = "!!merge"
)

// decoder walks a yaml.Node tree into a Go value by reflection. Unlike
// yaml.v3's own decoding it is strict about keys and types, reports every
// problem with its position and JSON path, and records where each path is
// written so that later validation errors can be placed too.
type decoder struct {
	file     string
	problems []Problem
	pos      positions
	nodes    int
	aborted  bool
	// expanding holds the anchors whose aliases are being decoded, to catch
	// an alias inside the node it refers to.
	expanding map[*yaml.Node]bool
	fields    map[reflect.Type][]field
	texts     map[reflect.Type]bool
}

func newDecoder(file string) *decoder {
	return &decoder{
		file:      file,
		pos:       positions{},
		expanding: map[*yaml.Node]bool{},
		fields:    map[reflect.Type][]field{},
		texts:     map[reflect.Type]bool{},
	}
}

// fail records a problem at node n. Past maxProblems the decoder stops, as
// more messages would not help anyone.
func (d *decoder) fail(n *yaml.Node, path, format string, args ...any) {
	d.problems = append(d.problems, Problem{
		File: d.file, Line: n.Line, Column: n.Column, Path: path,
		Message: fmt.Sprintf(format, args...),
	})
	if len(d.problems) > maxProblems {
		d.aborted = true
	}
}

// count charges one node against maxNodes and reports whether decoding may
// go on.
func (d *decoder) count(n *yaml.Node, path string) bool {
	if d.aborted {
		return false
	}
	d.nodes++
	if d.nodes > maxNodes {
		d.fail(n, path, "the file expands to more than %d YAML nodes; aliases (*name) probably repeat a large anchor", maxNodes)
		d.aborted = true
		return false
	}
	return true
}

// decode decodes the top-level node into out, which must be settable.
func (d *decoder) decode(root *yaml.Node, out reflect.Value) {
	d.pos.record("", root, nil)
	d.value(root, out, "")
}

// value decodes n into v, which must be settable. A null leaves v as it is.
func (d *decoder) value(n *yaml.Node, v reflect.Value, path string) {
	if n == nil || !d.count(n, path) {
		return
	}
	if n.Kind == yaml.AliasNode {
		d.alias(n, path, func(target *yaml.Node) { d.value(target, v, path) })
		return
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == nullTag {
		return
	}
	if tag := n.ShortTag(); !supportedTag(n.Kind, tag) {
		d.fail(n, path, "unsupported tag %s: stack files use plain YAML values", quoteText(n.Tag))
		return
	}
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		v = v.Elem()
	}
	if d.isTextUnmarshaler(v) {
		d.text(n, v, path)
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		if d.expect(n, yaml.MappingNode, v, path) {
			d.structValue(n, v, path)
		}
	case reflect.Map:
		if d.expect(n, yaml.MappingNode, v, path) {
			d.mapValue(n, v, path)
		}
	case reflect.Slice:
		if d.expect(n, yaml.SequenceNode, v, path) {
			d.sliceValue(n, v, path)
		}
	default:
		if d.expect(n, yaml.ScalarNode, v, path) {
			d.scalar(n, v, path)
		}
	}
}

// alias decodes the node an alias refers to, unless that node is already
// being decoded further up, which would never end.
func (d *decoder) alias(n *yaml.Node, path string, decode func(*yaml.Node)) {
	target := n.Alias
	if target == nil {
		d.fail(n, path, "alias *%s refers to no anchor", n.Value)
		return
	}
	if d.expanding[target] {
		d.fail(n, path, "alias *%s refers to a node that contains it", n.Value)
		return
	}
	d.expanding[target] = true
	decode(target)
	delete(d.expanding, target)
}

// expect reports whether n has the kind v needs, recording a problem that
// names the expected shape when it does not.
func (d *decoder) expect(n *yaml.Node, kind yaml.Kind, v reflect.Value, path string) bool {
	if n.Kind == kind {
		return true
	}
	d.fail(n, path, "expected %s, got %s", expected(v.Type()), describe(n))
	return false
}

// isTextUnmarshaler reports whether v decodes itself from a scalar's text.
func (d *decoder) isTextUnmarshaler(v reflect.Value) bool {
	if !v.CanAddr() || !v.CanInterface() {
		return false
	}
	is, ok := d.texts[v.Type()]
	if !ok {
		is = decodesText(v.Type())
		d.texts[v.Type()] = is
	}
	return is
}

// decodesText reports whether a pointer to t has an UnmarshalText method.
func decodesText(t reflect.Type) bool {
	return reflect.PointerTo(t).Implements(reflect.TypeFor[encoding.TextUnmarshaler]())
}

// text hands a scalar's text to v's UnmarshalText method.
func (d *decoder) text(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.ScalarNode {
		d.fail(n, path, "expected %s, got %s", expected(v.Type()), describe(n))
		return
	}
	u, _ := v.Addr().Interface().(encoding.TextUnmarshaler)
	if err := u.UnmarshalText([]byte(n.Value)); err != nil {
		d.fail(n, path, "%s", err.Error())
	}
}

// supportedTag reports whether a node's tag is one stack files may use: the
// core schema's, which is what untagged YAML resolves to (a plain "<<" that
// is not a key resolves to the merge tag and is read as text).
func supportedTag(kind yaml.Kind, tag string) bool {
	switch kind {
	case yaml.MappingNode:
		return tag == mapTag
	case yaml.SequenceNode:
		return tag == seqTag
	}
	switch tag {
	case strTag, intTag, floatTag, boolTag, timestampTag, mergeTag:
		return true
	}
	return false
}
