package automation

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/alarm"
	"github.com/sluice-video/sluice/internal/event"
	"github.com/sluice-video/sluice/internal/metrics"
	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/store"
	"github.com/sluice-video/sluice/internal/testutil/syncbuf"
)

// t0 is a boundary of the 10 s periods the alarms use.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// clock is the tests' settable clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// failingURL is a webhook the recorder fails, so a rule's last error shows.
const failingURL = "https://hooks.example/fail"

// recorder is the action runner: it records the actions alarms and rules
// run, as "TYPE URL", instead of calling webhooks.
type recorder struct {
	mu  sync.Mutex
	ran []string
}

func (r *recorder) Run(_ context.Context, a resource.Action, _ resource.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ran = append(r.ran, a.Type+" "+a.URL)
	if a.URL == failingURL {
		return errors.New("the receiver answered 500")
	}
	return nil
}

func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.ran
	r.ran = nil
	return out
}

// fixture is the service as the server wires it: a real SQLite store in a
// temporary folder, a real alarm evaluator over a real metrics history,
// and a real rules engine; only the actions are recorded, not run.
type fixture struct {
	path    string
	clock   *clock
	st      *store.Store
	metrics *metrics.Metrics
	alarms  *alarm.Evaluator
	rules   *event.Rules
	actions *recorder
	log     *syncbuf.Buffer
	svc     *Service
	// memoryHistory keeps the evaluator's transitions in memory, out of
	// the store (alarm.Config.Store is optional).
	memoryHistory bool
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{path: filepath.Join(t.TempDir(), "sluice.db"), clock: &clock{now: t0}}
	f.open(t)
	return f
}

// open opens the store and builds the evaluator, the engine and the
// service on it, as a server start does, then boots the service.
func (f *fixture) open(t *testing.T) {
	t.Helper()
	st, err := store.Open(context.Background(), f.path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	f.st = st
	f.metrics = metrics.New(metrics.Config{Now: f.clock.Now})
	f.actions = &recorder{}
	f.log = &syncbuf.Buffer{}
	logger := slog.New(slog.NewTextHandler(f.log, nil))
	f.rules = event.NewRules(event.RulesConfig{Bus: event.NewBus(event.BusConfig{}), Runner: f.actions, Now: f.clock.Now, Logger: logger})
	acfg := alarm.Config{Metrics: f.metrics, Store: st, Actions: f.actions, Now: f.clock.Now, Logger: logger}
	if f.memoryHistory {
		acfg.Store = nil
	}
	f.alarms = alarm.New(acfg)
	f.svc = New(Config{Store: st, Alarms: f.alarms, Rules: f.rules, Now: f.clock.Now, Logger: logger})
	if err := f.svc.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// restart closes the store and opens everything anew on the same file.
func (f *fixture) restart(t *testing.T) {
	t.Helper()
	if err := f.st.Close(); err != nil {
		t.Fatal(err)
	}
	f.open(t)
}

// slowEncoder makes the news channel's encoder run at speed 0.5 through the
// period from t0, and evaluates the alarms just after it.
func (f *fixture) slowEncoder() {
	f.metrics.ChannelState("news", resource.StateRunning)
	for i := range 9 {
		f.metrics.EncoderProgress("news", 0.5, 30, 0)
		f.metrics.SampleNow(t0.Add(time.Duration(i+1) * time.Second))
	}
	f.clock.set(t0.Add(12 * time.Second))
	f.alarms.Evaluate(t0.Add(12 * time.Second))
}

// alarmSpec is an alarm on the news channel's encoder speed, as the API
// and stack files spell it.
func alarmSpec(t *testing.T, name string, threshold float64) resource.AlarmSpec {
	t.Helper()
	return decode[resource.AlarmSpec](t, `{"name": "`+name+`", "metric": "sluice_encoder_speed_ratio",
		"labels": {"channel": "news"}, "statistic": "avg", "periodSeconds": 10, "evaluationPeriods": 1,
		"threshold": `+jsonNumber(threshold)+`, "comparison": "LessThanThreshold",
		"alarmActions": [{"type": "WEBHOOK", "url": "https://hooks.example/slow"}]}`)
}

// ruleSpec is a rule on one event type for the news channel.
func ruleSpec(t *testing.T, name, eventType, url string) resource.RuleSpec {
	t.Helper()
	return decode[resource.RuleSpec](t, `{"name": "`+name+`", "event": "`+eventType+`",
		"match": {"channel": "news"}, "actions": [{"type": "WEBHOOK", "url": "`+url+`"}]}`)
}

func decode[T any](t *testing.T, s string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("%v in %s", err, s)
	}
	return v
}

func jsonNumber(v float64) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// newsEvent is an event of the given type about the news channel, or
// about another when channel says so.
func newsEvent(eventType, channel string) resource.Event {
	return resource.Event{Type: eventType, Resource: "channel/" + channel, Detail: map[string]string{"channel": channel}}
}

// wantErr fails unless err is target.
func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: %v, want %v", what, err, target)
	}
}

// wantLog fails unless the service logged a line containing every part.
func (f *fixture) wantLog(t *testing.T, parts ...string) {
	t.Helper()
	for _, line := range strings.Split(f.log.String(), "\n") {
		found := true
		for _, p := range parts {
			found = found && strings.Contains(line, p)
		}
		if found {
			return
		}
	}
	t.Fatalf("no log line with %q in:\n%s", parts, f.log.String())
}

// createAlarm creates alarmSpec(name, threshold) in stack through the
// service, as the API does, and fails the test if it is refused.
func (f *fixture) createAlarm(t *testing.T, stack, name string, threshold float64) resource.Alarm {
	t.Helper()
	a, err := f.svc.CreateAlarm(context.Background(), stack, alarmSpec(t, name, threshold))
	if err != nil {
		t.Fatalf("creating alarm %s: %v", name, err)
	}
	return a
}

// createRule creates ruleSpec(name, eventType, url) in stack through the
// service, as the API does, and fails the test if it is refused.
func (f *fixture) createRule(t *testing.T, stack, name, eventType, url string) resource.Rule {
	t.Helper()
	r, err := f.svc.CreateRule(context.Background(), stack, ruleSpec(t, name, eventType, url))
	if err != nil {
		t.Fatalf("creating rule %s: %v", name, err)
	}
	return r
}
