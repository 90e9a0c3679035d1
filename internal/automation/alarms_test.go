package automation

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/resource"
)

// TestCreatedAlarmIsStoredAndEvaluated: a created alarm is in the store and
// in the evaluator; once its metric breaches, the service reports the
// evaluator's state, the transition is in its history and its action ran.
func TestCreatedAlarmIsStoredAndEvaluated(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a := f.createAlarm(t, "ops", "news-slow", 0.9)
	if !strings.HasPrefix(a.ID, "al") || a.Stack != "ops" || a.Name != "news-slow" ||
		a.State != resource.AlarmInsufficientData || a.StateReason != "the alarm was created" ||
		!a.StateChangedAt.Equal(t0) || !a.CreatedAt.Equal(t0) || !a.UpdatedAt.Equal(t0) {
		t.Fatalf("created alarm %+v", a)
	}
	if stored, err := f.st.GetAlarm(ctx, "news-slow"); err != nil || stored.ID != a.ID || stored.Threshold != 0.9 {
		t.Fatalf("stored alarm %+v, %v", stored, err)
	}
	if live, err := f.alarms.Get(a.ID); err != nil || live.Name != "news-slow" {
		t.Fatalf("evaluated alarm %+v, %v", live, err)
	}
	for _, ref := range []string{a.ID, "news-slow"} {
		if got, err := f.svc.GetAlarm(ctx, ref); err != nil || got.ID != a.ID {
			t.Fatalf("GetAlarm(%s): %+v, %v", ref, got, err)
		}
	}

	f.slowEncoder()
	got, err := f.svc.GetAlarm(ctx, "news-slow")
	if err != nil || got.State != resource.AlarmAlarm || !got.StateChangedAt.Equal(t0.Add(12*time.Second)) || !strings.Contains(got.StateReason, "0.5") {
		t.Fatalf("after a slow period: %+v, %v", got, err)
	}
	list, err := f.svc.ListAlarms(ctx)
	if err != nil || len(list) != 1 || list[0].State != resource.AlarmAlarm || list[0].StateReason != got.StateReason {
		t.Fatalf("ListAlarms: %+v, %v", list, err)
	}
	h, err := f.svc.AlarmHistory(ctx, "news-slow", 10)
	if err != nil || len(h) != 1 || h[0].From != resource.AlarmInsufficientData || h[0].To != resource.AlarmAlarm {
		t.Fatalf("history %+v, %v", h, err)
	}
	if ran := f.actions.take(); !slices.Equal(ran, []string{"WEBHOOK https://hooks.example/slow"}) {
		t.Fatalf("actions run: %q", ran)
	}
	f.wantLog(t, "alarm news-slow created on sluice_encoder_speed_ratio")
}

// TestUpdatedAlarmKeepsItsStateUntilEvaluated: an update replaces the spec
// in the store and the evaluator, keeps the state, and the next evaluation
// judges the new spec.
func TestUpdatedAlarmKeepsItsStateUntilEvaluated(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a := f.createAlarm(t, "ops", "news-slow", 0.9)
	f.slowEncoder()
	f.clock.set(t0.Add(15 * time.Second))
	up, err := f.svc.UpdateAlarm(ctx, "news-slow", "ops-2", alarmSpec(t, "news-slow", 0.4))
	if err != nil {
		t.Fatal(err)
	}
	if up.ID != a.ID || up.Stack != "ops-2" || up.Threshold != 0.4 || up.State != resource.AlarmAlarm ||
		!up.CreatedAt.Equal(t0) || !up.UpdatedAt.Equal(t0.Add(15*time.Second)) {
		t.Fatalf("updated alarm %+v", up)
	}
	if stored, _ := f.st.GetAlarm(ctx, a.ID); stored.Threshold != 0.4 || stored.Stack != "ops-2" {
		t.Fatalf("stored alarm %+v", stored)
	}
	if live, _ := f.alarms.Get(a.ID); live.Threshold != 0.4 {
		t.Fatalf("evaluated alarm %+v", live)
	}
	f.alarms.Evaluate(t0.Add(15 * time.Second))
	if got, _ := f.svc.GetAlarm(ctx, a.ID); got.State != resource.AlarmOK {
		t.Fatalf("0.5 is not below the new threshold 0.4, yet the alarm is %s (%s)", got.State, got.StateReason)
	}
	f.wantLog(t, "alarm news-slow updated")
}

