package kinds

import "sort"

// Actions of a change.
const (
	ActionCreate    = "create"
	ActionUpdate    = "update"
	ActionDelete    = "delete"
	ActionUnchanged = "unchanged"
)

// Table is the kinds a server runs.
type Table struct {
	kinds []Kind
}

// NewTable returns the table of the given kinds, listed in that order
// (the order plans list declared resources in).
func NewTable(ks ...Kind) Table {
	return Table{kinds: append([]Kind(nil), ks...)}
}

// Kinds returns the table's kinds, in their order.
func (t Table) Kinds() []Kind { return append([]Kind(nil), t.kinds...) }

// Kind returns the kind of that name, if the table has it.
func (t Table) Kind(name string) (Kind, bool) {
	for _, k := range t.kinds {
		if k.Name == name {
			return k, true
		}
	}
	return Kind{}, false
}

// Step is one kind of change of one kind: apply carries out a plan's
// changes step by step.
type Step struct {
	Kind, Action string
}

// Steps is the order apply carries out changes, derived from the ranks:
//
//  1. deletes of the kinds nothing names (pipelines, alarms, rules,
//     channels, distributions), by rising rank, so that rules and alarms
//     that go stop watching before the channels they watch go, and the
//     deleted channels free their inputs;
//  2. then, kind by kind by rising rank, updates and then creates (a
//     security group before the inputs that name it, a rule before the
//     channels whose creation it reacts to; an update first, so that what
//     it frees, a distribution's address, can be taken by a create);
//  3. last, deletes of the kinds others name (inputs, security groups,
//     presets), by falling rank, once nothing names them any more.
func (t Table) Steps() []Step {
	var steps []Step
	for _, k := range t.byRank() {
		if !k.Referenced {
			steps = append(steps, Step{k.Name, ActionDelete})
		}
	}
	for _, k := range t.byRank() {
		steps = append(steps, Step{k.Name, ActionUpdate}, Step{k.Name, ActionCreate})
	}
	return append(steps, t.lateDeletes()...)
}

// DeleteOrder is the order in which apply and destroy delete the kinds:
// the deletes of Steps.
func (t Table) DeleteOrder() []string {
	var names []string
	for _, s := range t.Steps() {
		if s.Action == ActionDelete {
			names = append(names, s.Kind)
		}
	}
	return names
}

func (t Table) lateDeletes() []Step {
	ks := t.byRank()
	var steps []Step
	for i := len(ks) - 1; i >= 0; i-- {
		if ks[i].Referenced {
			steps = append(steps, Step{ks[i].Name, ActionDelete})
		}
	}
	return steps
}

// byRank is the kinds by rising rank; kinds of one rank keep the table's order.
func (t Table) byRank() []Kind {
	ks := t.Kinds()
	sort.SliceStable(ks, func(i, j int) bool { return ks[i].Rank < ks[j].Rank })
	return ks
}
