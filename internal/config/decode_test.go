package config

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/resource"
)

type level string

type inner struct {
	Deep string `json:"deep"`
}

type Base struct {
	ID     string `json:"id"`
	Shared string `json:"shared"`
}

type extra struct {
	Extra int `json:"extra"`
}

// sample exercises every kind of field the decoder supports.
type sample struct {
	Base          // flattened: id, and shared unless the outer struct has it
	*extra        // unexported pointer: its fields cannot be allocated
	Shared string `json:"shared"`
	Level  level  `json:"level"`
	Skip   string `json:"-"`
	Dash   string `json:"-,"` //nolint:staticcheck // a field literally named "-" is under test
	hidden string //nolint:unused // unexported fields must be skipped
	NoTag  string
	I8     int8              `json:"i8"`
	U16    uint16            `json:"u16"`
	U      uint              `json:"u"`
	I64    int64             `json:"i64"`
	F32    float32           `json:"f32"`
	F64    float64           `json:"f64"`
	B      bool              `json:"b"`
	When   time.Time         `json:"when"`
	Rate   *resource.Bitrate `json:"rate"`
	Labels map[string]int    `json:"labels"`
	Nested map[level]*inner  `json:"nested"`
	List   []inner           `json:"list"`
	PtrPtr **inner           `json:"ptrPtr"`
	Any    any               `json:"any"`
	IntMap map[int]string    `json:"intMap"`
}

// decodeYAML runs the decoder on src into out and returns its problems.
func decodeYAML(t *testing.T, src string, out any) ([]Problem, positions) {
	t.Helper()
	root, err := parseDocument("t.yaml", []byte(src))
	if err != nil {
		t.Fatalf("parseDocument: %v", err)
	}
	d := newDecoder("t.yaml")
	d.decode(root, reflect.ValueOf(out).Elem())
	return d.problems, d.pos
}

func TestDecodeKinds(t *testing.T) {
	const src = `
id: base-id
shared: outer
level: high
"-": dash
NoTag: plain
i8: -0x80
u16: 0b1111_1111_1111_1111
u: 0o17
i64: 0755
f32: 1_000.5
f64: 3
b: On
when: 2024-05-01T10:00:00Z
rate: 2.5M
labels: {a: 1, b: 2}
nested:
  x: {deep: down}
  y:
list: [{deep: one}, {deep: two}]
ptrPtr: {deep: twice}
`
	var got sample
	problems, idx := decodeYAML(t, src, &got)
	if len(problems) > 0 {
		t.Fatalf("problems: %v", problems)
	}
	rate := resource.Bitrate(2500000)
	twice := &inner{Deep: "twice"}
	want := sample{
		Base: Base{ID: "base-id"}, Shared: "outer", Level: "high", Dash: "dash", NoTag: "plain",
		I8: -128, U16: 65535, U: 15, I64: 755, F32: 1000.5, F64: 3, B: true,
		When:   time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC),
		Rate:   &rate,
		Labels: map[string]int{"a": 1, "b": 2},
		Nested: map[level]*inner{"x": {Deep: "down"}, "y": nil},
		List:   []inner{{Deep: "one"}, {Deep: "two"}},
		PtrPtr: &twice,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("decoded\n%+v\nwant\n%+v", got, want)
	}
	for path, at := range map[string]pos{"": {2, 1}, "i8": {7, 5}, "nested": {17, 1}, "nested.x.deep": {18, 13}, "nested.y": {19, 3}, "list[1]": {20, 21}} {
		if idx[path] != at {
			t.Errorf("position of %q = %v, want %v", path, idx[path], at)
		}
	}
}

