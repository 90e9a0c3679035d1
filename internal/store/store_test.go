package store

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/resource"
)

func open(t *testing.T) (*Store, string) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "sluice.db")
	s, err := Open(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, p
}

func TestInputsRoundTrip(t *testing.T) {
	s, _ := open(t)
	ctx := context.Background()
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	in := resource.Input{ID: "in-1", Stack: "demo", InputSpec: resource.InputSpec{Name: "cam", Type: resource.InputFile, URL: "a.mp4"}, CreatedAt: now, UpdatedAt: now}
	if err := s.CreateInput(ctx, in); err != nil {
		t.Fatal(err)
	}
	dup := in
	dup.ID = "in-2"
	if err := s.CreateInput(ctx, dup); !errors.Is(err, resource.ErrConflict) {
		t.Errorf("a second input named cam: %v, want a conflict", err)
	}
	for _, ref := range []string{"in-1", "cam"} {
		got, err := s.GetInput(ctx, ref)
		if err != nil || got.URL != "a.mp4" || got.Stack != "demo" || !got.CreatedAt.Equal(now) {
			t.Errorf("get %s: %+v %v", ref, got, err)
		}
	}
	in.URL = "b.mp4"
	if err := s.UpdateInput(ctx, in); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetInput(ctx, "cam"); got.URL != "b.mp4" {
		t.Errorf("update lost: %+v", got)
	}
	if err := s.DeleteInput(ctx, "in-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetInput(ctx, "cam"); !errors.Is(err, resource.ErrNotFound) {
		t.Errorf("deleted input: %v", err)
	}
}

func TestChannelStateHistoryAndTimelineSurviveReopen(t *testing.T) {
	s, path := open(t)
	ctx := context.Background()
	t0 := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	rec := ChannelRecord{
		Channel: resource.Channel{
			ID: "ch-1", ChannelSpec: resource.ChannelSpec{Name: "news", Encoder: resource.EncoderSettings{Ladder: "test-360p"}},
			State: resource.StateCreating, StateReason: "channel created", StateChangedAt: t0, CreatedAt: t0, UpdatedAt: t0,
		},
		Desired: resource.StateRunning,
	}
	if err := s.CreateChannel(ctx, rec); err != nil {
		t.Fatal(err)
	}
	for i, st := range []resource.ChannelState{resource.StateIdle, resource.StateStarting, resource.StateRunning} {
		ch := resource.StateChange{At: t0.Add(time.Duration(i+1) * time.Second), To: st, Reason: "step"}
		if err := s.SetChannelState(ctx, "ch-1", ch, "", resource.StateRunning); err != nil {
			t.Fatal(err)
		}
	}
	ts := TimelineState{AvailabilityStart: t0, NextNumber: 900000123, Discontinuity: 4}
	if err := s.SaveTimeline(ctx, "ch-1", ts); err != nil {
		t.Fatal(err)
	}
	_ = s.Close()

	s2, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s2.Close() }()
	recs, err := s2.ListChannels(ctx)
	if err != nil || len(recs) != 1 {
		t.Fatalf("channels after reopen: %+v %v", recs, err)
	}
	got := recs[0]
	if got.State != resource.StateRunning || got.Desired != resource.StateRunning || got.Timeline != ts || got.Encoder.Ladder != "test-360p" {
		t.Errorf("reopened record: %+v", got)
	}
	hist, err := s2.History(ctx, "ch-1", 10)
	if err != nil || len(hist) != 4 || hist[0].To != resource.StateCreating || hist[3].To != resource.StateRunning {
		t.Errorf("history: %+v %v", hist, err)
	}
	if hist, _ := s2.History(ctx, "ch-1", 2); len(hist) != 2 || hist[1].To != resource.StateRunning {
		t.Errorf("limited history must be the most recent, oldest first: %+v", hist)
	}
}

func TestHistoryIsBounded(t *testing.T) {
	s, _ := open(t)
	ctx := context.Background()
	t0 := time.Now().UTC()
	rec := ChannelRecord{Channel: resource.Channel{ID: "ch-1", ChannelSpec: resource.ChannelSpec{Name: "busy"}, State: resource.StateIdle, StateChangedAt: t0}}
	if err := s.CreateChannel(ctx, rec); err != nil {
		t.Fatal(err)
	}
	for i := range historyLimit + 50 {
		if err := s.SetChannelState(ctx, "ch-1", resource.StateChange{At: t0, To: resource.StateRecovering, Reason: "retry"}, "", resource.StateRunning); err != nil {
			t.Fatalf("change %d: %v", i, err)
		}
	}
	hist, _ := s.History(ctx, "ch-1", 5000)
	if len(hist) != historyLimit {
		t.Errorf("%d history rows kept, want %d", len(hist), historyLimit)
	}
	if err := s.DeleteChannel(ctx, "ch-1"); err != nil {
		t.Fatal(err)
	}
	if hist, _ := s.History(ctx, "ch-1", 10); len(hist) != 0 {
		t.Errorf("history outlived its channel: %d rows", len(hist))
	}
}
