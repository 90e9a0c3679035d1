package stack

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/alarm"
	"github.com/sluice-video/sluice/internal/automation"
	"github.com/sluice-video/sluice/internal/channel"
	"github.com/sluice-video/sluice/internal/controlplane"
	"github.com/sluice-video/sluice/internal/event"
	"github.com/sluice-video/sluice/internal/input"
	"github.com/sluice-video/sluice/internal/kinds"
	"github.com/sluice-video/sluice/internal/metrics"
	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/store"
)

// newManager is a real control plane on a real store. The stacks below use
// test patterns without autoStart, so no encoder runs.
func newManager(t *testing.T) controlPlane {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "sluice.db"))
	if err != nil {
		t.Fatal(err)
	}
	m := channel.New(channel.Config{Store: st, Resolver: input.Resolver{MediaRoot: t.TempDir()}})
	mx := metrics.New(metrics.Config{})
	bus := event.NewBus(event.BusConfig{Metrics: mx})
	runner := &event.Actions{Channels: m}
	auto := automation.New(automation.Config{
		Store:  st,
		Alarms: alarm.New(alarm.Config{Metrics: mx, Store: st, Actions: runner}),
		Rules:  event.NewRules(event.RulesConfig{Bus: bus, Runner: runner}),
	})
	t.Cleanup(func() {
		m.Close(context.Background())
		bus.Close(context.Background())
		_ = st.Close()
	})
	return controlPlane{m, auto}
}

// controlPlane is every resource operation, as the server composes it.
type controlPlane struct {
	*channel.Manager
	*automation.Service
}

// table is the control plane's kinds, as the server binds them.
func (c controlPlane) table() kinds.Table {
	return controlplane.Plane{Channels: c.Manager, Automation: c.Service}.Kinds()
}

func demo() resource.Stack {
	return resource.Stack{
		Name:   "demo",
		Inputs: []resource.InputSpec{{Name: "bars", Type: resource.InputTestPattern}},
		Channels: []resource.ChannelSpec{
			{Name: "one", InputAttachments: []resource.InputAttachment{{Input: "bars"}}, Encoder: resource.EncoderSettings{Ladder: "test-360p"}},
			{Name: "two", InputAttachments: []resource.InputAttachment{{Input: "bars"}}, Encoder: resource.EncoderSettings{Ladder: "test-360p"}},
		},
	}
}

func summary(p Plan) []string {
	var out []string
	for _, c := range p.Changes {
		s := c.Action + " " + c.Kind + " " + c.Name
		if len(c.Fields) > 0 {
			s += " (" + strings.Join(c.Fields, ", ") + ")"
		}
		out = append(out, s)
	}
	return out
}

func TestPlanApplyConverges(t *testing.T) {
	m := newManager(t)
	ctx := context.Background()
	st := demo()
	plan, err := MakePlan(ctx, m.table(), st)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := summary(plan), []string{"create input bars", "create channel one", "create channel two"}; !slices.Equal(got, want) {
		t.Errorf("first plan %v, want %v", got, want)
	}
	if chs, _ := m.ListChannels(ctx); len(chs) != 0 {
		t.Fatal("plan must change nothing")
	}
	if _, err := Apply(ctx, m.table(), st); err != nil {
		t.Fatal(err)
	}
	again, err := Apply(ctx, m.table(), st)
	if err != nil || !again.Empty() {
		t.Errorf("a second apply changes nothing: %v %v", summary(again), err)
	}

	// Change a field, drop a channel, add an input: one of each.
	st.Channels[0].Encoder.Ladder = "default-720p"
	st.Channels[0].AutoStart = false
	st.Channels = st.Channels[:1]
	st.Inputs = append(st.Inputs, resource.InputSpec{Name: "spare", Type: resource.InputTestPattern, TestPattern: &resource.TestPattern{Width: 640, Height: 360}})
	plan, err = Apply(ctx, m.table(), st)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"unchanged input bars", "create input spare", "update channel one (encoder.ladder)", "delete channel two"}
	if got := summary(plan); !slices.Equal(got, want) || !plan.Applied {
		t.Errorf("plan %v, want %v", got, want)
	}
	if _, err := m.GetChannel(ctx, "two"); !errors.Is(err, resource.ErrNotFound) {
		t.Errorf("channel two should be gone: %v", err)
	}
	if ch, _ := m.GetChannel(ctx, "one"); ch.Encoder.Ladder != "default-720p" || ch.Stack != "demo" {
		t.Errorf("channel one: %+v", ch)
	}

	destroyed, err := Destroy(ctx, m.table(), st)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := summary(destroyed), []string{"delete channel one", "delete input bars", "delete input spare"}; !slices.Equal(got, want) {
		t.Errorf("destroy %v, want %v", got, want)
	}
	if ins, _ := m.ListInputs(ctx); len(ins) != 0 {
		t.Errorf("inputs left: %+v", ins)
	}
}

func TestApplyRefusesOtherOwners(t *testing.T) {
	m := newManager(t)
	ctx := context.Background()
	if _, err := m.CreateInput(ctx, "", resource.InputSpec{Name: "bars", Type: resource.InputTestPattern}); err != nil {
		t.Fatal(err)
	}
	_, err := Apply(ctx, m.table(), demo())
	if !errors.Is(err, resource.ErrConflict) || !strings.Contains(err.Error(), `input "bars" already exists and was not created by stack "demo"`) {
		t.Errorf("taking over an API-made input: %v", err)
	}
	other := demo()
	other.Name = "other"
	other.Inputs = []resource.InputSpec{{Name: "cam", Type: resource.InputTestPattern}}
	other.Channels = other.Channels[:1]
	other.Channels[0].InputAttachments[0].Input = "cam"
	if _, err := Apply(ctx, m.table(), other); err != nil {
		t.Fatal(err)
	}
	mine := demo()
	mine.Name = "mine"
	mine.Inputs = nil // bars exists on the server: a channel may use it
	_, err = Apply(ctx, m.table(), mine)
	if !errors.Is(err, resource.ErrConflict) || !strings.Contains(err.Error(), `channel "one" belongs to stack "other"`) {
		t.Errorf("taking over another stack's channel: %v", err)
	}
}