func TestDecodeProblems(t *testing.T) {
	tests := []struct{ src, want string }{
		{"i8: 128", "t.yaml:1:5: i8: 128 is out of range: must be from -128 to 127"},
		{"u16: -1", "t.yaml:1:6: u16: -1 is out of range: must be from 0 to 65535"},
		{"u16: 65536", "t.yaml:1:6: u16: 65536 is out of range: must be from 0 to 65535"},
		{"u: x", `t.yaml:1:4: u: expected a non-negative integer, got "x"`},
		{"f32: 1e39", "t.yaml:1:6: f32: 1e39 is out of range"},
		{"f64: -.Inf", "t.yaml:1:6: f64: -.Inf is not a finite number"},
		{"b: 1", "t.yaml:1:4: b: expected true or false, got 1"},
		{"when: soon", `t.yaml:1:7: when: parsing time "soon" as`},
		{"rate: {a: 1}", "t.yaml:1:7: rate: expected a single value, got a mapping"},
		{"Skip: x", `t.yaml:1:1: unknown key "Skip" at the top level; allowed: id, extra, shared, level, -, NoTag, i8,`},
		{"hidden: x", `t.yaml:1:1: unknown key "hidden" at the top level; allowed:`},
		{"extra: 1", "t.yaml:1:1: extra: cannot be set in config.sample"},
		{"any: 1", "t.yaml:1:6: any: cannot decode a scalar into interface {}"},
		{"intMap: {1: a}", "t.yaml:1:9: intMap: cannot decode a mapping into map[int]string"},
		{"labels: {a: x}", `t.yaml:1:13: labels.a: expected an integer, got "x"`},
		{"list: [{deep: 1}, {deeper: 2}]", `t.yaml:1:20: list[1]: unknown key "deeper" (did you mean "deep"?); allowed: deep`},
		{"<<: [{b: true}, [1]]", "t.yaml:1:17: a merge key (<<) takes a mapping or a list of mappings, not a list"},
	}
	for _, tt := range tests {
		var s sample
		problems, _ := decodeYAML(t, tt.src, &s)
		if len(problems) != 1 || !strings.HasPrefix(problems[0].String(), tt.want) {
			t.Errorf("decode %q: problems %v, want one beginning %q", tt.src, problems, tt.want)
		}
	}
}

func TestDecodeMergePrecedence(t *testing.T) {
	const src = `
list:
  - &a {deep: from-a}
  - &b {deep: from-b}
labels:
  <<: [{x: 1, y: 1}, {x: 2, z: 2}]
  y: 3
nested:
  first: {<<: [*a, *b]}
  own: {<<: *a, deep: mine}
`
	var got sample
	if problems, _ := decodeYAML(t, src, &got); len(problems) > 0 {
		t.Fatalf("problems: %v", problems)
	}
	if want := map[string]int{"x": 1, "y": 3, "z": 2}; !reflect.DeepEqual(got.Labels, want) {
		t.Errorf("labels = %v, want %v: own keys win, then earlier merges", got.Labels, want)
	}
	if d := got.Nested["first"].Deep; d != "from-a" {
		t.Errorf("first.deep = %q, want the first merged mapping's value", d)
	}
	if d := got.Nested["own"].Deep; d != "mine" {
		t.Errorf("own.deep = %q, want the mapping's own value", d)
	}
}

func TestStructFieldsEmbeddingCycle(t *testing.T) {
	type node struct {
		*node        //nolint:unused // an embedding cycle is under test
		Name  string `json:"name"`
	}
	fields := structFields(reflect.TypeFor[node]())
	if len(fields) != 1 || fields[0].name != "name" {
		t.Errorf("fields = %+v, want only name", fields)
	}
}

func TestSuggest(t *testing.T) {
	fields := structFields(reflect.TypeFor[resource.EncoderSettings]())
	tests := map[string]string{
		"lader": "ladder", "Ladder": "ladder", "segmentsecond": "segmentSeconds",
		"preest": "preset", "aduio": "audio", "x": "", "bitrate": "", "": "",
	}
	for key, want := range tests {
		if got := suggest(key, fields); got != want {
			t.Errorf("suggest(%q) = %q, want %q", key, got, want)
		}
	}
}
