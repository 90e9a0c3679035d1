package store

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/resource"
)

// kindCase drives one resource kind through the store's verbs. mark is a
// value of the kind's spec (or its own columns) that updates change and
// reads give back.
type kindCase struct {
	kind   string
	create func(ctx context.Context, s *Store, id, name, mark string, at time.Time) error
	update func(ctx context.Context, s *Store, id, name, mark string, at time.Time) error
	// get finds by ID or name and returns the ID, name, mark and update time.
	get    func(ctx context.Context, s *Store, ref string) (id, name, mark string, updated time.Time, err error)
	list   func(ctx context.Context, s *Store) ([]string, error)
	remove func(ctx context.Context, s *Store, id string) error
}

func names[R any](rs []R, err error, name func(R) string) ([]string, error) {
	out := []string{}
	for _, r := range rs {
		out = append(out, name(r))
	}
	return out, err
}

// kindCases are the kinds the store keeps as resources.
func kindCases() []kindCase {
	return []kindCase{
		{
			kind: "security group",
			create: func(ctx context.Context, s *Store, id, name, mark string, at time.Time) error {
				return s.CreateSecurityGroup(ctx, resource.SecurityGroup{ID: id, Stack: "demo", SecurityGroupSpec: resource.SecurityGroupSpec{Name: name, Allow: []string{mark}}, CreatedAt: at, UpdatedAt: at})
			},
			update: func(ctx context.Context, s *Store, id, name, mark string, at time.Time) error {
				return s.UpdateSecurityGroup(ctx, resource.SecurityGroup{ID: id, Stack: "demo", SecurityGroupSpec: resource.SecurityGroupSpec{Name: name, Allow: []string{mark}}, UpdatedAt: at})
			},
			get: func(ctx context.Context, s *Store, ref string) (string, string, string, time.Time, error) {
				g, err := s.GetSecurityGroup(ctx, ref)
				if err != nil || len(g.Allow) != 1 {
					return "", "", "", time.Time{}, err
				}
				return g.ID, g.Name, g.Allow[0], g.UpdatedAt, nil
			},
			list: func(ctx context.Context, s *Store) ([]string, error) {
				gs, err := s.ListSecurityGroups(ctx)
				return names(gs, err, func(g resource.SecurityGroup) string { return g.Name })
			},
			remove: func(ctx context.Context, s *Store, id string) error { return s.DeleteSecurityGroup(ctx, id) },
		},
		{
			// The mark is the stream key, the input's own column.
			kind: "input",
			create: func(ctx context.Context, s *Store, id, name, mark string, at time.Time) error {
				return s.CreateInput(ctx, resource.Input{ID: id, Stack: "demo", InputSpec: resource.InputSpec{Name: name, Type: resource.InputRTMPPush}, StreamKey: mark, CreatedAt: at, UpdatedAt: at})
			},
			update: func(ctx context.Context, s *Store, id, name, mark string, at time.Time) error {
				return s.UpdateInput(ctx, resource.Input{ID: id, Stack: "demo", InputSpec: resource.InputSpec{Name: name, Type: resource.InputRTMPPush}, StreamKey: mark, UpdatedAt: at})
			},
			get: func(ctx context.Context, s *Store, ref string) (string, string, string, time.Time, error) {
				in, err := s.GetInput(ctx, ref)
				return in.ID, in.Name, in.StreamKey, in.UpdatedAt, err
			},
			list: func(ctx context.Context, s *Store) ([]string, error) {
				ins, err := s.ListInputs(ctx)
				return names(ins, err, func(in resource.Input) string { return in.Name })
			},
			remove: func(ctx context.Context, s *Store, id string) error { return s.DeleteInput(ctx, id) },
		},
		{
			kind: "channel",
			create: func(ctx context.Context, s *Store, id, name, mark string, at time.Time) error {
				return s.CreateChannel(ctx, ChannelRecord{Channel: resource.Channel{ID: id, Stack: "demo",
					ChannelSpec: resource.ChannelSpec{Name: name, Encoder: resource.EncoderSettings{Ladder: mark}},
					State:       resource.StateCreating, StateChangedAt: at, CreatedAt: at, UpdatedAt: at}})
			},
			update: func(ctx context.Context, s *Store, id, name, mark string, at time.Time) error {
				_, err := s.UpdateChannelSpec(ctx, id, "demo", resource.ChannelSpec{Name: name, Encoder: resource.EncoderSettings{Ladder: mark}}, at)
				return err
			},
			get: func(ctx context.Context, s *Store, ref string) (string, string, string, time.Time, error) {
				recs, err := s.ListChannels(ctx)
				if err != nil {
					return "", "", "", time.Time{}, err
				}
				for _, r := range recs {
					if r.ID == ref || r.Name == ref {
						return r.ID, r.Name, r.Encoder.Ladder, r.UpdatedAt, nil
					}
				}
				return "", "", "", time.Time{}, resource.NotFound("channel", ref)
			},
			list: func(ctx context.Context, s *Store) ([]string, error) {
				recs, err := s.ListChannels(ctx)
				return names(recs, err, func(r ChannelRecord) string { return r.Name })
			},
			remove: func(ctx context.Context, s *Store, id string) error { return s.DeleteChannel(ctx, id, Fence{}) },
		},
		{
			kind: "alarm",
			create: func(ctx context.Context, s *Store, id, name, mark string, at time.Time) error {
				return s.CreateAlarm(ctx, resource.Alarm{ID: id, Stack: "demo", AlarmSpec: resource.AlarmSpec{Name: name, Metric: mark},
					State: resource.AlarmInsufficientData, StateChangedAt: at, CreatedAt: at, UpdatedAt: at})
			},
			update: func(ctx context.Context, s *Store, id, name, mark string, at time.Time) error {
				return s.UpdateAlarm(ctx, resource.Alarm{ID: id, Stack: "demo", AlarmSpec: resource.AlarmSpec{Name: name, Metric: mark}, UpdatedAt: at})
			},
			get: func(ctx context.Context, s *Store, ref string) (string, string, string, time.Time, error) {
				a, err := s.GetAlarm(ctx, ref)
				return a.ID, a.Name, a.Metric, a.UpdatedAt, err
			},
			list: func(ctx context.Context, s *Store) ([]string, error) {
				as, err := s.ListAlarms(ctx)
				return names(as, err, func(a resource.Alarm) string { return a.Name })
			},
			remove: func(ctx context.Context, s *Store, id string) error { return s.DeleteAlarm(ctx, id) },
		},
		{
			kind: "rule",
			create: func(ctx context.Context, s *Store, id, name, mark string, at time.Time) error {
				return s.CreateRule(ctx, resource.Rule{ID: id, Stack: "demo", RuleSpec: resource.RuleSpec{Name: name, Event: mark}, CreatedAt: at, UpdatedAt: at})
			},
			update: func(ctx context.Context, s *Store, id, name, mark string, at time.Time) error {
				return s.UpdateRule(ctx, resource.Rule{ID: id, Stack: "demo", RuleSpec: resource.RuleSpec{Name: name, Event: mark}, UpdatedAt: at})
			},
			get: func(ctx context.Context, s *Store, ref string) (string, string, string, time.Time, error) {
				r, err := s.GetRule(ctx, ref)
				return r.ID, r.Name, r.Event, r.UpdatedAt, err
			},
			list: func(ctx context.Context, s *Store) ([]string, error) {
				rs, err := s.ListRules(ctx)
				return names(rs, err, func(r resource.Rule) string { return r.Name })
			},
			remove: func(ctx context.Context, s *Store, id string) error { return s.DeleteRule(ctx, id) },
		},
		{
			kind: "distribution",
			create: func(ctx context.Context, s *Store, id, name, mark string, at time.Time) error {
				return s.CreateDistribution(ctx, resource.Distribution{ID: id, Stack: "demo", DistributionSpec: resource.DistributionSpec{Name: name, Listen: mark, Origins: []string{"http://a:8080"}}, CreatedAt: at, UpdatedAt: at})
			},
			update: func(ctx context.Context, s *Store, id, name, mark string, at time.Time) error {
				return s.UpdateDistribution(ctx, resource.Distribution{ID: id, Stack: "demo", DistributionSpec: resource.DistributionSpec{Name: name, Listen: mark, Origins: []string{"http://a:8080"}}, UpdatedAt: at})
			},
			get: func(ctx context.Context, s *Store, ref string) (string, string, string, time.Time, error) {
				d, err := s.GetDistribution(ctx, ref)
				return d.ID, d.Name, d.Listen, d.UpdatedAt, err
			},
			list: func(ctx context.Context, s *Store) ([]string, error) {
				ds, err := s.ListDistributions(ctx)
				return names(ds, err, func(d resource.Distribution) string { return d.Name })
			},
			remove: func(ctx context.Context, s *Store, id string) error { return s.DeleteDistribution(ctx, id) },
		},
	}
}

