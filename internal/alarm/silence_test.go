package alarm

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/event"
	"github.com/sluice-video/sluice/internal/resource"
)

// actionLog records each action run with the type of the event it ran for.
type actionLog struct {
	mu  sync.Mutex
	ran []string
}

func (l *actionLog) Run(_ context.Context, a resource.Action, e resource.Event) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ran = append(l.ran, a.Type+" "+e.Type)
	return nil
}

// take returns what ran since the last take.
func (l *actionLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	ran := l.ran
	l.ran = nil
	return ran
}

// testClock is a settable clock.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// silenceFixture is an evaluator with one alarm on the news channel's
// encoder speed (period 60 s, one period), a store, actions and a bus.
type silenceFixture struct {
	e     *Evaluator
	src   *periodSource
	store *memStore
	log   *actionLog
	bus   *event.Bus
	clock *testClock
}

func newSilenceFixture(t *testing.T, renotify int, values map[int]float64) *silenceFixture {
	t.Helper()
	f := &silenceFixture{
		src: &periodSource{values: values}, store: &memStore{changes: map[string][]resource.AlarmChange{}},
		log: &actionLog{}, bus: event.NewBus(event.BusConfig{}), clock: &testClock{now: t0},
	}
	f.e = New(Config{Metrics: f.src, Store: f.store, Actions: f.log, Now: f.clock.Now, Publish: func(ev resource.Event) { f.bus.Publish(ev) }})
	a := resource.Alarm{ID: "a1", AlarmSpec: resource.AlarmSpec{
		Name: "news-slow", Metric: "sluice_encoder_speed_ratio", Labels: map[string]string{"channel": "news"},
		Statistic: "avg", PeriodSeconds: 60, EvaluationPeriods: 1, Threshold: 0.95, Comparison: resource.LessThan,
		RenotifySeconds: renotify,
		AlarmActions:    []resource.Action{{Type: resource.ActionWebhook, URL: "http://hooks.example/alarm"}},
		OKActions:       []resource.Action{{Type: resource.ActionStartChannel, Channel: "backup"}},
	}}
	if err := f.e.Set(a); err != nil {
		t.Fatal(err)
	}
	return f
}

// at evaluates 2 s after the end of period n (from t0), as Run does.
func (f *silenceFixture) at(n int) {
	now := t0.Add(time.Duration(n)*time.Minute + 2*time.Second)
	f.clock.set(now)
	f.e.Evaluate(now)
}

func (f *silenceFixture) history(t *testing.T) []string {
	t.Helper()
	h, err := f.e.History(context.Background(), "news-slow", 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for i := len(h) - 1; i >= 0; i-- {
		c := h[i]
		out = append(out, c.At.Sub(t0).String()+" "+c.Type+" "+string(c.From)+">"+string(c.To)+" "+c.By+" "+c.Comment)
	}
	return out
}

func wantRan(t *testing.T, when string, got []string, want ...string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s: actions %q, want %q", when, got, want)
	}
}

// TestSilencedAlarmIsEvaluatedButRunsNoAction: a silenced alarm goes to
// ALARM, keeps its history and publishes its event (marked silenced), but
// runs no action; the rules engine skips that event too. When the silence
// ends at its time, the end is recorded at that time and, the alarm being
// still in ALARM where it went while silenced, its alarm actions run once
// with an alarm.reminder event.
func TestSilencedAlarmIsEvaluatedButRunsNoAction(t *testing.T) {
	f := newSilenceFixture(t, 0, map[int]float64{0: 0.5, 1: 0.5, 2: 0.5, 3: 0.5, 4: 0.5, 5: 0.5, 6: 1})
	ctx := context.Background()
	got, err := f.e.Silence(ctx, "news-slow", resource.AlarmSilence{Until: t0.Add(5 * time.Minute), By: "alice", At: t0, Comment: "encoder maintenance"})
	if err != nil || !got.Silence.Active(t0) || got.Silence.By != "alice" {
		t.Fatalf("silenced: %+v %v", got.Silence, err)
	}
	f.at(1)
	wantRan(t, "going to ALARM while silenced", f.log.take())
	if a, _ := f.e.Get("news-slow"); a.State != resource.AlarmAlarm || a.Silence == nil {
		t.Fatalf("the silenced alarm is %s (silence %+v), want ALARM and silenced", a.State, a.Silence)
	}
	changed := f.bus.History(0, 10, resource.EventAlarmStateChanged)
	if len(changed) != 1 || !changed[0].Silenced() || changed[0].Detail["silencedUntil"] != "2026-03-01T12:05:00Z" || !strings.Contains(changed[0].Message, "silenced until") {
		t.Fatalf("the silenced transition's event: %+v", changed)
	}
	// Rules do not act on it either.
	rulesRan := &actionLog{}
	rules := event.NewRules(event.RulesConfig{Bus: f.bus, Runner: rulesRan})
	if err := rules.Set(resource.Rule{ID: "r1", RuleSpec: resource.RuleSpec{Name: "page", Event: "alarm.*", Actions: []resource.Action{{Type: resource.ActionWebhook, URL: "http://hooks.example/rule"}}}}); err != nil {
		t.Fatal(err)
	}
	rules.Handle(ctx, changed[0])
	wantRan(t, "rules on the silenced transition", rulesRan.take())

	f.at(2)
	f.at(4)
	wantRan(t, "staying in ALARM while silenced", f.log.take())
	f.at(5) // the silence ended at 5m
	wantRan(t, "the silence's end", f.log.take(), "WEBHOOK alarm.reminder")
	if a, _ := f.e.Get("news-slow"); a.Silence != nil {
		t.Fatalf("the silence outlived its time: %+v", a.Silence)
	}
	f.at(6)
	wantRan(t, "staying in ALARM after the reminder", f.log.take())
	f.at(7)
	wantRan(t, "back to OK", f.log.take(), "START_CHANNEL alarm.state_changed")

	want := []string{
		"0s SILENCED INSUFFICIENT_DATA>INSUFFICIENT_DATA alice encoder maintenance",
		"1m2s STATE_CHANGED INSUFFICIENT_DATA>ALARM  ",
		"5m0s UNSILENCED ALARM>ALARM  ",
		"7m2s STATE_CHANGED ALARM>OK  ",
	}
	if h := f.history(t); !slices.Equal(h, want) {
		t.Errorf("history:\n%s\nwant\n%s", strings.Join(h, "\n"), strings.Join(want, "\n"))
	}
	types := []string{}
	for _, ev := range f.bus.History(0, 20, "") {
		types = append(types, ev.Type)
	}
	if !slices.Equal(types, []string{"alarm.silenced", "alarm.state_changed", "alarm.unsilenced", "alarm.reminder", "alarm.state_changed"}) {
		t.Errorf("events %q", types)
	}
}