// TestAlarmStateIsTheEvaluators: the state the service reports is the
// evaluator's, not the one stored with the alarm, which may lag behind.
func TestAlarmStateIsTheEvaluators(t *testing.T) {
	f := &fixture{path: filepath.Join(t.TempDir(), "sluice.db"), clock: &clock{now: t0}, memoryHistory: true}
	f.open(t)
	ctx := context.Background()
	a := f.createAlarm(t, "", "news-slow", 0.9)
	f.slowEncoder()
	if stored, _ := f.st.GetAlarm(ctx, a.ID); stored.State != resource.AlarmInsufficientData {
		t.Fatalf("the store has the alarm %s, yet holds none of its transitions", stored.State)
	}
	if got, err := f.svc.GetAlarm(ctx, a.ID); err != nil || got.State != resource.AlarmAlarm || !got.StateChangedAt.Equal(t0.Add(12*time.Second)) {
		t.Fatalf("GetAlarm: %+v, %v", got, err)
	}
	if list, err := f.svc.ListAlarms(ctx); err != nil || len(list) != 1 || list[0].State != resource.AlarmAlarm {
		t.Fatalf("ListAlarms: %+v, %v", list, err)
	}
	if h, err := f.svc.AlarmHistory(ctx, a.ID, 0); err != nil || len(h) != 1 || h[0].To != resource.AlarmAlarm {
		t.Fatalf("history kept in memory: %+v, %v", h, err)
	}
}

// TestDeletedAlarmIsGone: a deleted alarm leaves the store and the
// evaluator, and with it its history.
func TestDeletedAlarmIsGone(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a := f.createAlarm(t, "", "news-slow", 0.9)
	if err := f.svc.DeleteAlarm(ctx, "news-slow"); err != nil {
		t.Fatal(err)
	}
	_, err := f.st.GetAlarm(ctx, a.ID)
	wantErr(t, "stored alarm", err, resource.ErrNotFound)
	_, err = f.alarms.Get(a.ID)
	wantErr(t, "evaluated alarm", err, resource.ErrNotFound)
	_, err = f.svc.GetAlarm(ctx, a.ID)
	wantErr(t, "GetAlarm", err, resource.ErrNotFound)
	_, err = f.svc.AlarmHistory(ctx, a.ID, 0)
	wantErr(t, "AlarmHistory", err, resource.ErrNotFound)
	if list, err := f.svc.ListAlarms(ctx); err != nil || len(list) != 0 {
		t.Fatalf("ListAlarms: %+v, %v", list, err)
	}
	f.slowEncoder()
	if ran := f.actions.take(); len(ran) != 0 {
		t.Fatalf("a deleted alarm ran %q", ran)
	}
	f.wantLog(t, "alarm news-slow deleted")
}

