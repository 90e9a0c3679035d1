package config

import (
	"errors"
	"os"
	"strings"
	"testing"
)

// validChannel is a channel that passes validation, for cases that put one
// fault next to it.
const validChannel = `inputs: [{name: bars, type: TEST_PATTERN}]
channels:
  - name: live
    inputAttachments: [{input: bars}]
    encoder: {ladder: test-360p}
`

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		// want holds, for each line of the error in order, its expected
		// beginning: "file:line:col: path: " and as much of the message as
		// the case is about.
		want []string
	}{
		{"unknown key", "channels:\n  - encoder:\n      lader: x\n", []string{
			`stack.yaml:3:7: channels[0].encoder: unknown key "lader" (did you mean "ladder"?); allowed: ladder, video, audio, preset, segmentSeconds`}},
		{"unknown key at top level", "nme: demo\n", []string{
			`stack.yaml:1:1: unknown key "nme" at the top level (did you mean "name"?); allowed: name, securityGroups, inputs, channels`}},
		{"unknown key of other case", "inputs:\n  - Name: a\n", []string{
			`stack.yaml:2:5: inputs[0]: unknown key "Name" (did you mean "name"?); allowed: name, type, url, testPattern`}},
		{"duplicate key", "inputs:\n  - name: a\n    type: FILE\n    name: b\n", []string{
			`stack.yaml:4:5: inputs[0]: duplicate key "name" (first given at line 2)`}},
		{"duplicate key at top level", "name: a\nname: b\n", []string{
			`stack.yaml:2:1: duplicate key "name" (first given at line 1)`}},
		{"scalar for mapping", "channels:\n  - name: c\n    encoder: fast\n", []string{
			`stack.yaml:3:14: channels[0].encoder: expected a mapping, got "fast"`}},
		{"scalar for list", "inputs: 5\n", []string{
			`stack.yaml:1:9: inputs: expected a list, got 5`}},
		{"mapping for list", "channels: {name: c}\n", []string{
			`stack.yaml:1:11: channels: expected a list, got a mapping`}},
		{"mapping for string", "name: {a: 1}\n", []string{
			`stack.yaml:1:7: name: expected a string, got a mapping`}},
		{"list for string", "inputs:\n  - name: [a, b]\n", []string{
			`stack.yaml:2:11: inputs[0].name: expected a string, got a list`}},
		{"list for bitrate", "channels:\n  - encoder:\n      audio: {bitrate: [1]}\n", []string{
			`stack.yaml:3:24: channels[0].encoder.audio.bitrate: expected a single value, got a list`}},
		{"not a bool", "channels:\n  - name: c\n    autoStart: yes please\n", []string{
			`stack.yaml:3:16: channels[0].autoStart: expected true or false, got "yes please"`}},
		{"quoted bool", "channels:\n  - autoStart: 'true'\n", []string{
			`stack.yaml:2:16: channels[0].autoStart: expected true or false, got "true"`}},
		{"word for integer", "inputs:\n  - testPattern: {width: wide}\n", []string{
			`stack.yaml:2:26: inputs[0].testPattern.width: expected an integer, got "wide"`}},
		{"fraction for integer", "inputs:\n  - testPattern: {width: 1.5}\n", []string{
			`stack.yaml:2:26: inputs[0].testPattern.width: expected an integer, got 1.5`}},
		{"quoted integer", "inputs:\n  - testPattern: {width: '1280'}\n", []string{
			`stack.yaml:2:26: inputs[0].testPattern.width: expected an integer, got "1280"`}},
		{"integer overflow", "inputs:\n  - testPattern: {height: 99999999999999999999}\n", []string{
			`stack.yaml:2:27: inputs[0].testPattern.height: 99999999999999999999 is out of range: must be from -9223372036854775808 to 9223372036854775807`}},
		{"word for number", "channels:\n  - encoder: {segmentSeconds: two}\n", []string{
			`stack.yaml:2:31: channels[0].encoder.segmentSeconds: expected a number, got "two"`}},
		{"infinite number", "inputs:\n  - testPattern: {fps: .inf}\n", []string{
			`stack.yaml:2:24: inputs[0].testPattern.fps: .inf is not a finite number`}},
		{"bad bitrate", "channels:\n  - encoder:\n      video:\n        - {name: hi, bitrate: 3M}\n        - {name: lo, bitrate: abc}\n", []string{
			`stack.yaml:5:31: channels[0].encoder.video[1].bitrate: "abc" is not a bitrate: use bits per second`}},
		{"custom tag", "name: !env NAME\n", []string{
			`stack.yaml:1:7: name: unsupported tag "!env": stack files use plain YAML values`}},
		{"key not a string", "? [a]\n: 1\n", []string{
			`stack.yaml:1:3: a key must be a plain string, not a list`}},
		{"alias cycle", "channels: &c\n  - <<: *c\n", []string{
			`stack.yaml:2:9: channels[0]: alias *c refers to a node that contains it`}},
		{"merge cycle", "channels:\n  - &c {<<: *c}\n", []string{
			`stack.yaml:2:13: channels[0]: alias *c refers to a node that contains it`}},
		{"merge of scalar", "<<: 5\n", []string{
			`stack.yaml:1:5: a merge key (<<) takes a mapping or a list of mappings, not 5`}},
		{"several decode problems sorted", "channels:\n  - autoStart: maybe\ninputs:\n  - url: [x]\n", []string{
			`stack.yaml:2:16: channels[0].autoStart: expected true or false, got "maybe"`,
			`stack.yaml:4:10: inputs[0].url: expected a string, got a list`}},
		{"empty file", "", []string{
			`stack.yaml: the file is empty`}},
		{"comments only", "# to do\n\n", []string{
			`stack.yaml: the file is empty`}},
		{"empty document", "---\n", []string{
			`stack.yaml:2:1: the file is empty`}},
		{"null document", "~\n", []string{
			`stack.yaml:1:1: the file is empty`}},
		{"two documents", "name: a\n---\nname: b\n", []string{
			`stack.yaml:2:1: a second YAML document starts here; a stack file holds exactly one`}},
		{"top level list", "- name: a\n", []string{
			`stack.yaml:1:1: the top level must be a mapping of name, inputs and channels, not a list`}},
		{"top level scalar", "demo\n", []string{
			`stack.yaml:1:1: the top level must be a mapping of name, inputs and channels, not "demo"`}},
		{"tab indentation", "name: tabs\ninputs:\n\t- name: bars\n", []string{
			`stack.yaml:3: found character that cannot start any token (YAML is indented with spaces, not tabs)`}},
		{"syntax error", "name: [a\ninputs: []\n", []string{
			`stack.yaml:1: did not find expected ',' or ']'`}},
		{"syntax error in second document", "name: a\n---\nname: [\n", []string{
			`stack.yaml:3: did not find expected node content`}},
		{"unknown anchor", "name: *x\n", []string{
			`stack.yaml: unknown anchor 'x' referenced`}},
		{"missing required field at its parent", "inputs:\n  - type: FILE\n    url: a.mp4\n", []string{
			`stack.yaml:2:5: inputs[0].name: is required`}},
		{"missing required list at its parent", "inputs: [{name: bars, type: TEST_PATTERN}]\nchannels:\n  - name: c\n    encoder: {ladder: test-360p}\n", []string{
			`stack.yaml:3:5: channels[0].inputAttachments: a channel needs one input attachment`}},
		{"validation at the value", validChannel + "    outputs: [{name: hls, type: HLS, windowSeconds: 5000}]\n", []string{
			`stack.yaml:6:53: channels[0].outputs[0].windowSeconds: must hold at least three segments`}},
		{"validation at a mapping's key", validChannel + "  - name: c2\n    inputAttachments: [{input: bars}]\n    encoder:\n      ladder: nope\n", []string{
			`stack.yaml:9:15: channels[1].encoder.ladder: unknown ladder "nope"`}},
		{"validation sorted by position", "channels:\n  - name: Live\n    inputAttachments: [{input: nowhere}]\n    encoder: {ladder: test-360p}\ninputs:\n  - {name: bars, type: TAPE}\n", []string{
			`stack.yaml:2:11: channels[0].name: "Live" is not a valid name`,
			`stack.yaml:3:32: channels[0].inputAttachments[0].input: input "nowhere" is not declared in this stack`,
			`stack.yaml:6:24: inputs[0].type: unknown input type "TAPE"`}},
		{"duplicate names via alias", "inputs:\n  - &in {name: bars, type: TEST_PATTERN}\n  - *in\n", []string{
			`stack.yaml:2:16: inputs[1].name: input "bars" is declared twice`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("stack.yaml", []byte(tt.src))
			if err == nil {
				t.Fatalf("Parse succeeded, want %d problems", len(tt.want))
			}
			var cerr *Error
			if !errors.As(err, &cerr) {
				t.Fatalf("err is %T, want *config.Error", err)
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tt.want) {
				t.Fatalf("got %d problems, want %d:\n%s", len(lines), len(tt.want), err)
			}
			for i, want := range tt.want {
				if !strings.HasPrefix(lines[i], want) {
					t.Errorf("problem %d =\n  %s\nwant it to begin\n  %s", i, lines[i], want)
				}
			}
		})
	}
}

