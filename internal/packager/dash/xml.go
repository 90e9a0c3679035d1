package dash

import (
	"bytes"
	"encoding/xml"
	"strings"
)

// element is a minimal XML element tree. The MPD is built as a tree and
// written by hand so that attribute order, indentation and self-closing
// empty elements are fixed, which keeps the output byte-for-byte stable.
type element struct {
	name     string
	attrs    []attribute
	children []*element
}

type attribute struct {
	name, value string
}

// newElement returns an element with no attributes or children.
func newElement(name string) *element {
	return &element{name: name}
}

// set appends an attribute, or replaces its value where it was set
// already, and returns e for chaining.
func (e *element) set(name, value string) *element {
	for i := range e.attrs {
		if e.attrs[i].name == name {
			e.attrs[i].value = value
			return e
		}
	}
	e.attrs = append(e.attrs, attribute{name, value})
	return e
}

// add appends child elements and returns e for chaining.
func (e *element) add(children ...*element) *element {
	e.children = append(e.children, children...)
	return e
}

// document renders e as an XML document: declaration first, then the tree
// indented by two spaces per level, ending with a newline.
func (e *element) document() []byte {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	e.write(&b, 0)
	return b.Bytes()
}

func (e *element) write(b *bytes.Buffer, depth int) {
	indent := strings.Repeat("  ", depth)
	b.WriteString(indent + "<" + e.name)
	for _, a := range e.attrs {
		b.WriteString(" " + a.name + `="`)
		_ = xml.EscapeText(b, []byte(a.value)) // writes to a bytes.Buffer cannot fail
		b.WriteByte('"')
	}
	if len(e.children) == 0 {
		b.WriteString("/>\n")
		return
	}
	b.WriteString(">\n")
	for _, c := range e.children {
		c.write(b, depth+1)
	}
	b.WriteString(indent + "</" + e.name + ">\n")
}