// TestAlarmRefusals: what the service refuses changes neither the store
// nor the evaluator.
func TestAlarmRefusals(t *testing.T) {
	ctx := context.Background()
	invalid := func(t *testing.T) resource.AlarmSpec {
		s := alarmSpec(t, "news-slow", 0.9)
		s.Metric = ""
		return s
	}
	tests := []struct {
		name string
		do   func(t *testing.T, f *fixture) error
		want error
	}{
		{"create invalid", func(t *testing.T, f *fixture) error {
			_, err := f.svc.CreateAlarm(ctx, "", invalid(t))
			return err
		}, resource.ErrInvalid},
		{"create with a taken name", func(t *testing.T, f *fixture) error {
			_, err := f.svc.CreateAlarm(ctx, "", alarmSpec(t, "existing", 0.1))
			return err
		}, resource.ErrConflict},
		{"update invalid", func(t *testing.T, f *fixture) error {
			s := invalid(t)
			s.Name = "existing"
			_, err := f.svc.UpdateAlarm(ctx, "existing", "", s)
			return err
		}, resource.ErrInvalid},
		{"update unknown", func(t *testing.T, f *fixture) error {
			_, err := f.svc.UpdateAlarm(ctx, "unknown", "", alarmSpec(t, "unknown", 0.1))
			return err
		}, resource.ErrNotFound},
		{"rename onto a taken name", func(t *testing.T, f *fixture) error {
			f.createAlarm(t, "", "other", 0.2)
			_, err := f.svc.UpdateAlarm(ctx, "other", "", alarmSpec(t, "existing", 0.3))
			return err
		}, resource.ErrConflict},
		{"delete unknown", func(_ *testing.T, f *fixture) error { return f.svc.DeleteAlarm(ctx, "unknown") }, resource.ErrNotFound},
		{"get unknown", func(_ *testing.T, f *fixture) error {
			_, err := f.svc.GetAlarm(ctx, "unknown")
			return err
		}, resource.ErrNotFound},
		{"history of unknown", func(_ *testing.T, f *fixture) error {
			_, err := f.svc.AlarmHistory(ctx, "unknown", 0)
			return err
		}, resource.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			existing := f.createAlarm(t, "", "existing", 0.9)
			wantErr(t, tt.name, tt.do(t, f), tt.want)
			if stored, err := f.st.GetAlarm(ctx, "existing"); err != nil || stored.ID != existing.ID || stored.Threshold != 0.9 || stored.Metric == "" {
				t.Fatalf("stored alarm %+v, %v", stored, err)
			}
			if live, err := f.alarms.Get("existing"); err != nil || live.ID != existing.ID || live.Threshold != 0.9 {
				t.Fatalf("evaluated alarm %+v, %v", live, err)
			}
			for _, a := range f.alarms.List() {
				if a.Name == "news-slow" || a.Name == "unknown" {
					t.Fatalf("refused alarm %s is evaluated", a.Name)
				}
			}
		})
	}
}

// TestBootLoadsStoredAlarmsWithTheirState: a restarted server evaluates
// every stored alarm from the state it had; one the evaluator refuses
// stays off, is logged, and is still listed.
func TestBootLoadsStoredAlarmsWithTheirState(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a := f.createAlarm(t, "ops", "news-slow", 0.9)
	f.slowEncoder()
	before, _ := f.svc.GetAlarm(ctx, a.ID)
	// A row the evaluator refuses, as an older version might have stored.
	broken := resource.Alarm{ID: "al-broken", AlarmSpec: alarmSpec(t, "broken", 1), State: resource.AlarmOK, CreatedAt: t0, UpdatedAt: t0}
	broken.Metric = ""
	if err := f.st.CreateAlarm(ctx, broken); err != nil {
		t.Fatal(err)
	}

	f.restart(t)
	live, err := f.alarms.Get(a.ID)
	if err != nil || live.State != resource.AlarmAlarm || live.StateReason != before.StateReason || !live.StateChangedAt.Equal(before.StateChangedAt) {
		t.Fatalf("after a restart: %+v, %v; before: %+v", live, err, before)
	}
	_, err = f.alarms.Get("broken")
	wantErr(t, "the refused alarm", err, resource.ErrNotFound)
	f.wantLog(t, "a stored alarm is invalid and stays off", "alarm=broken")
	list, err := f.svc.ListAlarms(ctx)
	if err != nil || len(list) != 2 {
		t.Fatalf("ListAlarms: %+v, %v", list, err)
	}
	for _, got := range list {
		if got.Name == "broken" && got.State != resource.AlarmOK {
			t.Fatalf("the refused alarm is listed as %s, stored as OK", got.State)
		}
	}
	if h, err := f.svc.AlarmHistory(ctx, a.ID, 10); err != nil || len(h) != 1 {
		t.Fatalf("history after a restart: %+v, %v", h, err)
	}
}

// TestBootFailsWithoutItsStore: a store that cannot list makes Start fail
// and say what it was loading.
func TestBootFailsWithoutItsStore(t *testing.T) {
	f := newFixture(t)
	if err := f.st.Close(); err != nil {
		t.Fatal(err)
	}
	err := f.svc.Start(context.Background())
	if err == nil || !strings.HasPrefix(err.Error(), "loading alarms: ") {
		t.Fatalf("Start on a closed store: %v", err)
	}
	_, err = f.svc.CreateAlarm(context.Background(), "", alarmSpec(t, "news-slow", 0.9))
	if err == nil {
		t.Fatal("an alarm was created without its store")
	}
	if list := f.alarms.List(); len(list) != 0 {
		t.Fatalf("an alarm that could not be stored is evaluated: %+v", list)
	}
}
