package automation

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/resource"
)

// TestCreatedRuleActsOnEvents: a created rule is stored and applied to the
// events it matches; its status counts them and keeps the last error.
func TestCreatedRuleActsOnEvents(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	r := f.createRule(t, "ops", "on-create", resource.EventChannelCreated, "https://hooks.example/created")
	if !strings.HasPrefix(r.ID, "ru") || r.Stack != "ops" || r.Name != "on-create" || !r.CreatedAt.Equal(t0) || !r.UpdatedAt.Equal(t0) {
		t.Fatalf("created rule %+v", r)
	}
	if stored, err := f.st.GetRule(ctx, "on-create"); err != nil || stored.ID != r.ID || stored.Event != resource.EventChannelCreated {
		t.Fatalf("stored rule %+v, %v", stored, err)
	}
	f.rules.Handle(ctx, newsEvent(resource.EventChannelCreated, "news"))
	f.rules.Handle(ctx, newsEvent(resource.EventChannelCreated, "sports")) // not matched
	f.rules.Handle(ctx, newsEvent(resource.EventChannelDeleted, "news"))   // not matched
	if ran := f.actions.take(); !slices.Equal(ran, []string{"WEBHOOK https://hooks.example/created"}) {
		t.Fatalf("actions run: %q", ran)
	}
	for _, ref := range []string{r.ID, "on-create"} {
		st, err := f.svc.GetRule(ctx, ref)
		if err != nil || st.ID != r.ID || st.Fired != 1 || !st.LastFired.Equal(t0) || st.LastError != "" {
			t.Fatalf("GetRule(%s): %+v, %v", ref, st, err)
		}
	}

	failing := f.createRule(t, "", "failing", resource.EventChannelCreated, failingURL)
	f.rules.Handle(ctx, newsEvent(resource.EventChannelCreated, "news"))
	list, err := f.svc.ListRules(ctx)
	if err != nil || len(list) != 2 {
		t.Fatalf("ListRules: %+v, %v", list, err)
	}
	for _, st := range list {
		switch st.ID {
		case r.ID:
			if st.Fired != 2 || st.LastError != "" {
				t.Errorf("on-create: %+v", st)
			}
		case failing.ID:
			if st.Fired != 1 || !strings.Contains(st.LastError, "500") {
				t.Errorf("failing: %+v", st)
			}
		default:
			t.Errorf("unknown rule %+v", st)
		}
	}
	f.wantLog(t, "rule on-create created for channel.created events")
}

// TestUpdatedRuleKeepsItsCounters: an update replaces the rule in the
// store and the engine; the counters go on.
func TestUpdatedRuleKeepsItsCounters(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	r := f.createRule(t, "ops", "watch", resource.EventChannelCreated, "https://hooks.example/created")
	f.rules.Handle(ctx, newsEvent(resource.EventChannelCreated, "news"))
	f.clock.set(t0.Add(time.Minute))
	up, err := f.svc.UpdateRule(ctx, "watch", "ops-2", ruleSpec(t, "watch", resource.EventChannelDeleted, "https://hooks.example/deleted"))
	if err != nil {
		t.Fatal(err)
	}
	if up.ID != r.ID || up.Stack != "ops-2" || up.Event != resource.EventChannelDeleted || !up.CreatedAt.Equal(t0) || !up.UpdatedAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("updated rule %+v", up)
	}
	if stored, _ := f.st.GetRule(ctx, r.ID); stored.Event != resource.EventChannelDeleted || stored.Stack != "ops-2" {
		t.Fatalf("stored rule %+v", stored)
	}
	f.actions.take()
	f.rules.Handle(ctx, newsEvent(resource.EventChannelCreated, "news")) // no longer matched
	f.rules.Handle(ctx, newsEvent(resource.EventChannelDeleted, "news"))
	if ran := f.actions.take(); !slices.Equal(ran, []string{"WEBHOOK https://hooks.example/deleted"}) {
		t.Fatalf("actions run after the update: %q", ran)
	}
	if st, _ := f.svc.GetRule(ctx, r.ID); st.Fired != 2 {
		t.Fatalf("fired %d times in all, want 2", st.Fired)
	}
	f.wantLog(t, "rule watch updated")
}

