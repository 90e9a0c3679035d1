package event

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/testutil/poll"
)

// channels stands in for the channel manager: it records commands and,
// like the real one, publishes a state change for each.
type channels struct {
	bus *Bus

	mu   sync.Mutex
	cmds []string
}

func (c *channels) command(verb, ref string) (resource.Channel, error) {
	c.mu.Lock()
	c.cmds = append(c.cmds, verb+" "+ref)
	c.mu.Unlock()
	if ref == "missing" {
		return resource.Channel{}, resource.NotFound("channel", ref)
	}
	if c.bus != nil {
		c.bus.Publish(resource.Event{Type: resource.EventChannelStateChanged, Resource: "channel/" + ref, Detail: map[string]string{"channel": ref, "to": verb}})
	}
	return resource.Channel{}, nil
}

func (c *channels) StartChannel(_ context.Context, ref string) (resource.Channel, error) {
	return c.command("start", ref)
}

func (c *channels) StopChannel(_ context.Context, ref string) (resource.Channel, error) {
	return c.command("stop", ref)
}

func (c *channels) commands() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.cmds)
}

func startRules(t *testing.T, cfg RulesConfig, rules ...resource.Rule) *Rules {
	t.Helper()
	r := NewRules(cfg)
	for _, rule := range rules {
		if err := r.Set(rule); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close(context.Background()) })
	poll.UntilTrue(t, "the rules to subscribe", 20*time.Second, func() bool { return cfg.Bus.Subscribers() > 0 })
	return r
}

func rule(id, name, typ string, match map[string]string, actions ...resource.Action) resource.Rule {
	return resource.Rule{ID: id, RuleSpec: resource.RuleSpec{Name: name, Event: typ, Match: match, Actions: actions}}
}

// TestRulesStartChannelAndCallWebhook is the "on channel created, start
// it" rule, with a webhook to a real receiver.
func TestRulesStartChannelAndCallWebhook(t *testing.T) {
	bus := NewBus(BusConfig{})
	hook := newReceiver(t)
	d := testDeliverer(t, WebhookConfig{})
	ch := &channels{}
	startRules(t, RulesConfig{Bus: bus, Runner: &Actions{Webhooks: d, Channels: ch}},
		rule("r1", "autostart", resource.EventChannelCreated, nil,
			resource.Action{Type: resource.ActionStartChannel},
			resource.Action{Type: resource.ActionWebhook, URL: hook.srv.URL, Secret: "k"}),
		rule("r2", "news-only", "channel.*", map[string]string{"channel": "news"},
			resource.Action{Type: resource.ActionStopChannel, Channel: "backup"}),
	)
	bus.Publish(resource.Event{Type: resource.EventChannelCreated, Resource: "channel/sports", Detail: map[string]string{"channel": "sports"}})
	bus.Publish(resource.Event{Type: resource.EventChannelCreated, Resource: "channel/news"})
	bus.Publish(resource.Event{Type: resource.EventInputLost, Detail: map[string]string{"channel": "news"}})             // no rule
	bus.Publish(resource.Event{Type: resource.EventChannelStateChanged, Detail: map[string]string{"channel": "sports"}}) // no match
	bus.Publish(resource.Event{Type: resource.EventChannelStateChanged, Detail: map[string]string{"channel": "news"}})
	poll.UntilTrue(t, "the commands", 20*time.Second, func() bool { return len(ch.commands()) == 3 })
	want := []string{"start sports", "start news", "stop backup"}
	for _, w := range want {
		if !slices.Contains(ch.commands(), w) {
			t.Fatalf("commands %q lack %q", ch.commands(), w)
		}
	}
	poll.UntilTrue(t, "two webhooks", 20*time.Second, func() bool { return len(hook.received()) == 2 })
	for _, got := range hook.received() {
		checkSignature(t, "k", got)
		var e resource.Event
		if err := json.Unmarshal(got.body, &e); err != nil || e.Type != resource.EventChannelCreated || e.Seq == 0 {
			t.Fatalf("webhook body %s (%v)", got.body, err)
		}
	}
}

// TestRulesBreakLoops: a rule that restarts a channel on every state
// change causes state changes itself. Its rate limit stops it after Burst
// firings (the clock stands still, so nothing refills).
func TestRulesBreakLoops(t *testing.T) {
	bus := NewBus(BusConfig{})
	ch := &channels{bus: bus}
	now := t0
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	r := startRules(t, RulesConfig{Bus: bus, Runner: &Actions{Channels: ch}, Burst: 3, Refill: time.Minute, Now: clock},
		rule("r1", "restart-on-change", resource.EventChannelStateChanged, nil, resource.Action{Type: resource.ActionRestartChannel}))
	bus.Publish(resource.Event{Type: resource.EventChannelStateChanged, Detail: map[string]string{"channel": "news"}})
	// 1 event + 2 per restart: 3 restarts, then the 6 events they caused
	// after the third are suppressed... and cause nothing.
	poll.UntilTrue(t, "the loop to stop", 20*time.Second, func() bool {
		st, _ := r.Get("r1")
		return st.Fired == 3 && st.Suppressed == 4 && bus.Last() == 7
	})
	if got := ch.commands(); len(got) != 6 {
		t.Fatalf("commands %q", got)
	}
	// A minute later the rule may fire again.
	mu.Lock()
	now = now.Add(time.Minute)
	mu.Unlock()
	bus.Publish(resource.Event{Type: resource.EventChannelStateChanged, Detail: map[string]string{"channel": "news"}})
	poll.UntilTrue(t, "the refilled firing", 20*time.Second, func() bool {
		st, _ := r.Get("restart-on-change")
		return st.Fired == 4
	})
}