func TestPlanValidatesReferences(t *testing.T) {
	m := newManager(t)
	st := demo()
	st.Channels[1].InputAttachments[0].Input = "nowhere"
	_, err := MakePlan(context.Background(), m.table(), st)
	var fe resource.FieldErrors
	if !errors.As(err, &fe) || fe[0].Path != "channels[1].inputAttachments[0].input" {
		t.Errorf("an unknown input must be named with its path: %v", err)
	}
}

func TestDeletingAMissingChannelIsDone(t *testing.T) {
	// A channel that is already gone is what destroy wants: not an error.
	m := newManager(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	channels, _ := m.table().Kind(KindChannel)
	if err := channels.Remove(ctx, "absent"); err != nil {
		t.Errorf("deleting a missing channel: %v", err)
	}
}

func TestAlarmsAndRulesAreStackResources(t *testing.T) {
	m := newManager(t)
	ctx := context.Background()
	st := demo()
	st.Rules = []resource.RuleSpec{{Name: "start-one", Event: resource.EventChannelCreated, Match: map[string]string{"channel": "one"},
		Actions: []resource.Action{{Type: resource.ActionStartChannel}}}}
	st.Alarms = []resource.AlarmSpec{{Name: "slow", Metric: "sluice_encoder_speed_ratio", Labels: map[string]string{"channel": "one"},
		Statistic: "avg", PeriodSeconds: 10, EvaluationPeriods: 3, Threshold: 0.95, Comparison: resource.LessThan}}
	plan, err := Apply(ctx, m.table(), st)
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, c := range plan.Changes {
		order = append(order, c.Kind+" "+c.Name)
	}
	if !slices.Contains(order, "rule start-one") || !slices.Contains(order, "alarm slow") {
		t.Errorf("plan %v", order)
	}
	a, err := m.GetAlarm(ctx, "slow")
	if err != nil || a.State != resource.AlarmInsufficientData || a.Stack != "demo" {
		t.Errorf("alarm %+v %v", a, err)
	}
	if again, err := Apply(ctx, m.table(), st); err != nil || !again.Empty() {
		t.Errorf("second apply: %v %v", summary(again), err)
	}
	st.Alarms[0].Threshold = 0.9
	plan, err = Apply(ctx, m.table(), st)
	if err != nil || !slices.Contains(summary(plan), "update alarm slow (threshold)") {
		t.Errorf("update: %v %v", summary(plan), err)
	}
	if _, err := Destroy(ctx, m.table(), st); err != nil {
		t.Fatal(err)
	}
	if as, _ := m.ListAlarms(ctx); len(as) != 0 {
		t.Errorf("alarms left: %+v", as)
	}
}

// TestPlanOrdersEveryKind applies a stack with one resource of each kind
// the engine plans here, then an empty stack of the same name: creates
// come in dependency order and deletes in the reverse, and a security
// group owned by another stack is a conflict that names it.
func TestPlanOrdersEveryKind(t *testing.T) {
	m := newManager(t)
	ctx := context.Background()
	st := demo()
	st.Channels = st.Channels[:1]
	st.SecurityGroups = []resource.SecurityGroupSpec{{Name: "office", Allow: []string{"192.0.2.0/24"}}}
	st.Rules = []resource.RuleSpec{{Name: "start-one", Event: resource.EventChannelCreated, Match: map[string]string{"channel": "one"},
		Actions: []resource.Action{{Type: resource.ActionStartChannel}}}}
	st.Alarms = []resource.AlarmSpec{{Name: "slow", Metric: "sluice_encoder_speed_ratio", Labels: map[string]string{"channel": "one"},
		Statistic: "avg", PeriodSeconds: 10, EvaluationPeriods: 3, Threshold: 0.95, Comparison: resource.LessThan}}
	plan, err := Apply(ctx, m.table(), st)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"create securityGroup office", "create input bars", "create channel one", "create alarm slow", "create rule start-one"}
	if got := summary(plan); !slices.Equal(got, want) {
		t.Fatalf("creates %v, want %v", got, want)
	}
	plan, err = Apply(ctx, m.table(), resource.Stack{Name: "demo"})
	if err != nil {
		t.Fatal(err)
	}
	want = []string{"delete alarm slow", "delete rule start-one", "delete channel one", "delete input bars", "delete securityGroup office"}
	if got := summary(plan); !slices.Equal(got, want) {
		t.Fatalf("deletes %v, want %v", got, want)
	}
	if _, err := Apply(ctx, m.table(), resource.Stack{Name: "other", SecurityGroups: st.SecurityGroups}); err != nil {
		t.Fatal(err)
	}
	_, err = MakePlan(ctx, m.table(), resource.Stack{Name: "demo", SecurityGroups: st.SecurityGroups})
	if !errors.Is(err, resource.ErrConflict) || !strings.Contains(err.Error(), `security group "office" belongs to stack "other"`) {
		t.Fatalf("a group of another stack: %v", err)
	}
}
