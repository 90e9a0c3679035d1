package config

import (
	"reflect"
	"strings"
)

// field is a struct field a stack file key can set: its key, spelled as in
// the field's json tag, and its index path through embedded structs.
type field struct {
	name  string
	index []int
}

// structFields lists the keys of a struct type in declaration order, as
// encoding/json would name them: the json tag name or else the Go name,
// fields tagged "-" and unexported fields left out, and the fields of an
// untagged embedded struct flattened in its place. A field of the outer
// struct wins over an embedded field of the same name.
func structFields(t reflect.Type) []field {
	return collectFields(t, map[reflect.Type]bool{})
}

func collectFields(t reflect.Type, visiting map[reflect.Type]bool) []field {
	visiting[t] = true
	defer delete(visiting, t)
	// groups holds, per struct field in order, the keys it contributes:
	// one for a plain field, all of its own for an embedded struct.
	var groups [][]field
	own := map[string]bool{}
	for i := range t.NumField() {
		sf := t.Field(i)
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if sf.Anonymous && name == "" {
			ft := sf.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				var group []field
				if !visiting[ft] {
					for _, f := range collectFields(ft, visiting) {
						group = append(group, field{name: f.name, index: append([]int{i}, f.index...)})
					}
				}
				groups = append(groups, group)
				continue
			}
		}
		if !sf.IsExported() {
			continue
		}
		if name == "" {
			name = sf.Name
		}
		own[name] = true
		groups = append(groups, []field{{name: name, index: []int{i}}})
	}
	var out []field
	taken := map[string]bool{}
	for _, group := range groups {
		for _, f := range group {
			if taken[f.name] || (len(f.index) > 1 && own[f.name]) {
				continue
			}
			taken[f.name] = true
			out = append(out, f)
		}
	}
	return out
}

// fieldValue returns the settable field at index within the struct v,
// allocating embedded struct pointers on the way. It reports false when an
// embedded pointer cannot be allocated because its field is unexported.
func fieldValue(v reflect.Value, index []int) (reflect.Value, bool) {
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				if !v.CanSet() {
					return reflect.Value{}, false
				}
				v.Set(reflect.New(v.Type().Elem()))
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v, v.CanSet()
}

// keyNames lists the keys of fields for an "allowed:" message.
func keyNames(fields []field) string {
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.name
	}
	return strings.Join(names, ", ")
}

// suggest returns the key of fields closest to an unknown key, or "" when
// none is close enough to be a likely typo.
func suggest(key string, fields []field) string {
	best, bestDist := "", len(key)/3+1
	lower := strings.ToLower(key)
	for _, f := range fields {
		if d := editDistance(lower, strings.ToLower(f.name)); d < bestDist {
			best, bestDist = f.name, d
		}
	}
	return best
}

// editDistance is the optimal string alignment distance between a and b, in
// bytes: insertions, deletions, substitutions and swaps of neighbours each
// count one, so "nme" is one step from "name".
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return max(len(a), len(b))
	}
	rows := [3][]int{make([]int, len(b)+1), make([]int, len(b)+1), make([]int, len(b)+1)}
	for j := range rows[1] {
		rows[1][j] = j
	}
	for i := 1; i <= len(a); i++ {
		older, prev, cur := rows[0], rows[1], rows[2]
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], older[j-2]+1)
			}
		}
		rows = [3][]int{prev, cur, older}
	}
	return rows[1][len(b)]
}
