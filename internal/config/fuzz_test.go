package config

import (
	"github.com/sluice-video/sluice/internal/resource"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse checks that no input makes Parse panic, that every line of an
// error names the file, and that whatever Parse accepts is valid.
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob("testdata/*.yaml")
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		"",
		"~",
		"---\n---\n",
		"&a [*a]",
		"&a {<<: *a}",
		"a: &a {b: *a}",
		"<<: [*x]",
		"channels: &c [{outputs: *c, encoder: {<<: *c}}]",
		"inputs: [&i {name: a, type: FILE, url: a.mp4}, {<<: [*i, *i], name: b}]",
		"? {a: 1}\n: b\n",
		"name: !!binary aGk=\n",
		"inputs: [{testPattern: {width: 0x7fffffffffffffff, fps: -.inf}}]\n",
		"channels: [{encoder: {video: [{bitrate: 1e999}]}}]\n",
		"name: \"\\xff\\u0000\"\n",
		"\t\tname: x\n",
		"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
		"name: x\n" + strings.Repeat("  ", 50) + "y: z\n",
		"\xef\xbb\xbfname: bom\n",
		// Inputs that once crashed yaml parsers.
		"#\n-\n-\n0",
		"0: [:!00 \xef",
		"! !00 \xf6",
		"a:\n.\n-\n",
		"? ? \"\n\" 0",
		"? \ufeff: \ufeff\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		stack, err := Parse("fuzz.yaml", data)
		if err != nil {
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(line, "fuzz.yaml") {
					t.Fatalf("error line does not name the file: %q", line)
				}
			}
			return
		}
		if err := stack.Validate(resource.Known{}); err != nil {
			t.Fatalf("Parse accepted a stack that does not validate: %v", err)
		}
	})
}
