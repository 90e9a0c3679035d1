// Package stack converges the server to a stack file: it computes the
// difference between the resources a stack declares and those the server
// holds for it (plan), carries it out (apply) and removes a stack's
// resources (destroy).
package stack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"

	"github.com/sluice-video/sluice/internal/event"
	"github.com/sluice-video/sluice/internal/resource"
)

// Manager is what the stack engine needs from the control plane.
type Manager interface {
	ListSecurityGroups(ctx context.Context) ([]resource.SecurityGroup, error)
	CreateSecurityGroup(ctx context.Context, stack string, spec resource.SecurityGroupSpec) (resource.SecurityGroup, error)
	UpdateSecurityGroup(ctx context.Context, ref, stack string, spec resource.SecurityGroupSpec) (resource.SecurityGroup, error)
	DeleteSecurityGroup(ctx context.Context, ref string) error
	ListInputs(ctx context.Context) ([]resource.Input, error)
	CreateInput(ctx context.Context, stack string, spec resource.InputSpec) (resource.Input, error)
	UpdateInput(ctx context.Context, ref, stack string, spec resource.InputSpec) (resource.Input, error)
	DeleteInput(ctx context.Context, ref string) error
	ListChannels(ctx context.Context) ([]resource.Channel, error)
	GetChannel(ctx context.Context, ref string) (resource.Channel, error)
	CreateChannel(ctx context.Context, stack string, spec resource.ChannelSpec) (resource.Channel, error)
	UpdateChannel(ctx context.Context, ref, stack string, spec resource.ChannelSpec) (resource.Channel, error)
	DeleteChannel(ctx context.Context, ref string) (resource.Channel, error)
	ListAlarms(ctx context.Context) ([]resource.Alarm, error)
	CreateAlarm(ctx context.Context, stack string, spec resource.AlarmSpec) (resource.Alarm, error)
	UpdateAlarm(ctx context.Context, ref, stack string, spec resource.AlarmSpec) (resource.Alarm, error)
	DeleteAlarm(ctx context.Context, ref string) error
	ListRules(ctx context.Context) ([]event.RuleStatus, error)
	CreateRule(ctx context.Context, stack string, spec resource.RuleSpec) (resource.Rule, error)
	UpdateRule(ctx context.Context, ref, stack string, spec resource.RuleSpec) (resource.Rule, error)
	DeleteRule(ctx context.Context, ref string) error
}

// DistributionManager is what the stack engine needs for distributions. A
// Manager without it can apply only stacks that declare none.
type DistributionManager interface {
	ListDistributions(ctx context.Context) ([]resource.Distribution, error)
	CreateDistribution(ctx context.Context, stack string, spec resource.DistributionSpec) (resource.Distribution, error)
	UpdateDistribution(ctx context.Context, ref, stack string, spec resource.DistributionSpec) (resource.Distribution, error)
	DeleteDistribution(ctx context.Context, ref string) error
}

// Actions of a plan.
const (
	ActionCreate    = "create"
	ActionUpdate    = "update"
	ActionDelete    = "delete"
	ActionUnchanged = "unchanged"
)