func TestRulesRecordActionErrors(t *testing.T) {
	bus := NewBus(BusConfig{})
	ch := &channels{}
	r := startRules(t, RulesConfig{Bus: bus, Runner: &Actions{Channels: ch}},
		rule("r1", "start-missing", resource.EventJobStateChanged, nil, resource.Action{Type: resource.ActionStartChannel, Channel: "missing"}),
		rule("r2", "no-channel", resource.EventJobStateChanged, nil, resource.Action{Type: resource.ActionStopChannel}))
	bus.Publish(resource.Event{Type: resource.EventJobStateChanged})
	poll.UntilTrue(t, "both rules", 20*time.Second, func() bool {
		a, _ := r.Get("r1")
		b, _ := r.Get("r2")
		return a.LastError != "" && b.LastError != ""
	})
	if st := r.List(); len(st) != 2 || st[0].Name != "no-channel" || st[0].Fired != 1 {
		t.Fatalf("list %+v", st)
	}
}

func TestRulesSetValidatesAndRemove(t *testing.T) {
	r := NewRules(RulesConfig{Bus: NewBus(BusConfig{})})
	if err := r.Set(rule("r1", "Bad Name", "x.y", nil, resource.Action{Type: resource.ActionStartChannel})); !errors.Is(err, resource.ErrInvalid) {
		t.Fatalf("invalid rule: %v", err)
	}
	if err := r.Set(rule("", "ok", "x.y", nil, resource.Action{Type: resource.ActionStartChannel})); !errors.Is(err, resource.ErrInvalid) {
		t.Fatalf("rule without id: %v", err)
	}
	if err := r.Set(rule("r1", "ok", "x.y", nil, resource.Action{Type: resource.ActionStartChannel})); err != nil {
		t.Fatal(err)
	}
	r.Remove("r1")
	if _, err := r.Get("r1"); !errors.Is(err, resource.ErrNotFound) {
		t.Fatalf("removed rule: %v", err)
	}
}

func TestActionsRun(t *testing.T) {
	ch := &channels{}
	a := &Actions{Channels: ch}
	ctx := context.Background()
	e := resource.Event{Type: resource.EventAlarmStateChanged, Detail: map[string]string{"channel": "news"}}
	if err := a.Run(ctx, resource.Action{Type: resource.ActionRestartChannel}, e); err != nil {
		t.Fatal(err)
	}
	if err := a.Run(ctx, resource.Action{Type: resource.ActionStartChannel, Channel: "missing"}, e); !errors.Is(err, resource.ErrNotFound) {
		t.Fatalf("missing channel: %v", err)
	}
	if err := a.Run(ctx, resource.Action{Type: resource.ActionWebhook, URL: "http://x.example/"}, e); err == nil {
		t.Fatal("webhook without a deliverer")
	}
	if err := a.Run(ctx, resource.Action{Type: "LAUNCH"}, e); err == nil {
		t.Fatal("unknown action ran")
	}
	if got := ch.commands(); !slices.Equal(got, []string{"stop news", "start news", "start missing"}) {
		t.Fatalf("commands %q", got)
	}
	if got := ChannelOf(resource.Action{}, resource.Event{Resource: "channel/sports"}); got != "sports" {
		t.Fatalf("ChannelOf resource = %q", got)
	}
}

var _ Runner = (*Actions)(nil)

// TestRulesSeeEventsPublishedRightAfterStart: a stack applied as the
// server starts publishes channel.created at once; the rules engine must
// not miss it for having subscribed a moment later (the demo channel of
// `make run` then stayed IDLE).
func TestRulesSeeEventsPublishedRightAfterStart(t *testing.T) {
	for i := range 50 {
		bus := NewBus(BusConfig{FirstSeq: FirstSeqAt(time.Now())})
		ch := &channels{}
		r := NewRules(RulesConfig{Bus: bus, Runner: &Actions{Channels: ch}})
		if err := r.Set(rule("r1", "autostart", resource.EventChannelCreated, nil, resource.Action{Type: resource.ActionStartChannel})); err != nil {
			t.Fatal(err)
		}
		if err := r.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		bus.Publish(resource.Event{Type: resource.EventChannelCreated, Resource: "channel/demo", Detail: map[string]string{"channel": "demo"}})
		poll.Until(t, fmt.Sprintf("try %d: the rule starts the channel", i), 20*time.Second, func() (bool, string) {
			return slices.Contains(ch.commands(), "start demo"), fmt.Sprint(ch.commands())
		})
		if err := r.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}
