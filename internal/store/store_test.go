package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/resource"
)

// suite is the behaviour both engines must have, case by case.
func suite() []suiteCase {
	return []suiteCase{
		{"migrations from zero", testMigrationsFromZero},
		{"a newer schema is refused", testNewerSchemaRefused},
		{"every kind: create, get, list, update, delete, conflicts", testKinds},
		{"a reference no engine can store is not found", testUnstorableRef},
		{"channel state, history and timeline survive reopening", testChannelSurvivesReopen},
		{"channel history is bounded and goes with its channel", testHistoryBounded},
		{"desired state", testDesiredState},
		{"alarm changes and their history", testAlarmHistory},
		{"alarm silences and acknowledgements survive reopening", testAlarmSilence},
		{"harvest jobs", testHarvestJobs},
		{"the first secret stays", testSecrets},
		{"nodes: registration, heartbeat, goodbye", testNodes},
		{"a node id or advertised URL with a fresh heartbeat is refused", testNodeClash},
		{"leases: acquire, renew, release, epochs", testLeases},
		{"a lease expires on the database's clock", testLeaseExpiry},
		{"a holder's writes are fenced", testFencedWrites},
		{"commands count the spec's generation", testGeneration},
		{"pipeline leases of a STANDARD channel", testPipelineLeases},
		{"the first pipeline fixes the availability start", testAvailabilityStartClaimed},
		{"a push input's publishers on several nodes", testInputPublishersPerNode},
		{"leases and publishers migrate to pipelines and nodes", testLeasesMigrateToPipelines},
		{"users and roles: the last admin stays", testUsers},
		{"the first user is made once", testFirstUser},
		{"named tokens by their digest", testTokens},
		{"sessions: the user's current role, expiry, removal with the user", testSessions},
		{"the audit log: newest first, filtered, paged", testAudit},
	}
}

func testMigrationsFromZero(t *testing.T, e env) {
	ctx := context.Background()
	s := e.open()
	if v := schemaVersionOf(t, s); v != len(migrations()) {
		t.Errorf("schema version %d after migrating an empty database, want %d", v, len(migrations()))
	}
	tables := tablesOf(t, s)
	for _, want := range []string{"alarm_history", "alarms", "channel_history", "channel_leases", "channels", "distributions", "harvest_jobs", "inputs", "nodes", "rules", "secrets", "security_groups", "users", "api_tokens", "sessions", "audit_log", "input_publishers", "node_media", "dvr_archives", "dvr_segments"} {
		if !slices.Contains(tables, want) {
			t.Errorf("no table %s after migrating: %v", want, tables)
		}
	}
	if err := s.CreateInput(ctx, resource.Input{ID: "in-1", InputSpec: resource.InputSpec{Name: "cam", Type: resource.InputRTMPPush}}); err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	// Opening again migrates nothing and loses nothing.
	again := e.open()
	if v := schemaVersionOf(t, again); v != len(migrations()) {
		t.Errorf("schema version %d after reopening, want %d", v, len(migrations()))
	}
	if _, err := again.GetInput(ctx, "cam"); err != nil {
		t.Errorf("after reopening: %v", err)
	}
}

func testNewerSchemaRefused(t *testing.T, e env) {
	s := e.open()
	newer := len(migrations()) + 1
	setSchemaVersionOf(t, s, newer)
	_ = s.Close()
	_, err := Open(context.Background(), e.dsn)
	want := fmt.Sprintf("the database schema is version %d, this sluice knows up to %d: upgrade sluice", newer, len(migrations()))
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("opening a database of a newer sluice: %v, want %q", err, want)
	}
}

func testChannelSurvivesReopen(t *testing.T, e env) {
	s := e.open()
	ctx := context.Background()
	running := resource.StateRunning
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
		ch := resource.StateChange{At: t0.Add(time.Duration(i+1) * time.Second), From: rec.State, To: st, Reason: "step"}
		if err := s.SetChannelState(ctx, "ch-1", Fence{}, ch, "", &running); err != nil {
			t.Fatal(err)
		}
	}
	// Counters beyond 2^31: segment numbers derive from the wall clock.
	ts := TimelineState{AvailabilityStart: t0.Add(123456789 * time.Nanosecond), NextNumber: 1<<40 + 3, Discontinuity: 4}
	if err := s.SaveTimeline(ctx, "ch-1", Fence{}, ts); err != nil {
		t.Fatal(err)
	}
	err := s.SetChannelState(ctx, "ch-none", Fence{}, resource.StateChange{At: t0, To: resource.StateIdle}, "", nil)
	if !errors.Is(err, resource.ErrNotFound) {
		t.Errorf("state of an unknown channel: %v, want not found", err)
	}
	_ = s.Close()

	s2 := e.open()
	recs, err := s2.ListChannels(ctx)
	if err != nil || len(recs) != 1 {
		t.Fatalf("channels after reopen: %+v %v", recs, err)
	}
	got := recs[0]
	if got.State != resource.StateRunning || got.Desired != resource.StateRunning || got.Timeline != ts || got.Encoder.Ladder != "test-360p" ||
		!got.StateChangedAt.Equal(t0.Add(3*time.Second)) || !got.Timeline.AvailabilityStart.Equal(ts.AvailabilityStart) {
		t.Errorf("reopened record: %+v", got)
	}
	hist, err := s2.History(ctx, "ch-1", 10)
	if err != nil || len(hist) != 4 || hist[0].To != resource.StateCreating || hist[3].To != resource.StateRunning || !hist[3].At.Equal(t0.Add(3*time.Second)) {
		t.Errorf("history: %+v %v", hist, err)
	}
	if hist, _ := s2.History(ctx, "ch-1", 2); len(hist) != 2 || hist[1].To != resource.StateRunning {
		t.Errorf("limited history must be the most recent, oldest first: %+v", hist)
	}
}

