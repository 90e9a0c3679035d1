package secret

import (
	"net/url"
	"slices"
	"strings"
)

// MinScrubLength is the shortest secret scrubbed out of other strings.
// Tagged fields are hidden whatever their length; a shorter string found
// inside free text would match ordinary words and numbers, so it is left.
const MinScrubLength = 6

// swap is one secret and what stands in for it in free text.
type swap struct{ old, replacement string }

// Known is a set of secrets found in some values, to be scrubbed out of
// the strings of others: an event that quotes an input's pull URL is
// scrubbed with the secrets of the inputs. The zero Known (and nil) knows
// none. A Known is not changed once made, so it may be shared.
type Known struct{ swaps []swap }

// Find collects the secrets of the tagged fields of the sources.
func Find(sources ...any) *Known {
	var c collector
	for _, src := range sources {
		c.walk(src)
	}
	return &Known{swaps: c.swaps}
}

// collector gathers swaps while walking values.
type collector struct{ swaps []swap }

func (c *collector) walk(v any) {
	transformAny(v, func(s string, r rule) string {
		c.add(s, r)
		return s
	})
}

// add records the secrets a tagged string holds.
func (c *collector) add(s string, r rule) {
	if s == "" || r.kind == plain {
		return
	}
	switch r.kind {
	case urlParts, userinfo:
		hidden, parts := hideURL(s, r)
		if hidden != s && len(s) >= MinScrubLength {
			c.swaps = append(c.swaps, swap{s, hidden})
		}
		for _, p := range parts {
			c.part(p, r.placeholder)
		}
	default:
		c.part(s, r.placeholder)
	}
}

// part records one secret, as written and in the escaped forms a URL
// built from it would carry, when it is long enough to scrub.
func (c *collector) part(s, placeholder string) {
	for _, form := range []string{s, url.QueryEscape(s), url.PathEscape(s)} {
		if len(form) >= MinScrubLength {
			c.swaps = append(c.swaps, swap{form, placeholder})
		}
	}
}

// replacer scrubs free text of every swap, longest secret first, so that
// a whole URL is replaced by its hidden form before its parts are.
func (c *collector) replacer() *strings.Replacer {
	swaps := slices.Clone(c.swaps)
	slices.SortStableFunc(swaps, func(a, b swap) int { return len(b.old) - len(a.old) })
	seen := make(map[string]bool, len(swaps))
	pairs := make([]string, 0, 2*len(swaps))
	for _, s := range swaps {
		if seen[s.old] || s.old == s.replacement {
			continue
		}
		seen[s.old] = true
		pairs = append(pairs, s.old, s.replacement)
	}
	return strings.NewReplacer(pairs...)
}