// TestAcknowledgedAlarmDoesNotRenotify: an alarm with renotifySeconds runs
// its alarm actions again while it stays in ALARM, until someone
// acknowledges it; the acknowledgement ends when the alarm leaves ALARM,
// and the next ALARM notifies again.
func TestAcknowledgedAlarmDoesNotRenotify(t *testing.T) {
	f := newSilenceFixture(t, 120, map[int]float64{0: 0.5, 1: 0.5, 2: 0.5, 3: 0.5, 4: 0.5, 5: 0.5, 6: 1, 7: 0.5})
	ctx := context.Background()
	_, err := f.e.Acknowledge(ctx, "news-slow", resource.AlarmAcknowledgement{By: "bob", At: t0})
	if !errors.Is(err, resource.ErrConflict) || !strings.Contains(err.Error(), "only an alarm in ALARM can be acknowledged") {
		t.Fatalf("acknowledging an alarm not in ALARM: %v", err)
	}
	f.at(1)
	wantRan(t, "going to ALARM", f.log.take(), "WEBHOOK alarm.state_changed")
	f.at(2)
	wantRan(t, "before renotifySeconds", f.log.take())
	f.at(3)
	wantRan(t, "after renotifySeconds", f.log.take(), "WEBHOOK alarm.reminder")

	ackAt := t0.Add(3*time.Minute + 30*time.Second)
	got, err := f.e.Acknowledge(ctx, "a1", resource.AlarmAcknowledgement{By: "bob", At: ackAt, Comment: "on it"})
	if err != nil || got.Acknowledgement == nil || got.Acknowledgement.By != "bob" {
		t.Fatalf("acknowledged: %+v %v", got, err)
	}
	f.at(5)
	f.at(6)
	wantRan(t, "acknowledged in ALARM", f.log.take())
	f.at(7)
	wantRan(t, "back to OK", f.log.take(), "START_CHANNEL alarm.state_changed")
	if a, _ := f.e.Get("news-slow"); a.Acknowledgement != nil {
		t.Fatalf("the acknowledgement outlived the ALARM: %+v", a.Acknowledgement)
	}
	f.at(8)
	wantRan(t, "in ALARM again", f.log.take(), "WEBHOOK alarm.state_changed")

	want := []string{
		"1m2s STATE_CHANGED INSUFFICIENT_DATA>ALARM  ",
		"3m30s ACKNOWLEDGED ALARM>ALARM bob on it",
		"7m2s STATE_CHANGED ALARM>OK  ",
		"8m2s STATE_CHANGED OK>ALARM  ",
	}
	if h := f.history(t); !slices.Equal(h, want) {
		t.Errorf("history:\n%s\nwant\n%s", strings.Join(h, "\n"), strings.Join(want, "\n"))
	}
	acks := f.bus.History(0, 10, resource.EventAlarmAcknowledged)
	if len(acks) != 1 || acks[0].Detail["by"] != "bob" || acks[0].Detail["comment"] != "on it" || acks[0].Detail["channel"] != "news" || acks[0].Resource != "alarm/news-slow" {
		t.Errorf("the acknowledgement's event: %+v", acks)
	}
}