func TestParseNullLeavesZero(t *testing.T) {
	s, err := Parse("stack.yaml", []byte("name: demo\ninputs:\nchannels: ~\n"))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if s.Name != "demo" || s.Inputs != nil || s.Channels != nil {
		t.Errorf("Parse = %+v, want only the name set", s)
	}
}

func TestParseBombs(t *testing.T) {
	for _, file := range []string{"testdata/alias-bomb.yaml", "testdata/merge-bomb.yaml"} {
		_, err := ParseFile(file)
		if err == nil || !strings.Contains(err.Error(), "expands to more than 100000 YAML nodes") {
			t.Errorf("ParseFile(%s) = %v, want the node limit error", file, err)
		}
	}
}

func TestParseTooManyProblems(t *testing.T) {
	var b strings.Builder
	b.WriteString("inputs:\n")
	for range 150 {
		b.WriteString("  - {name: x, type: FILE, url: a.mp4, bogus: 1}\n")
	}
	_, err := Parse("stack.yaml", []byte(b.String()))
	var cerr *Error
	if !errors.As(err, &cerr) {
		t.Fatalf("err = %v, want *config.Error", err)
	}
	if n := len(cerr.Problems); n != maxProblems+1 {
		t.Fatalf("got %d problems, want %d and a note", n, maxProblems+1)
	}
	if last := cerr.Problems[maxProblems].String(); last != "stack.yaml: too many problems; only the first 100 are shown" {
		t.Errorf("last problem = %q", last)
	}
}

func TestParseTestdataErrors(t *testing.T) {
	tests := map[string]string{
		"testdata/empty.yaml":       "testdata/empty.yaml: the file is empty",
		"testdata/tabs.yaml":        "testdata/tabs.yaml:3: found character that cannot start any token",
		"testdata/multi-doc.yaml":   "testdata/multi-doc.yaml:2:1: a second YAML document",
		"testdata/unknown-key.yaml": `testdata/unknown-key.yaml:9:7: channels[0].encoder: unknown key "lader"`,
	}
	for file, want := range tests {
		if _, err := os.Stat(file); err != nil {
			t.Fatal(err)
		}
		_, err := ParseFile(file)
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("ParseFile(%s) = %v, want it to begin %q", file, err, want)
		}
	}
}
