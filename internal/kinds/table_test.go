package kinds

import (
	"slices"
	"strings"
	"testing"

	"github.com/sluice-video/sluice/internal/event"
	"github.com/sluice-video/sluice/internal/resource"
)

// everyKind is the table of a server that runs every kind; the tests
// below look only at what the kinds are, not at their verbs.
func everyKind() Table {
	return NewTable(
		Bind(SecurityGroups(), Funcs[resource.SecurityGroup, resource.SecurityGroupSpec, resource.SecurityGroup]{}),
		Bind(Inputs(), Funcs[resource.Input, resource.InputSpec, resource.Input]{}),
		Bind(Channels(), Funcs[resource.Channel, resource.ChannelSpec, resource.Channel]{}),
		Bind(Alarms(), Funcs[resource.Alarm, resource.AlarmSpec, resource.Alarm]{}),
		Bind(Rules(), Funcs[event.RuleStatus, resource.RuleSpec, resource.Rule]{}),
		Bind(Distributions(), Funcs[resource.Distribution, resource.DistributionSpec, resource.Distribution]{}),
		Bind(Presets(), Funcs[resource.PresetSpec, resource.PresetSpec, resource.PresetSpec]{}),
		Bind(Pipelines(), Funcs[resource.PipelineSpec, resource.PipelineSpec, resource.PipelineSpec]{}),
	)
}

// TestStepsFollowTheRanks pins the order apply carries out a plan in.
func TestStepsFollowTheRanks(t *testing.T) {
	var got []string
	for _, s := range everyKind().Steps() {
		got = append(got, s.Action+" "+s.Kind)
	}
	want := []string{
		"delete pipeline", "delete alarm", "delete rule", "delete channel", "delete distribution",
		"update preset", "create preset", "update pipeline", "create pipeline",
		"update securityGroup", "create securityGroup", "update input", "create input",
		"update alarm", "create alarm", "update rule", "create rule",
		"update channel", "create channel", "update distribution", "create distribution",
		"delete input", "delete securityGroup", "delete preset",
	}
	if !slices.Equal(got, want) {
		t.Errorf("steps:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got, want := everyKind().DeleteOrder(), []string{Pipeline, Alarm, Rule, Channel, Distribution, Input, SecurityGroup, Preset}; !slices.Equal(got, want) {
		t.Errorf("delete order %v, want %v", got, want)
	}
}

func TestInfosNameEveryKindOnce(t *testing.T) {
	seen := [3]map[string]bool{{}, {}, {}}
	for _, in := range Infos() {
		for i, v := range []string{in.Name, in.Path, in.StackKey} {
			if v == "" || seen[i][v] {
				t.Errorf("%+v: empty or repeated %q", in, v)
			}
			seen[i][v] = true
		}
		if in.Label == "" || in.Absent == "" || (in.Param != "ref" && in.Param != "name") {
			t.Errorf("%+v is incomplete", in)
		}
	}
	if len(Infos()) != len(everyKind().Kinds()) {
		t.Errorf("%d infos for %d kinds", len(Infos()), len(everyKind().Kinds()))
	}
}

func TestRunsNamesAKindTheServerLacks(t *testing.T) {
	live := NewTable(Bind(Inputs(), Funcs[resource.Input, resource.InputSpec, resource.Input]{}))
	if err := live.Runs(resource.Stack{Name: "s", Inputs: []resource.InputSpec{{Name: "a"}}}); err != nil {
		t.Errorf("inputs on a server that runs them: %v", err)
	}
	err := live.Runs(resource.Stack{Name: "s", Presets: []resource.PresetSpec{{Name: "p"}}})
	if err == nil || !strings.Contains(err.Error(), "on-demand transcoding is not enabled") {
		t.Errorf("presets on a server without them: %v", err)
	}
}

func TestDeclaredItemsCarryTheStack(t *testing.T) {
	k := Bind(Inputs(), Funcs[resource.Input, resource.InputSpec, resource.Input]{})
	items := k.Declared(resource.Stack{Name: "demo", Inputs: []resource.InputSpec{{Name: "a"}, {Name: "b"}}})
	if len(items) != 2 || items[1].Name != "b" || items[1].Stack != "demo" || items[1].Spec.(resource.InputSpec).Name != "b" {
		t.Errorf("items %+v", items)
	}
	if _, err := k.Create(t.Context(), "", resource.ChannelSpec{}); err == nil || !strings.Contains(err.Error(), "input: want a resource.InputSpec, not a resource.ChannelSpec") {
		t.Errorf("a spec of another kind: %v", err)
	}
}
