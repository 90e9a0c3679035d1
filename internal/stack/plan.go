// Package stack converges the server to a stack file: it computes the
// difference between the resources a stack declares and those the server
// holds for it (plan), carries it out (apply) and removes a stack's
// resources (destroy).
package stack

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"

	"github.com/sluice-video/sluice/internal/kinds"
	"github.com/sluice-video/sluice/internal/resource"
)

// Actions of a plan.
const (
	ActionCreate    = kinds.ActionCreate
	ActionUpdate    = kinds.ActionUpdate
	ActionDelete    = kinds.ActionDelete
	ActionUnchanged = kinds.ActionUnchanged
)

// Resource kinds of a plan.
const (
	KindSecurityGroup = kinds.SecurityGroup
	KindInput         = kinds.Input
	KindChannel       = kinds.Channel
	KindAlarm         = kinds.Alarm
	KindRule          = kinds.Rule
	KindDistribution  = kinds.Distribution
	KindPreset        = kinds.Preset
	KindPipeline      = kinds.Pipeline
)

// Change is one step of a plan.
type Change struct {
	Action string `json:"action"`
	Kind   string `json:"kind"`
	Name   string `json:"name"`
	// Fields lists what an update changes, as paths: "encoder.ladder".
	Fields []string `json:"fields,omitempty"`
}

// Plan is the difference between a stack and the server.
type Plan struct {
	Stack   string   `json:"stack"`
	Changes []Change `json:"changes"`
	// Applied is true once the changes have been carried out.
	Applied bool `json:"applied"`
}

// Counts returns how many resources the plan creates, updates and deletes.
func (p Plan) Counts() (create, update, del int) {
	for _, c := range p.Changes {
		switch c.Action {
		case ActionCreate:
			create++
		case ActionUpdate:
			update++
		case ActionDelete:
			del++
		}
	}
	return create, update, del
}

// Empty reports whether the plan changes nothing.
func (p Plan) Empty() bool {
	c, u, d := p.Counts()
	return c+u+d == 0
}

// state is the server's resources of every kind of the table, by kind
// and name.
type state map[string]map[string]kinds.Item

func load(ctx context.Context, t kinds.Table) (state, error) {
	s := state{}
	for _, k := range t.Kinds() {
		items, err := k.Items(ctx)
		if err != nil {
			return nil, err
		}
		byName := make(map[string]kinds.Item, len(items))
		for _, it := range items {
			byName[it.Name] = it
		}
		s[k.Name] = byName
	}
	return s, nil
}

// has reports whether the server holds a resource of a kind by that name.
func (s state) has(kind string) func(name string) bool {
	return func(name string) bool { _, ok := s[kind][name]; return ok }
}

// MakePlan compares a stack with the server whose kinds t holds. It fails
// when the stack is invalid, declares a kind the server does not run or
// would take over resources that belong to another stack.
func MakePlan(ctx context.Context, t kinds.Table, st resource.Stack) (Plan, error) {
	cur, err := load(ctx, t)
	if err != nil {
		return Plan{}, err
	}
	known := resource.Known{Inputs: cur.has(KindInput), SecurityGroups: cur.has(KindSecurityGroup)}
	if err := st.Validate(known); err != nil {
		return Plan{}, err
	}
	if err := t.Runs(st); err != nil {
		return Plan{}, err
	}
	plan := Plan{Stack: st.Name, Changes: []Change{}}
	var conflicts []string
	// Declared resources in the table's order, then deletes in the order
	// apply carries them out.
	declared := map[string]map[string]bool{}
	for _, k := range t.Kinds() {
		declared[k.Name] = declareKind(&plan, &conflicts, k, st, cur[k.Name])
	}
	for _, kind := range t.DeleteOrder() {
		pruneKind(&plan, kind, st.Name, cur[kind], declared[kind])
	}
	if len(conflicts) > 0 {
		return Plan{}, resource.Conflict("%s", joinLines(conflicts))
	}
	return plan, nil
}

// declareKind adds the change of every resource of one kind the stack
// declares: create, update or unchanged, or a conflict when another stack
// (or none) owns it. It returns the names declared.
func declareKind(plan *Plan, conflicts *[]string, k kinds.Kind, st resource.Stack, cur map[string]kinds.Item) map[string]bool {
	declared := map[string]bool{}
	for _, want := range k.Declared(st) {
		n := want.Name
		declared[n] = true
		have, ok := cur[n]
		switch {
		case !ok:
			plan.Changes = append(plan.Changes, Change{Action: ActionCreate, Kind: k.Name, Name: n})
		case have.Stack != st.Name:
			*conflicts = append(*conflicts, ownerConflict(k.Label, n, have.Stack, st.Name))
		default:
			plan.Changes = append(plan.Changes, diff(k.Name, n, have.Spec, want.Spec))
		}
	}
	return declared
}

// pruneKind adds a delete for every resource of one kind that the stack
// owns and no longer declares, by name.
func pruneKind(plan *Plan, kind, stack string, cur map[string]kinds.Item, declared map[string]bool) {
	for _, n := range sortedKeys(cur) {
		if cur[n].Stack == stack && !declared[n] {
			plan.Changes = append(plan.Changes, Change{Action: ActionDelete, Kind: kind, Name: n})
		}
	}
}

func ownerConflict(kind, name, owner, stack string) string {
	if owner == "" {
		return fmt.Sprintf("%s %q already exists and was not created by stack %q; rename it in the stack or delete it first", kind, name, stack)
	}
	return fmt.Sprintf("%s %q belongs to stack %q, not %q", kind, name, owner, stack)
}

// diff compares two specs through their JSON form and names changed fields.
func diff(kind, name string, have, want any) Change {
	a, b := toTree(have), toTree(want)
	var fields []string
	changedPaths("", a, b, &fields)
	if len(fields) == 0 {
		return Change{Action: ActionUnchanged, Kind: kind, Name: name}
	}
	return Change{Action: ActionUpdate, Kind: kind, Name: name, Fields: fields}
}

func toTree(v any) any {
	data, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	var out any
	if err := json.Unmarshal(data, &out); err != nil {
		return nil
	}
	return out
}

func changedPaths(prefix string, a, b any, out *[]string) {
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	if aok && bok {
		keys := map[string]bool{}
		for k := range am {
			keys[k] = true
		}
		for k := range bm {
			keys[k] = true
		}
		for _, k := range sortedKeys(keys) {
			changedPaths(resource.JoinPath(prefix, k), am[k], bm[k], out)
		}
		return
	}
	if !reflect.DeepEqual(a, b) {
		*out = append(*out, prefix)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func joinLines(lines []string) string {
	out := ""
	for i, l := range lines {
		if i > 0 {
			out += "; "
		}
		out += l
	}
	return out
}
