package store

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/sluice-video/sluice/internal/resource"
)

// TestOpensADatabaseOfTheLastRelease opens testdata/sluice-v5.db, a state
// database written by the sluice before PostgreSQL (schema version 5: a
// security group, two inputs, a running channel, an alarm, a rule and a
// distribution, from a stack applied and left running, then a clean
// stop). It migrates to the current schema and every resource is back,
// the channel's state, desired state and counters with it.
func TestOpensADatabaseOfTheLastRelease(t *testing.T) {
	body, err := os.ReadFile(filepath.Join("testdata", "sluice-v5.db"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "sluice.db")
	if err := os.WriteFile(path, body, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	if v := schemaVersionOf(t, s); v != len(migrations()) {
		t.Errorf("schema version %d, want %d", v, len(migrations()))
	}
	if g, err := s.GetSecurityGroup(ctx, "studio"); err != nil || g.Stack != "legacy" || len(g.Allow) != 1 || g.Allow[0] != "127.0.0.0/8" {
		t.Errorf("security group: %+v %v", g, err)
	}
	if in, err := s.GetInput(ctx, "cam"); err != nil || in.Type != resource.InputRTMPPush || len(in.StreamKey) < 16 || len(in.SecurityGroups) != 1 {
		t.Errorf("push input with its key: %+v %v", in, err)
	}
	if in, err := s.GetInput(ctx, "bars"); err != nil || in.Type != resource.InputTestPattern {
		t.Errorf("test pattern input: %+v %v", in, err)
	}
	recs, err := s.ListChannels(ctx)
	if err != nil || len(recs) != 1 {
		t.Fatalf("channels: %+v %v", recs, err)
	}
	ch := recs[0]
	if ch.Name != "news" || ch.State != resource.StateRunning || ch.Desired != resource.StateRunning || !ch.AutoStart ||
		ch.Timeline.NextNumber < 898310305 || ch.Timeline.AvailabilityStart.IsZero() || len(ch.Outputs) != 1 || ch.Outputs[0].Encryption == nil {
		t.Errorf("channel: %+v", ch)
	}
	if hist, err := s.History(ctx, ch.ID, 100); err != nil || len(hist) < 3 || hist[len(hist)-1].To != resource.StateRunning {
		t.Errorf("channel history: %+v %v", hist, err)
	}
	if a, err := s.GetAlarm(ctx, "slow"); err != nil || a.Metric != "sluice_encoder_speed_ratio" {
		t.Errorf("alarm: %+v %v", a, err)
	}
	if r, err := s.GetRule(ctx, "hook"); err != nil || r.Event != "channel.created" {
		t.Errorf("rule: %+v %v", r, err)
	}
	if d, err := s.GetDistribution(ctx, "eu"); err != nil || d.Listen != "127.0.0.1:18089" {
		t.Errorf("distribution: %+v %v", d, err)
	}
	// What the new schema adds works on the old database.
	if got, err := s.KeepSecret(ctx, "encryption", []byte("imported")); err != nil || string(got) != "imported" {
		t.Errorf("secret: %q %v", got, err)
	}
}