// TestSilenceByHandAndItsRefusals: ending a silence by hand is recorded
// with who did it; an alarm that is not silenced cannot be unsilenced; an
// unknown alarm is not found; replacing an alarm's spec keeps its silence
// and acknowledgement.
func TestSilenceByHandAndItsRefusals(t *testing.T) {
	slow := map[int]float64{}
	for i := range 12 {
		slow[i] = 0.5
	}
	f := newSilenceFixture(t, 0, slow)
	ctx := context.Background()
	if _, err := f.e.Unsilence(ctx, "news-slow", "carol", ""); !errors.Is(err, resource.ErrConflict) {
		t.Errorf("unsilencing an alarm that is not silenced: %v", err)
	}
	if _, err := f.e.Silence(ctx, "nothing", resource.AlarmSilence{Until: t0.Add(time.Hour), At: t0}); !errors.Is(err, resource.ErrNotFound) {
		t.Errorf("silencing an unknown alarm: %v", err)
	}
	if _, err := f.e.Silence(ctx, "news-slow", resource.AlarmSilence{Until: t0, At: t0}); !errors.Is(err, resource.ErrInvalid) {
		t.Errorf("a silence that ends as it starts: %v", err)
	}
	if _, err := f.e.Silence(ctx, "news-slow", resource.AlarmSilence{Until: t0.Add(time.Hour), By: "alice", At: t0}); err != nil {
		t.Fatal(err)
	}
	f.at(1)
	if _, err := f.e.Acknowledge(ctx, "news-slow", resource.AlarmAcknowledgement{By: "bob", At: f.clock.Now()}); err != nil {
		t.Fatal(err)
	}
	// A new spec (as an update through the API) keeps both.
	a, _ := f.e.Get("a1")
	a.Threshold = 0.9
	a.Silence, a.Acknowledgement = nil, nil
	if err := f.e.Set(a); err != nil {
		t.Fatal(err)
	}
	if a, _ := f.e.Get("a1"); a.Silence == nil || a.Acknowledgement == nil || a.Threshold != 0.9 {
		t.Fatalf("after a new spec: %+v", a)
	}
	f.clock.set(t0.Add(10 * time.Minute))
	got, err := f.e.Unsilence(ctx, "news-slow", "carol", "done early")
	if err != nil || got.Silence != nil {
		t.Fatalf("unsilenced: %+v %v", got, err)
	}
	h, _ := f.e.History(ctx, "a1", 1)
	if len(h) != 1 || h[0].Type != resource.AlarmUnsilenced || h[0].By != "carol" || h[0].Comment != "done early" || !h[0].At.Equal(t0.Add(10*time.Minute)) {
		t.Errorf("the end of the silence by hand: %+v", h)
	}
	// Acknowledged: its end runs no reminder.
	f.at(11)
	wantRan(t, "the silence's end of an acknowledged alarm", f.log.take())
	ev := f.bus.History(0, 10, resource.EventAlarmUnsilenced)
	if len(ev) != 1 || ev[0].Detail["by"] != "carol" || ev[0].Detail["state"] != "ALARM" {
		t.Errorf("the unsilence event: %+v", ev)
	}
}

// TestLoadedAlarmOwesItsReminder: an alarm loaded (after a restart) in
// ALARM, where it went during a silence that ended while the server was
// down, records the end of the silence and runs its alarm actions at the
// first evaluation.
func TestLoadedAlarmOwesItsReminder(t *testing.T) {
	f := newSilenceFixture(t, 0, map[int]float64{0: 0.5, 1: 0.5, 2: 0.5})
	a, _ := f.e.Get("a1")
	f.e.Remove("a1")
	a.State, a.StateChangedAt, a.StateReason = resource.AlarmAlarm, t0.Add(62*time.Second), "stored"
	a.Silence = &resource.AlarmSilence{Until: t0.Add(90 * time.Second), By: "alice", At: t0}
	if err := f.e.Set(a); err != nil {
		t.Fatal(err)
	}
	f.at(2)
	wantRan(t, "the first evaluation after loading", f.log.take(), "WEBHOOK alarm.reminder")
	if h := f.history(t); len(h) != 1 || h[0] != "1m30s UNSILENCED ALARM>ALARM  " {
		t.Errorf("history %q", h)
	}
}

// TestNoteWordsAndEvents checks the word logged and the event published
// for each change of an alarm's silence or acknowledgement.
func TestNoteWordsAndEvents(t *testing.T) {
	for _, c := range []struct{ change, word, event string }{
		{resource.AlarmSilenced, "silenced", resource.EventAlarmSilenced},
		{resource.AlarmUnsilenced, "unsilenced", resource.EventAlarmUnsilenced},
		{resource.AlarmAcknowledged, "acknowledged", resource.EventAlarmAcknowledged},
	} {
		if w, ev := noteWord(c.change), noteEventType(c.change); w != c.word || ev != c.event {
			t.Errorf("%s: word %q, event %q; want %q, %q", c.change, w, ev, c.word, c.event)
		}
	}
}
