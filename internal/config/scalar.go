package config

import (
	"errors"
	"math"
	"reflect"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// scalar decodes a scalar node into a string, bool, integer or float value.
// Strings take any scalar's source text, so "preset: 1" reads as "1"; the
// other kinds insist on a value of their own type.
func (d *decoder) scalar(n *yaml.Node, v reflect.Value, path string) {
	tag := n.ShortTag()
	quoted := n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) != 0
	numeric := !quoted && (tag == intTag || tag == floatTag)
	switch v.Kind() {
	case reflect.String:
		v.SetString(n.Value)
	case reflect.Bool:
		b, ok := parseBool(n.Value)
		if quoted || !ok || (tag != boolTag && tag != strTag) {
			d.fail(n, path, "expected %s, got %s", expected(v.Type()), describe(n))
			return
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		bits := v.Type().Bits()
		i, err := parseInt(n.Value, bits)
		if !numeric || err != nil {
			d.numberError(n, v, path, numeric, err, strconv.FormatInt(math.MinInt64>>(64-bits), 10), strconv.FormatInt(math.MaxInt64>>(64-bits), 10))
			return
		}
		v.SetInt(i)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		bits := v.Type().Bits()
		u, err := parseUint(n.Value, bits)
		if !numeric || err != nil {
			d.numberError(n, v, path, numeric, err, "0", strconv.FormatUint(math.MaxUint64>>(64-bits), 10))
			return
		}
		v.SetUint(u)
	case reflect.Float32, reflect.Float64:
		f, err := parseFloat(n.Value, tag, v.Type().Bits())
		if !numeric || err != nil {
			d.numberError(n, v, path, numeric, err, "", "")
			return
		}
		v.SetFloat(f)
	default:
		d.fail(n, path, "cannot decode a scalar into %s", v.Type())
	}
}

// numberError explains why a scalar is not a number of v's type: the wrong
// kind of value, or a number outside [lo, hi].
func (d *decoder) numberError(n *yaml.Node, v reflect.Value, path string, numeric bool, err error, lo, hi string) {
	switch {
	case numeric && errors.Is(err, strconv.ErrRange) && lo != "":
		d.fail(n, path, "%s is out of range: must be from %s to %s", shorten(n.Value), lo, hi)
	case numeric && errors.Is(err, errNotFinite):
		d.fail(n, path, "%s is not a finite number", shorten(n.Value))
	case numeric && errors.Is(err, strconv.ErrRange):
		d.fail(n, path, "%s is out of range", shorten(n.Value))
	default:
		d.fail(n, path, "expected %s, got %s", expected(v.Type()), describe(n))
	}
}

// errNotFinite says a float field was given an infinity or NaN.
const errNotFinite = constError("not a finite number")

// constError is an error that can be a constant.
type constError string

func (e constError) Error() string { return string(e) }

// parseBool reads the YAML 1.2 booleans and, as yaml.v3 does for bool
// fields, the YAML 1.1 spellings yes, no, on and off.
func parseBool(s string) (value, ok bool) {
	switch strings.ToLower(s) {
	case "true", "yes", "on":
		return true, true
	case "false", "no", "off":
		return false, true
	}
	return false, false
}

// parseInt reads a YAML integer: decimal (leading zeros included, as YAML
// 1.2 has it), 0x hex, 0o octal or 0b binary, with optional sign and '_'
// digit separators.
func parseInt(s string, bits int) (int64, error) {
	sign, digits, base := splitInt(s)
	if digits == "" {
		return 0, strconv.ErrSyntax
	}
	return strconv.ParseInt(sign+digits, base, bits)
}

// parseUint is parseInt for unsigned targets; a minus sign is a range error
// unless the number is zero.
func parseUint(s string, bits int) (uint64, error) {
	sign, digits, base := splitInt(s)
	if digits == "" {
		return 0, strconv.ErrSyntax
	}
	u, err := strconv.ParseUint(digits, base, bits)
	if err == nil && sign == "-" && u != 0 {
		return 0, strconv.ErrRange
	}
	return u, err
}

func splitInt(s string) (sign, digits string, base int) {
	s = strings.ReplaceAll(s, "_", "")
	if s != "" && (s[0] == '+' || s[0] == '-') {
		sign, s = s[:1], s[1:]
	}
	base = 10
	if len(s) > 2 && s[0] == '0' {
		switch s[1] {
		case 'x', 'X':
			base, s = 16, s[2:]
		case 'o', 'O':
			base, s = 8, s[2:]
		case 'b', 'B':
			base, s = 2, s[2:]
		}
	}
	if s != "" && (s[0] == '+' || s[0] == '-') {
		return sign, "", base
	}
	return sign, s, base
}

// parseFloat reads a YAML number as a float of the given size. Integers in
// any YAML spelling are accepted; infinities and NaN are refused, since no
// stack file setting can use them and NaN would slip through range checks.
func parseFloat(s, tag string, bits int) (float64, error) {
	if tag == intTag {
		i, err := parseInt(s, 64)
		if err == nil {
			return float64(i), nil
		}
	}
	if lower := strings.ToLower(s); strings.HasSuffix(lower, ".inf") || lower == ".nan" {
		return 0, errNotFinite
	}
	f, err := strconv.ParseFloat(strings.ReplaceAll(s, "_", ""), bits)
	if err != nil {
		return 0, err
	}
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, errNotFinite
	}
	return f, nil
}

// expected describes the YAML value a Go type takes, for messages.
func expected(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if decodesText(t) {
		return "a single value"
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "a mapping"
	case reflect.Slice:
		return "a list"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return "a non-negative integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	}
	return "a value of type " + t.String()
}

// describe says what a node is, for messages: the text of a plain number or
// boolean as written, a quoted string, or the kind of collection.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		if n.Alias != nil && n.Alias.Kind != yaml.AliasNode {
			return describe(n.Alias)
		}
		return "an alias"
	case yaml.ScalarNode:
		quoted := n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0
		switch n.ShortTag() {
		case intTag, floatTag, boolTag:
			if !quoted {
				return shorten(n.Value)
			}
		case nullTag:
			return "null"
		}
		return quoteText(n.Value)
	}
	return "nothing"
}