// TestDeletedRuleIsGone: a deleted rule leaves the store and the engine.
func TestDeletedRuleIsGone(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	r := f.createRule(t, "", "on-create", resource.EventChannelCreated, "https://hooks.example/created")
	if err := f.svc.DeleteRule(ctx, "on-create"); err != nil {
		t.Fatal(err)
	}
	_, err := f.st.GetRule(ctx, r.ID)
	wantErr(t, "stored rule", err, resource.ErrNotFound)
	_, err = f.rules.Get(r.ID)
	wantErr(t, "engine's rule", err, resource.ErrNotFound)
	_, err = f.svc.GetRule(ctx, r.ID)
	wantErr(t, "GetRule", err, resource.ErrNotFound)
	f.rules.Handle(ctx, newsEvent(resource.EventChannelCreated, "news"))
	if ran := f.actions.take(); len(ran) != 0 {
		t.Fatalf("a deleted rule ran %q", ran)
	}
	if list, err := f.svc.ListRules(ctx); err != nil || len(list) != 0 {
		t.Fatalf("ListRules: %+v, %v", list, err)
	}
	f.wantLog(t, "rule on-create deleted")
}

// TestRuleRefusals: what the service refuses changes neither the store
// nor the engine.
func TestRuleRefusals(t *testing.T) {
	ctx := context.Background()
	const url = "https://hooks.example/x"
	tests := []struct {
		name string
		do   func(t *testing.T, f *fixture) error
		want error
	}{
		{"create without actions", func(t *testing.T, f *fixture) error {
			s := ruleSpec(t, "new", resource.EventChannelCreated, url)
			s.Actions = nil
			_, err := f.svc.CreateRule(ctx, "", s)
			return err
		}, resource.ErrInvalid},
		{"create with a taken name", func(t *testing.T, f *fixture) error {
			_, err := f.svc.CreateRule(ctx, "", ruleSpec(t, "existing", resource.EventChannelDeleted, url))
			return err
		}, resource.ErrConflict},
		{"update with a bad event", func(t *testing.T, f *fixture) error {
			_, err := f.svc.UpdateRule(ctx, "existing", "", ruleSpec(t, "existing", "channel created", url))
			return err
		}, resource.ErrInvalid},
		{"update unknown", func(t *testing.T, f *fixture) error {
			_, err := f.svc.UpdateRule(ctx, "unknown", "", ruleSpec(t, "unknown", resource.EventChannelCreated, url))
			return err
		}, resource.ErrNotFound},
		{"delete unknown", func(_ *testing.T, f *fixture) error { return f.svc.DeleteRule(ctx, "unknown") }, resource.ErrNotFound},
		{"get unknown", func(_ *testing.T, f *fixture) error {
			_, err := f.svc.GetRule(ctx, "unknown")
			return err
		}, resource.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			existing := f.createRule(t, "", "existing", resource.EventChannelCreated, url)
			wantErr(t, tt.name, tt.do(t, f), tt.want)
			if stored, err := f.st.GetRule(ctx, "existing"); err != nil || stored.ID != existing.ID || stored.Event != resource.EventChannelCreated {
				t.Fatalf("stored rule %+v, %v", stored, err)
			}
			if list := f.rules.List(); len(list) != 1 || list[0].ID != existing.ID || list[0].Event != resource.EventChannelCreated {
				t.Fatalf("engine's rules %+v", list)
			}
		})
	}
}

// TestBootLoadsStoredRules: a restarted server applies every stored rule;
// one the engine refuses stays off, is logged, and is still listed.
func TestBootLoadsStoredRules(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	r := f.createRule(t, "ops", "on-create", resource.EventChannelCreated, "https://hooks.example/created")
	// A row the engine refuses, as an older version might have stored.
	broken := resource.Rule{ID: "ru-broken", RuleSpec: ruleSpec(t, "broken", resource.EventChannelCreated, "https://hooks.example/x"), CreatedAt: t0, UpdatedAt: t0}
	broken.Actions = nil
	if err := f.st.CreateRule(ctx, broken); err != nil {
		t.Fatal(err)
	}

	f.restart(t)
	f.rules.Handle(ctx, newsEvent(resource.EventChannelCreated, "news"))
	if ran := f.actions.take(); !slices.Equal(ran, []string{"WEBHOOK https://hooks.example/created"}) {
		t.Fatalf("actions run after a restart: %q", ran)
	}
	f.wantLog(t, "a stored rule is invalid and stays off", "rule=broken")
	st, err := f.svc.GetRule(ctx, "broken")
	if err != nil || st.ID != "ru-broken" || st.Fired != 0 {
		t.Fatalf("the refused rule: %+v, %v", st, err)
	}
	list, err := f.svc.ListRules(ctx)
	if err != nil || len(list) != 2 {
		t.Fatalf("ListRules: %+v, %v", list, err)
	}
	for _, st := range list {
		if want := uint64(map[string]int{r.ID: 1}[st.ID]); st.Fired != want {
			t.Errorf("%s fired %d times, want %d", st.Name, st.Fired, want)
		}
	}
}
