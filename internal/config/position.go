package config

import (
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// pos is a 1-based line and column in the stack file.
type pos struct{ line, col int }

// positions maps the path of every key and list item the decoder met, in the
// JSON spelling resource validation uses, to where it is written. It lets a
// validation error about "channels[0].encoder.ladder" point at that line.
type positions map[string]pos

// record notes where the value at path is written. A scalar value is located
// at the value itself, so that a message about it points at the offending
// text; a mapping, a list or an empty value is located at its key.
func (p positions) record(path string, key, value *yaml.Node) {
	if _, ok := p[path]; ok {
		return
	}
	n := key
	if value != nil && value.Kind == yaml.ScalarNode && value.ShortTag() != nullTag {
		n = value
	}
	p[path] = pos{n.Line, n.Column}
}

// lookup returns the position of path or, when nothing was written there
// (a required field left out), of its nearest ancestor that was.
func (p positions) lookup(path string) pos {
	for {
		if at, ok := p[path]; ok {
			return at
		}
		if path == "" {
			return pos{}
		}
		path = parentPath(path)
	}
}

// parentPath strips the last element of a path: "a.b[2]" becomes "a.b",
// "a.b" becomes "a" and "a" becomes "".
func parentPath(path string) string {
	i := strings.LastIndexAny(path, ".[")
	if i < 0 {
		return ""
	}
	return path[:i]
}

// joinPath appends a key to a path in the JSON spelling.
func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// indexPath appends a list index to a path: indexPath("video", 1) is "video[1]".
func indexPath(path string, i int) string {
	return path + "[" + strconv.Itoa(i) + "]"
}