func testHistoryBounded(t *testing.T, e env) {
	s := e.open()
	ctx := context.Background()
	running := resource.StateRunning
	t0 := time.Now().UTC()
	rec := ChannelRecord{Channel: resource.Channel{ID: "ch-1", ChannelSpec: resource.ChannelSpec{Name: "busy"}, State: resource.StateIdle, StateChangedAt: t0}}
	if err := s.CreateChannel(ctx, rec); err != nil {
		t.Fatal(err)
	}
	for i := range historyLimit + 50 {
		if err := s.SetChannelState(ctx, "ch-1", Fence{}, resource.StateChange{At: t0, To: resource.StateRecovering, Reason: "retry"}, "", &running); err != nil {
			t.Fatalf("change %d: %v", i, err)
		}
	}
	hist, _ := s.History(ctx, "ch-1", 5000)
	if len(hist) != historyLimit {
		t.Errorf("%d history rows kept, want %d", len(hist), historyLimit)
	}
	if err := s.DeleteChannel(ctx, "ch-1", Fence{}); err != nil {
		t.Fatal(err)
	}
	if hist, _ := s.History(ctx, "ch-1", 10); len(hist) != 0 {
		t.Errorf("history outlived its channel: %d rows", len(hist))
	}
}

func testDesiredState(t *testing.T, e env) {
	s := e.open()
	ctx := context.Background()
	rec := ChannelRecord{Channel: resource.Channel{ID: "ch-1", ChannelSpec: resource.ChannelSpec{Name: "news"}, State: resource.StateIdle}, Desired: resource.StateIdle}
	if err := s.CreateChannel(ctx, rec); err != nil {
		t.Fatal(err)
	}
	if err := s.SetChannelDesired(ctx, "ch-1", resource.StateRunning); err != nil {
		t.Fatal(err)
	}
	if recs, err := s.ListChannels(ctx); err != nil || recs[0].Desired != resource.StateRunning || recs[0].State != resource.StateIdle {
		t.Errorf("after setting the desired state: %+v %v", recs, err)
	}
	if err := s.SetChannelDesired(ctx, "ch-none", resource.StateRunning); !errors.Is(err, resource.ErrNotFound) {
		t.Errorf("desired state of an unknown channel: %v, want not found", err)
	}
}

