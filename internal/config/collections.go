package config

import (
	"reflect"
	"strconv"

	"gopkg.in/yaml.v3"
)

// structValue sets the fields of struct v from mapping n. Keys match the
// fields' json names exactly; any other key is a problem.
func (d *decoder) structValue(n *yaml.Node, v reflect.Value, path string) {
	fields, ok := d.fields[v.Type()]
	if !ok {
		fields = structFields(v.Type())
		d.fields[v.Type()] = fields
	}
	for _, e := range d.entries(n, path) {
		if d.aborted {
			return
		}
		f, ok := findField(fields, e.key)
		if !ok {
			d.unknownKey(e, path, fields)
			continue
		}
		child := joinPath(path, f.name)
		d.pos.record(child, e.keyNode, e.value)
		fv, ok := fieldValue(v, f.index)
		if !ok {
			d.fail(e.keyNode, child, "cannot be set in %s", v.Type())
			continue
		}
		d.value(e.value, fv, child)
	}
}

func findField(fields []field, key string) (field, bool) {
	for _, f := range fields {
		if f.name == key {
			return f, true
		}
	}
	return field{}, false
}

// unknownKey reports a key no field takes, with the keys that are allowed at
// that place and the likely intended one.
func (d *decoder) unknownKey(e entry, path string, fields []field) {
	msg := "unknown key " + quoteText(e.key)
	if path == "" {
		msg += " at the top level"
	}
	if s := suggest(e.key, fields); s != "" {
		msg += " (did you mean " + strconv.Quote(s) + "?)"
	}
	if len(fields) == 0 {
		d.fail(e.keyNode, path, "%s; no keys are allowed here", msg)
		return
	}
	d.fail(e.keyNode, path, "%s; allowed: %s", msg, keyNames(fields))
}

// mapValue adds the pairs of mapping n to map v, whose keys are strings.
func (d *decoder) mapValue(n *yaml.Node, v reflect.Value, path string) {
	t := v.Type()
	if t.Key().Kind() != reflect.String {
		d.fail(n, path, "cannot decode a mapping into %s", t)
		return
	}
	if v.IsNil() {
		v.Set(reflect.MakeMap(t))
	}
	for _, e := range d.entries(n, path) {
		if d.aborted {
			return
		}
		child := joinPath(path, e.key)
		d.pos.record(child, e.keyNode, e.value)
		ev := reflect.New(t.Elem()).Elem()
		d.value(e.value, ev, child)
		v.SetMapIndex(reflect.ValueOf(e.key).Convert(t.Key()), ev)
	}
}

// sliceValue sets v to a slice holding the items of sequence n.
func (d *decoder) sliceValue(n *yaml.Node, v reflect.Value, path string) {
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		if d.aborted {
			return
		}
		child := indexPath(path, i)
		d.pos.record(child, item, nil)
		d.value(item, s.Index(i), child)
	}
	v.Set(s)
}