// Resource kinds of a plan.
const (
	KindSecurityGroup = "securityGroup"
	KindInput         = "input"
	KindChannel       = "channel"
	KindAlarm         = "alarm"
	KindRule          = "rule"
	KindDistribution  = "distribution"
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

// state is the server's resources, by name.
type state struct {
	groups   map[string]resource.SecurityGroup
	inputs   map[string]resource.Input
	channels map[string]resource.Channel
	alarms   map[string]resource.Alarm
	rules    map[string]resource.Rule
	dists    map[string]resource.Distribution
}

func load(ctx context.Context, m Manager) (state, error) {
	gs, err := m.ListSecurityGroups(ctx)
	if err != nil {
		return state{}, err
	}
	ins, err := m.ListInputs(ctx)
	if err != nil {
		return state{}, err
	}
	chs, err := m.ListChannels(ctx)
	if err != nil {
		return state{}, err
	}
	als, err := m.ListAlarms(ctx)
	if err != nil {
		return state{}, err
	}
	rus, err := m.ListRules(ctx)
	if err != nil {
		return state{}, err
	}
	s := state{
		groups: map[string]resource.SecurityGroup{}, inputs: map[string]resource.Input{}, channels: map[string]resource.Channel{},
		alarms: map[string]resource.Alarm{}, rules: map[string]resource.Rule{},
		dists: map[string]resource.Distribution{},
	}
	if dm, ok := m.(DistributionManager); ok {
		ds, err := dm.ListDistributions(ctx)
		if err != nil {
			return state{}, err
		}
		for _, d := range ds {
			s.dists[d.Name] = d
		}
	}
	for _, a := range als {
		s.alarms[a.Name] = a
	}
	for _, r := range rus {
		s.rules[r.Name] = r.Rule
	}
	for _, g := range gs {
		s.groups[g.Name] = g
	}
	for _, in := range ins {
		s.inputs[in.Name] = in
	}
	for _, ch := range chs {
		s.channels[ch.Name] = ch
	}
	return s, nil
}

// MakePlan compares a stack with the server. It fails when the stack is
// invalid or would take over resources that belong to another stack.
func MakePlan(ctx context.Context, m Manager, st resource.Stack) (Plan, error) {
	cur, err := load(ctx, m)
	if err != nil {
		return Plan{}, err
	}
	known := resource.Known{
		Inputs:         func(name string) bool { _, ok := cur.inputs[name]; return ok },
		SecurityGroups: func(name string) bool { _, ok := cur.groups[name]; return ok },
	}
	if err := st.Validate(known); err != nil {
		return Plan{}, err
	}
	plan := Plan{Stack: st.Name, Changes: []Change{}}
	var conflicts []string
	groups := owned(cur.groups, func(g resource.SecurityGroup) resource.Owned[resource.SecurityGroupSpec] {
		return resource.Owned[resource.SecurityGroupSpec]{Spec: g.SecurityGroupSpec, Stack: g.Stack}
	})
	inputs := owned(cur.inputs, func(in resource.Input) resource.Owned[resource.InputSpec] {
		return resource.Owned[resource.InputSpec]{Spec: in.InputSpec, Stack: in.Stack}
	})
	channels := owned(cur.channels, func(ch resource.Channel) resource.Owned[resource.ChannelSpec] {
		return resource.Owned[resource.ChannelSpec]{Spec: ch.ChannelSpec, Stack: ch.Stack}
	})
	alarms := owned(cur.alarms, func(a resource.Alarm) resource.Owned[resource.AlarmSpec] {
		return resource.Owned[resource.AlarmSpec]{Spec: a.AlarmSpec, Stack: a.Stack}
	})
	rules := owned(cur.rules, func(r resource.Rule) resource.Owned[resource.RuleSpec] {
		return resource.Owned[resource.RuleSpec]{Spec: r.RuleSpec, Stack: r.Stack}
	})
	dists := owned(cur.dists, func(d resource.Distribution) resource.Owned[resource.DistributionSpec] {
		return resource.Owned[resource.DistributionSpec]{Spec: d.DistributionSpec, Stack: d.Stack}
	})
	// Creates and updates go in dependency order, deletes in the reverse.
	declaredGroup := declareKind(&plan, &conflicts, KindSecurityGroup, "security group", st.Name, groups, st.SecurityGroups,
		func(g resource.SecurityGroupSpec) string { return g.Name })
	declaredIn := declareKind(&plan, &conflicts, KindInput, KindInput, st.Name, inputs, st.Inputs,
		func(in resource.InputSpec) string { return in.Name })
	declaredCh := declareKind(&plan, &conflicts, KindChannel, KindChannel, st.Name, channels, st.Channels,
		func(ch resource.ChannelSpec) string { return ch.Name })
	declaredAlarm := declareKind(&plan, &conflicts, KindAlarm, KindAlarm, st.Name, alarms, st.Alarms,
		func(a resource.AlarmSpec) string { return a.Name })
	declaredRule := declareKind(&plan, &conflicts, KindRule, KindRule, st.Name, rules, st.Rules,
		func(r resource.RuleSpec) string { return r.Name })
	if _, ok := m.(DistributionManager); !ok && len(st.Distributions) > 0 {
		return Plan{}, errors.New("this server does not run distributions")
	}
	declaredDist := declareKind(&plan, &conflicts, KindDistribution, KindDistribution, st.Name, dists, st.Distributions,
		func(d resource.DistributionSpec) string { return d.Name })
	pruneKind(&plan, KindDistribution, st.Name, dists, declaredDist)
	pruneKind(&plan, KindAlarm, st.Name, alarms, declaredAlarm)
	pruneKind(&plan, KindRule, st.Name, rules, declaredRule)
	pruneKind(&plan, KindChannel, st.Name, channels, declaredCh)
	pruneKind(&plan, KindInput, st.Name, inputs, declaredIn)
	pruneKind(&plan, KindSecurityGroup, st.Name, groups, declaredGroup)
	if err := planVOD(ctx, m, st, &plan, &conflicts); err != nil {
		return Plan{}, err
	}
	if len(conflicts) > 0 {
		return Plan{}, resource.Conflict("%s", joinLines(conflicts))
	}
	return plan, nil
}

// owned reduces the server's resources of one kind to their specs and
// owning stacks.
func owned[R, T any](m map[string]R, split func(R) resource.Owned[T]) map[string]resource.Owned[T] {
	out := make(map[string]resource.Owned[T], len(m))
	for name, r := range m {
		out[name] = split(r)
	}
	return out
}

// declareKind adds the change of every declared resource of one kind:
// create, update or unchanged, or a conflict when another stack (or none)
// owns it. It returns the names declared; label names the kind in
// conflicts.
func declareKind[T any](plan *Plan, conflicts *[]string, kind, label, stack string, cur map[string]resource.Owned[T], want []T, name func(T) string) map[string]bool {
	declared := map[string]bool{}
	for _, spec := range want {
		n := name(spec)
		declared[n] = true
		have, ok := cur[n]
		switch {
		case !ok:
			plan.Changes = append(plan.Changes, Change{Action: ActionCreate, Kind: kind, Name: n})
		case have.Stack != stack:
			*conflicts = append(*conflicts, ownerConflict(label, n, have.Stack, stack))
		default:
			plan.Changes = append(plan.Changes, diff(kind, n, have.Spec, spec))
		}
	}
	return declared
}

// pruneKind adds a delete for every resource of one kind that the stack
// owns and no longer declares, by name.
func pruneKind[T any](plan *Plan, kind, stack string, cur map[string]resource.Owned[T], declared map[string]bool) {
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

// isGone reports whether err says the resource no longer exists.
func isGone(err error) bool { return errors.Is(err, resource.ErrNotFound) }