func testAlarmHistory(t *testing.T, e env) {
	s := e.open()
	ctx := context.Background()
	t0 := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	a := resource.Alarm{ID: "al-1", AlarmSpec: resource.AlarmSpec{Name: "slow", Metric: "m"}, State: resource.AlarmInsufficientData, StateChangedAt: t0}
	if err := s.CreateAlarm(ctx, a); err != nil {
		t.Fatal(err)
	}
	steps := []resource.AlarmState{resource.AlarmOK, resource.AlarmAlarm, resource.AlarmOK}
	for i, st := range steps {
		at := t0.Add(time.Duration(i+1) * time.Minute)
		a.State, a.StateReason, a.StateChangedAt = st, fmt.Sprint("step ", i), at
		if err := s.SaveAlarmChange(ctx, a, resource.AlarmChange{At: at, To: st, Reason: fmt.Sprint("step ", i)}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.GetAlarm(ctx, "slow")
	if err != nil || got.State != resource.AlarmOK || got.StateReason != "step 2" || !got.StateChangedAt.Equal(t0.Add(3*time.Minute)) || got.Metric != "m" {
		t.Errorf("alarm after its changes: %+v %v", got, err)
	}
	hist, err := s.AlarmHistory(ctx, "al-1", 2)
	if err != nil || len(hist) != 2 || hist[0].Reason != "step 2" || hist[1].To != resource.AlarmAlarm || hist[0].Type != resource.AlarmStateChanged {
		t.Errorf("alarm history, newest first: %+v %v", hist, err)
	}
	if all, err := s.AlarmHistory(ctx, "al-1", 0); err != nil || len(all) != 3 {
		t.Errorf("alarm history without a limit: %d changes, %v; want all 3", len(all), err)
	}
	if err := s.SaveAlarmChange(ctx, resource.Alarm{ID: "al-none", State: resource.AlarmOK}, resource.AlarmChange{At: t0, To: resource.AlarmOK}); !errors.Is(err, resource.ErrNotFound) {
		t.Errorf("a change of an unknown alarm: %v, want not found", err)
	}
	if err := s.DeleteAlarm(ctx, "al-1"); err != nil {
		t.Fatal(err)
	}
	if hist, _ := s.AlarmHistory(ctx, "al-1", 10); len(hist) != 0 {
		t.Errorf("history outlived its alarm: %+v", hist)
	}
}

// testAlarmSilence keeps an alarm's silence and acknowledgement, and who
// set them, across a reopening; an update of the spec leaves them.
func testAlarmSilence(t *testing.T, e env) {
	s := e.open()
	ctx := context.Background()
	t0 := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	a := resource.Alarm{ID: "al-1", AlarmSpec: resource.AlarmSpec{Name: "slow", Metric: "m"}, State: resource.AlarmAlarm, StateReason: "r", StateChangedAt: t0}
	if err := s.CreateAlarm(ctx, a); err != nil {
		t.Fatal(err)
	}
	a.Silence = &resource.AlarmSilence{Until: t0.Add(time.Hour), By: "alice", At: t0.Add(time.Minute), Comment: "maintenance: 'é' \"quoted\""}
	silenced := resource.AlarmChange{At: t0.Add(time.Minute), Type: resource.AlarmSilenced, From: a.State, To: a.State, Reason: "silenced", By: "alice", Comment: a.Silence.Comment, Until: a.Silence.Until}
	if err := s.SaveAlarmChange(ctx, a, silenced); err != nil {
		t.Fatal(err)
	}
	a.Acknowledgement = &resource.AlarmAcknowledgement{By: "ci-token", At: t0.Add(2 * time.Minute), Comment: "on it"}
	acked := resource.AlarmChange{At: t0.Add(2 * time.Minute), Type: resource.AlarmAcknowledged, From: a.State, To: a.State, Reason: "acknowledged", By: "ci-token", Comment: "on it"}
	if err := s.SaveAlarmChange(ctx, a, acked); err != nil {
		t.Fatal(err)
	}
	a.Threshold = 3
	if err := s.UpdateAlarm(ctx, a); err != nil {
		t.Fatal(err)
	}
	_ = s.Close()

	again := e.open()
	got, err := again.GetAlarm(ctx, "slow")
	if err != nil {
		t.Fatal(err)
	}
	if got.Silence == nil || *got.Silence != *a.Silence || !got.Silence.Until.Equal(t0.Add(time.Hour)) {
		t.Errorf("silence after reopening: %+v, want %+v", got.Silence, a.Silence)
	}
	if got.Acknowledgement == nil || *got.Acknowledgement != *a.Acknowledgement || got.Threshold != 3 {
		t.Errorf("acknowledgement after reopening: %+v (threshold %v), want %+v", got.Acknowledgement, got.Threshold, a.Acknowledgement)
	}
	hist, err := again.AlarmHistory(ctx, "al-1", 0)
	if err != nil || len(hist) != 2 {
		t.Fatalf("history: %+v %v", hist, err)
	}
	if hist[0] != acked || hist[1] != silenced {
		t.Errorf("history, newest first:\n%+v\n%+v\nwant\n%+v\n%+v", hist[0], hist[1], acked, silenced)
	}
	// The silence ends, the acknowledgement with the alarm's ALARM.
	a.Silence, a.Acknowledgement, a.State = nil, nil, resource.AlarmOK
	if err := again.SaveAlarmChange(ctx, a, resource.AlarmChange{At: t0.Add(time.Hour), From: resource.AlarmAlarm, To: resource.AlarmOK}); err != nil {
		t.Fatal(err)
	}
	if got, err := again.GetAlarm(ctx, "al-1"); err != nil || got.Silence != nil || got.Acknowledgement != nil || got.State != resource.AlarmOK {
		t.Errorf("after the silence and acknowledgement ended: %+v %v", got, err)
	}
	if all, err := again.ListAlarms(ctx); err != nil || len(all) != 1 || all[0].Silence != nil {
		t.Errorf("list: %+v %v", all, err)
	}
}

func testHarvestJobs(t *testing.T, e env) {
	s := e.open()
	ctx := context.Background()
	t0 := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	older := resource.HarvestJob{ID: "hv-1", HarvestSpec: resource.HarvestSpec{Channel: "news", Endpoint: "hls", Start: "a", End: "b"},
		State: resource.HarvestSubmitted, CreatedAt: t0, UpdatedAt: t0}
	newer := older
	newer.ID, newer.CreatedAt, newer.UpdatedAt = "hv-2", t0.Add(time.Minute), t0.Add(time.Minute)
	for _, j := range []resource.HarvestJob{older, newer} {
		if err := s.SaveHarvestJob(ctx, j); err != nil {
			t.Fatal(err)
		}
	}
	older.State, older.Segments, older.UpdatedAt = resource.HarvestComplete, 7, t0.Add(2*time.Minute)
	if err := s.SaveHarvestJob(ctx, older); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetHarvestJob(ctx, "hv-1")
	if err != nil || got.State != resource.HarvestComplete || got.Segments != 7 || !got.CreatedAt.Equal(t0) || got.Channel != "news" {
		t.Errorf("a saved job saved again: %+v %v", got, err)
	}
	all, err := s.ListHarvestJobs(ctx)
	if err != nil || len(all) != 2 || all[0].ID != "hv-2" || all[1].ID != "hv-1" {
		t.Errorf("jobs, newest first: %+v %v", all, err)
	}
	if _, err := s.GetHarvestJob(ctx, "hv-none"); !errors.Is(err, resource.ErrNotFound) {
		t.Errorf("an unknown job: %v, want not found", err)
	}
}

func testSecrets(t *testing.T, e env) {
	s := e.open()
	ctx := context.Background()
	first := []byte("the first secret, 32 bytes long!")
	got, err := s.KeepSecret(ctx, "encryption", first)
	if err != nil || string(got) != string(first) {
		t.Fatalf("the first secret: %q %v", got, err)
	}
	if got, err := s.KeepSecret(ctx, "encryption", []byte("another")); err != nil || string(got) != string(first) {
		t.Errorf("a second secret replaced the first: %q %v", got, err)
	}
	// Nodes starting together: every one reads the same, whichever won.
	var wg sync.WaitGroup
	results := make([]string, 8)
	for i := range results {
		wg.Go(func() {
			b, err := s.KeepSecret(ctx, "cluster", fmt.Appendf(nil, "node %d", i))
			if err != nil {
				t.Error(err)
			}
			results[i] = string(b)
		})
	}
	wg.Wait()
	for _, r := range results {
		if r != results[0] || !strings.HasPrefix(r, "node ") {
			t.Errorf("nodes read different secrets: %q", results)
			break
		}
	}
	_ = s.Close()
	if got, err := e.open().KeepSecret(ctx, "encryption", []byte("after a restart")); err != nil || string(got) != string(first) {
		t.Errorf("after reopening: %q %v", got, err)
	}
}

// schemaVersionOf reads the schema version the database records.
func schemaVersionOf(t *testing.T, s *Store) int {
	t.Helper()
	q := "PRAGMA user_version"
	if s.dialect == postgresDialect {
		q = "SELECT COALESCE(MAX(version), 0) FROM schema_version"
	}
	var v int
	if err := s.db.QueryRowContext(context.Background(), q).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// setSchemaVersionOf records a schema version, as a newer sluice would.
func setSchemaVersionOf(t *testing.T, s *Store, v int) {
	t.Helper()
	q := fmt.Sprintf("PRAGMA user_version = %d", v)
	if s.dialect == postgresDialect {
		q = fmt.Sprintf("INSERT INTO schema_version (version, applied_at) VALUES (%d, 'later')", v)
	}
	if _, err := s.db.ExecContext(context.Background(), q); err != nil {
		t.Fatal(err)
	}
}

// tablesOf lists the tables of a database.
func tablesOf(t *testing.T, s *Store) []string {
	t.Helper()
	q := "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
	if s.dialect == postgresDialect {
		q = "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY table_name"
	}
	rows, err := s.db.QueryContext(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rows.Close() }()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		out = append(out, n)
	}
	return out
}

// testUnstorableRef asks for resources by references that PostgreSQL
// cannot compare with text (a NUL byte, invalid UTF-8), as a URL path
// such as /api/v1/channels/%00 does: not found, as on SQLite, never an
// error of the database.
func testUnstorableRef(t *testing.T, e env) {
	s := e.open()
	ctx := context.Background()
	for _, ref := range []string{"\x00", "cam\x00", "\xff\xfe"} {
		if _, err := s.GetChannel(ctx, ref); !errors.Is(err, resource.ErrNotFound) {
			t.Errorf("GetChannel(%q): %v, want not found", ref, err)
		}
		if _, err := s.GetInput(ctx, ref); !errors.Is(err, resource.ErrNotFound) {
			t.Errorf("GetInput(%q): %v, want not found", ref, err)
		}
	}
}
