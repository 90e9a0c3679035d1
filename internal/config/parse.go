// Package config reads Sluice stack files: YAML documents that declare a
// named set of inputs and channels. Keys are the JSON field names of the
// API, and every problem is reported with file, line, column and the field
// path in the API's spelling, so a stack file and an API request that are
// wrong in the same way fail with the same words.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/sluice-video/sluice/internal/resource"
)

// Parse decodes and validates a stack file. filename is used only in error
// messages and, when the file has no name key, to name the stack. Any
// problem is returned as an *Error listing every fault found; decoding
// faults (unknown keys, wrong types) are reported before, and instead of,
// validation faults, since validating a half-decoded stack misleads.
func Parse(filename string, data []byte) (resource.Stack, error) {
	root, perr := parseDocument(filename, data)
	if perr != nil {
		return resource.Stack{}, perr
	}
	var stack resource.Stack
	d := newDecoder(filename)
	d.decode(root, reflect.ValueOf(&stack).Elem())
	if len(d.problems) > 0 {
		return resource.Stack{}, newError(filename, d.problems)
	}
	if _, named := d.pos["name"]; !named {
		stack.Name = defaultName(filename)
	}
	if err := stack.Validate(resource.Known{}); err != nil {
		return resource.Stack{}, newError(filename, validationProblems(filename, d.pos, err))
	}
	return stack, nil
}

// ParseFile reads and parses the stack file at path.
func ParseFile(path string) (resource.Stack, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return resource.Stack{}, err
	}
	return Parse(path, data)
}

// parseDocument parses data into a node tree and returns its top-level
// mapping, or an *Error if the file is not a single YAML document holding a
// mapping.
func parseDocument(filename string, data []byte) (root *yaml.Node, err error) {
	defer func() {
		// yaml.v3 reports syntax errors itself; this only stops a fault in
		// the parser from taking the whole server down with it.
		if r := recover(); r != nil {
			root, err = nil, fileError(filename, 0, 0, fmt.Sprintf("the YAML parser failed: %v", r))
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, emptyFile(filename, 0, 0)
		}
		return nil, syntaxError(filename, data, err)
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		return nil, fileError(filename, extra.Line, extra.Column,
			"a second YAML document starts here; a stack file holds exactly one")
	case !errors.Is(err, io.EOF):
		return nil, syntaxError(filename, data, err)
	}
	if len(doc.Content) == 0 {
		return nil, emptyFile(filename, doc.Line, doc.Column)
	}
	root = doc.Content[0]
	switch {
	case root.Kind == yaml.ScalarNode && root.ShortTag() == nullTag:
		return nil, emptyFile(filename, root.Line, root.Column)
	case root.Kind != yaml.MappingNode:
		return nil, fileError(filename, root.Line, root.Column,
			"the top level must be a mapping of name, inputs and channels, not "+describe(root))
	}
	return root, nil
}

func emptyFile(filename string, line, col int) *Error {
	return fileError(filename, line, col, "the file is empty: a stack file is a mapping of name, inputs and channels")
}

// defaultName derives a stack name from a file name, for files without a
// name key: "My Demo.yaml" becomes "my-demo". It returns "" when nothing of
// the name is usable, which validation then reports as a missing name.
func defaultName(filename string) string {
	base := filepath.Base(filename)
	base = strings.ToLower(strings.TrimSuffix(base, filepath.Ext(base)))
	name := strings.Map(func(r rune) rune {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '-' {
			return r
		}
		return '-'
	}, base)
	name = strings.Trim(name, "-")
	if len(name) > 63 {
		name = strings.TrimRight(name[:63], "-")
	}
	return name
}