// testKinds runs every kind through create, get, list, update, delete and
// their conflicts, and reads what it wrote after reopening.
func testKinds(t *testing.T, e env) {
	ctx := context.Background()
	t0 := time.Date(2026, 11, 22, 10, 0, 0, 123456789, time.UTC)
	t1 := t0.Add(time.Minute)
	s := e.open()
	for _, k := range kindCases() {
		if err := k.create(ctx, s, "x-1", "beta", "first", t0); err != nil {
			t.Fatalf("%s: create: %v", k.kind, err)
		}
		if err := k.create(ctx, s, "x-2", "alpha", "other", t0); err != nil {
			t.Fatalf("%s: create a second: %v", k.kind, err)
		}
		if err := k.create(ctx, s, "x-3", "beta", "first", t0); !errors.Is(err, resource.ErrConflict) {
			t.Errorf("%s: a second one named beta: %v, want a conflict", k.kind, err)
		}
		for _, ref := range []string{"x-1", "beta"} {
			id, name, mark, updated, err := k.get(ctx, s, ref)
			if err != nil || id != "x-1" || name != "beta" || mark != "first" || !updated.Equal(t0) {
				t.Errorf("%s: get %s: %s %s %s %s %v", k.kind, ref, id, name, mark, updated, err)
			}
		}
		if got, err := k.list(ctx, s); err != nil || !slices.Equal(got, []string{"alpha", "beta"}) {
			t.Errorf("%s: list, by name: %v %v", k.kind, got, err)
		}
		if err := k.update(ctx, s, "x-1", "gamma", "second", t1); err != nil {
			t.Errorf("%s: update: %v", k.kind, err)
		}
		if err := k.update(ctx, s, "x-1", "alpha", "second", t1); !errors.Is(err, resource.ErrConflict) {
			t.Errorf("%s: renamed to a taken name: %v, want a conflict", k.kind, err)
		}
		if err := k.update(ctx, s, "x-none", "delta", "second", t1); !errors.Is(err, resource.ErrNotFound) {
			t.Errorf("%s: update of an unknown one: %v, want not found", k.kind, err)
		}
		if err := k.remove(ctx, s, "x-2"); err != nil {
			t.Errorf("%s: delete: %v", k.kind, err)
		}
		if err := k.remove(ctx, s, "x-2"); !errors.Is(err, resource.ErrNotFound) {
			t.Errorf("%s: deleted twice: %v, want not found", k.kind, err)
		}
		if _, _, _, _, err := k.get(ctx, s, "alpha"); !errors.Is(err, resource.ErrNotFound) {
			t.Errorf("%s: get after delete: %v, want not found", k.kind, err)
		}
	}
	_ = s.Close()
	s = e.open()
	for _, k := range kindCases() {
		id, name, mark, updated, err := k.get(ctx, s, "gamma")
		if err != nil || id != "x-1" || name != "gamma" || mark != "second" || !updated.Equal(t1) {
			t.Errorf("%s: after reopening: %s %s %s %s %v", k.kind, id, name, mark, updated, err)
		}
		if got, err := k.list(ctx, s); err != nil || !slices.Equal(got, []string{"gamma"}) {
			t.Errorf("%s: list after reopening: %v %v", k.kind, got, err)
		}
	}
}
