package config

import (
	"gopkg.in/yaml.v3"
)

// entry is one key/value pair of a mapping, after merge keys are expanded.
type entry struct {
	key     string
	keyNode *yaml.Node
	value   *yaml.Node
}

// entries lists the pairs of mapping n in order. Keys must be scalars and
// appear once. A merge key ("<<: *base" or "<<: [*a, *b]") adds the pairs of
// the mappings it names, except keys n sets itself; among several merged
// mappings the earlier one wins, as YAML specifies.
func (d *decoder) entries(n *yaml.Node, path string) []entry {
	var own, merged []entry
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if !d.count(k, path) {
			return nil
		}
		key := k
		if key.Kind == yaml.AliasNode && key.Alias != nil {
			key = key.Alias
		}
		if key.Kind != yaml.ScalarNode {
			d.fail(k, path, "a key must be a plain string, not %s", describe(key))
			continue
		}
		if key.ShortTag() == mergeTag {
			merged = append(merged, d.merge(val, path, true)...)
			continue
		}
		if first, dup := seen[key.Value]; dup {
			d.fail(k, path, "duplicate key %s (first given at line %d)", quoteText(key.Value), first.Line)
			continue
		}
		seen[key.Value] = k
		own = append(own, entry{key: key.Value, keyNode: k, value: val})
	}
	for _, e := range merged {
		if _, ok := seen[e.key]; !ok {
			seen[e.key] = e.keyNode
			own = append(own, e)
		}
	}
	return own
}

// merge returns the pairs a merge key's value contributes: a mapping, an
// alias of one or, at the outer level only, a list of those.
func (d *decoder) merge(n *yaml.Node, path string, listOK bool) []entry {
	if !d.count(n, path) {
		return nil
	}
	switch n.Kind {
	case yaml.AliasNode:
		var out []entry
		d.alias(n, path, func(target *yaml.Node) { out = d.merge(target, path, listOK) })
		return out
	case yaml.MappingNode:
		return d.entries(n, path)
	case yaml.SequenceNode:
		if listOK {
			var out []entry
			for _, item := range n.Content {
				out = append(out, d.merge(item, path, false)...)
			}
			return out
		}
	}
	d.fail(n, path, "a merge key (<<) takes a mapping or a list of mappings, not %s", describe(n))
	return nil
}
