package alarm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/event"
	"github.com/sluice-video/sluice/internal/metrics"
	"github.com/sluice-video/sluice/internal/resource"
)

// t0 is a boundary of every period the tests use.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// periodSource answers queries from one value per period (by index from
// t0); a period without an entry has no data.
type periodSource struct {
	mu     sync.Mutex
	values map[int]float64
}

func (p *periodSource) set(i int, v float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.values[i] = v
}

func (p *periodSource) Query(q metrics.Query) (metrics.Result, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := metrics.SeriesResult{Labels: q.Labels}
	for t := q.From; t.Before(q.To); t = t.Add(q.Period) {
		i := int(t.Sub(t0) / q.Period)
		if v, ok := p.values[i]; ok && !t.Before(t0) {
			s.Points = append(s.Points, metrics.Point{Time: t, Value: v, Samples: 6})
		}
	}
	return metrics.Result{Name: q.Name, Series: []metrics.SeriesResult{s}}, nil
}

// memStore keeps alarm changes in memory.
type memStore struct {
	mu      sync.Mutex
	changes map[string][]resource.AlarmChange
}

func (m *memStore) SaveAlarmChange(_ context.Context, a resource.Alarm, ch resource.AlarmChange) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.changes[a.ID] = append(m.changes[a.ID], ch)
	return nil
}

func (m *memStore) AlarmHistory(_ context.Context, id string, limit int) ([]resource.AlarmChange, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	h := slices.Clone(m.changes[id])
	slices.Reverse(h)
	if limit > 0 && len(h) > limit {
		h = h[:limit]
	}
	return h, nil
}

// recorder is a Runner that records what it was asked to run.
type recorder struct {
	mu  sync.Mutex
	ran []string
}

func (r *recorder) Run(_ context.Context, a resource.Action, e resource.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ran = append(r.ran, a.Type+" "+event.ChannelOf(a, e)+" "+e.Detail["to"])
	return nil
}

func speedAlarm(missing resource.MissingData, m int) resource.Alarm {
	return resource.Alarm{ID: "a1", AlarmSpec: resource.AlarmSpec{
		Name: "news-slow", Metric: "sluice_encoder_speed_ratio", Labels: map[string]string{"channel": "news"},
		Statistic: "avg", PeriodSeconds: 60, EvaluationPeriods: 3, DatapointsToAlarm: m,
		Threshold: 10, Comparison: resource.GreaterThan, TreatMissingData: missing,
	}}
}

// TestTransitionsAfterExactlyTheConfiguredPeriods runs a timeline through
// every missing-data treatment: periods 0-4 fine, 5-9 breaching, 10-15
// without data, 16 on fine again. The alarm is evaluated 2 s after the end
// of each period.
func TestTransitionsAfterExactlyTheConfiguredPeriods(t *testing.T) {
	// One letter per evaluation after periods 0..19: O(K), A(LARM), I(NSUFFICIENT_DATA).
	tests := []struct {
		missing resource.MissingData
		m       int
		want    string
	}{
		{resource.MissingMissing, 3, "OOOOOOOAAAAAIIIIOOOO"},
		{resource.MissingIgnore, 3, "IIOOOOOAAAAAAAAAAAOO"},
		{resource.MissingBreaching, 3, "OOOOOOOAAAAAAAAAOOOO"},
		{resource.MissingNotBreaching, 3, "OOOOOOOAAAOOOOOOOOOO"},
		{resource.MissingMissing, 2, "OOOOOOAAAAAAIIIIOOOO"},
		{resource.MissingIgnore, 2, "IOOOOOAAAAAAAAAAAOOO"},
		{resource.MissingBreaching, 2, "AOOOOOAAAAAAAAAAAOOO"},
		{resource.MissingNotBreaching, 2, "OOOOOOAAAAAOOOOOOOOO"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%d-of-3", tt.missing, tt.m), func(t *testing.T) {
			src := &periodSource{values: map[int]float64{}}
			for i := range 20 {
				switch {
				case i < 5 || i >= 16:
					src.set(i, 1)
				case i < 10:
					src.set(i, 20)
				}
			}
			e := New(Config{Metrics: src, Now: func() time.Time { return t0 }})
			if err := e.Set(speedAlarm(tt.missing, tt.m)); err != nil {
				t.Fatal(err)
			}
			var got strings.Builder
			for k := 1; k <= 20; k++ {
				e.Evaluate(t0.Add(time.Duration(k)*time.Minute + 2*time.Second))
				a, err := e.Get("a1")
				if err != nil {
					t.Fatal(err)
				}
				got.WriteByte(string(a.State)[0])
			}
			if got.String() != tt.want {
				t.Fatalf("states %s, want %s", got.String(), tt.want)
			}
			// Every change of letter is one recorded transition, at the
			// evaluation time.
			hist, err := e.History(context.Background(), "news-slow", 0)
			if err != nil {
				t.Fatal(err)
			}
			changes := 0
			prev := byte('I')
			for k := range len(tt.want) {
				if tt.want[k] != prev {
					changes++
					at := t0.Add(time.Duration(k+1)*time.Minute + 2*time.Second)
					if !slices.ContainsFunc(hist, func(c resource.AlarmChange) bool { return c.At.Equal(at) }) {
						t.Errorf("no transition recorded at %v", at)
					}
				}
				prev = tt.want[k]
			}
			if len(hist) != changes {
				t.Fatalf("%d transitions recorded, want %d: %+v", len(hist), changes, hist)
			}
		})
	}
}

func TestTransitionSideEffects(t *testing.T) {
	src := &periodSource{values: map[int]float64{0: 0.81, 1: 0.79, 2: 0.83, 3: 1, 4: 1, 5: 1}}
	store := &memStore{changes: map[string][]resource.AlarmChange{}}
	run := &recorder{}
	bus := event.NewBus(event.BusConfig{})
	e := New(Config{Metrics: src, Store: store, Actions: run, Publish: func(ev resource.Event) { bus.Publish(ev) }})
	a := resource.Alarm{ID: "a1", AlarmSpec: resource.AlarmSpec{
		Name: "news-slow", Metric: "sluice_encoder_speed_ratio", Labels: map[string]string{"channel": "news"},
		Statistic: "avg", PeriodSeconds: 60, EvaluationPeriods: 3, Threshold: 0.95, Comparison: resource.LessThan,
		AlarmActions: []resource.Action{
			{Type: resource.ActionWebhook, URL: "http://hooks.example/alarm"},
			{Type: resource.ActionRestartChannel},
		},
		OKActions:               []resource.Action{{Type: resource.ActionStartChannel, Channel: "backup"}},
		InsufficientDataActions: []resource.Action{{Type: resource.ActionStopChannel}},
	}}
	if err := e.Set(a); err != nil {
		t.Fatal(err)
	}
	e.Evaluate(t0.Add(3*time.Minute + 2*time.Second))
	e.Evaluate(t0.Add(6*time.Minute + 2*time.Second))
	e.Evaluate(t0.Add(20 * time.Minute))

	const reason = "Threshold crossed: 3 of the last 3 datapoints [0.81, 0.79, 0.83] were less than the threshold 0.95"
	hist, err := e.History(context.Background(), "a1", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 3 || hist[2].To != resource.AlarmAlarm || hist[2].From != resource.AlarmInsufficientData || hist[2].Reason != reason ||
		hist[1].To != resource.AlarmOK || hist[0].To != resource.AlarmInsufficientData {
		t.Fatalf("history (newest first) %+v", hist)
	}
	if !hist[2].At.Equal(t0.Add(3*time.Minute + 2*time.Second)) {
		t.Fatalf("ALARM at %v", hist[2].At)
	}
	want := []string{
		"WEBHOOK news ALARM", "RESTART_CHANNEL news ALARM",
		"START_CHANNEL backup OK",
		"STOP_CHANNEL news INSUFFICIENT_DATA",
	}
	if !slices.Equal(run.ran, want) {
		t.Fatalf("actions %q, want %q", run.ran, want)
	}
	evs := bus.History(0, 10, resource.EventAlarmStateChanged)
	if len(evs) != 3 {
		t.Fatalf("%d events", len(evs))
	}
	ev := evs[0]
	if ev.Resource != "alarm/news-slow" || ev.Detail["channel"] != "news" || ev.Detail["from"] != "INSUFFICIENT_DATA" ||
		ev.Detail["to"] != "ALARM" || ev.Detail["alarm"] != "news-slow" || ev.Detail["alarmId"] != "a1" ||
		!strings.Contains(ev.Message, reason) {
		t.Fatalf("event %+v", ev)
	}
	got, err := e.Get("news-slow")
	if err != nil {
		t.Fatal(err)
	}
	if got.State != resource.AlarmInsufficientData || !got.StateChangedAt.Equal(t0.Add(20*time.Minute)) {
		t.Fatalf("alarm %+v", got)
	}
}

func TestSetKeepsStateAndRemove(t *testing.T) {
	src := &periodSource{values: map[int]float64{0: 20, 1: 20, 2: 20}}
	e := New(Config{Metrics: src, Now: func() time.Time { return t0 }})
	a := speedAlarm("", 0)
	if err := e.Set(a); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.Get("a1"); got.State != resource.AlarmInsufficientData || got.StateReason == "" || !got.StateChangedAt.Equal(t0) {
		t.Fatalf("new alarm %+v", got)
	}
	e.Evaluate(t0.Add(3 * time.Minute))
	a.Threshold = 15
	if err := e.Set(a); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.Get("a1"); got.State != resource.AlarmAlarm || got.Threshold != 15 {
		t.Fatalf("replaced alarm %+v", got)
	}
	// A stored state given to Set is kept.
	a.State, a.StateReason = resource.AlarmOK, "from the store"
	if err := e.Set(a); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.Get("a1"); got.State != resource.AlarmOK || got.StateReason != "from the store" {
		t.Fatalf("loaded alarm %+v", got)
	}
	bad := a
	bad.Statistic = "median"
	if err := e.Set(bad); !errors.Is(err, resource.ErrInvalid) || !strings.Contains(err.Error(), "statistic") {
		t.Fatalf("invalid alarm: %v", err)
	}
	if n := len(e.List()); n != 1 {
		t.Fatalf("%d alarms", n)
	}
	e.Remove("a1")
	if _, err := e.Get("a1"); !errors.Is(err, resource.ErrNotFound) {
		t.Fatalf("removed alarm: %v", err)
	}
	e.Evaluate(t0.Add(10 * time.Minute)) // nothing to do
}

// TestStatisticsOverTheMetricsHistory evaluates every statistic over real
// samples of the metrics history: per minute the gauge reads 1, 2, 3, 4,
// 10, 10 (avg 5, min 1, max 10, sum 30, count 6, p90 10).
func TestStatisticsOverTheMetricsHistory(t *testing.T) {
	m := metrics.New(metrics.Config{Now: func() time.Time { return t0.Add(time.Hour) }})
	m.ChannelState("news", resource.StateRunning)
	m.ChannelState("sports", resource.StateRunning)
	for p := range 3 {
		for i, v := range []float64{1, 2, 3, 4, 10, 10} {
			m.EncoderProgress("news", v, 30, 0)
			m.EncoderProgress("sports", 1, 30, 0)
			m.SampleNow(t0.Add(time.Duration(p)*time.Minute + time.Duration(i)*10*time.Second))
		}
	}
	now := t0.Add(3*time.Minute + 2*time.Second)
	stats := map[string]float64{"avg": 5, "min": 1, "max": 10, "sum": 30, "count": 6, "p90": 10}
	for _, stat := range resource.Statistics {
		want := stats[stat]
		for _, tt := range []struct {
			cmp       string
			threshold float64
			state     resource.AlarmState
		}{
			{resource.GreaterThan, want - 0.5, resource.AlarmAlarm},
			{resource.GreaterThan, want, resource.AlarmOK},
			{resource.GreaterThanOrEqual, want, resource.AlarmAlarm},
			{resource.LessThan, want + 0.5, resource.AlarmAlarm},
			{resource.LessThan, want, resource.AlarmOK},
			{resource.LessThanOrEqual, want, resource.AlarmAlarm},
		} {
			e := New(Config{Metrics: m})
			a := speedAlarm("", 0)
			a.Statistic, a.Comparison, a.Threshold = stat, tt.cmp, tt.threshold
			if err := e.Set(a); err != nil {
				t.Fatal(err)
			}
			e.Evaluate(now)
			got, _ := e.Get("a1")
			if got.State != tt.state {
				t.Errorf("%s %s %v: %s (%s)", stat, tt.cmp, tt.threshold, got.State, got.StateReason)
			}
		}
	}
	// Without the channel label both series match: each period's datapoint
	// is the worst of them.
	e := New(Config{Metrics: m})
	a := speedAlarm("", 0)
	a.Labels, a.Statistic, a.Comparison, a.Threshold = nil, "min", resource.LessThan, 1.5
	if err := e.Set(a); err != nil {
		t.Fatal(err)
	}
	e.Evaluate(now)
	if got, _ := e.Get("a1"); got.State != resource.AlarmAlarm || !strings.Contains(got.StateReason, "[1, 1, 1]") {
		t.Fatalf("worst of two series: %s (%s)", got.State, got.StateReason)
	}
}

// TestCountersAlarmOnRates alarms on encoder restarts per second.
func TestCountersAlarmOnRates(t *testing.T) {
	m := metrics.New(metrics.Config{})
	m.ChannelState("news", resource.StateRunning)
	for i := -1; i < 18; i++ {
		if i >= 0 && i%2 == 0 {
			m.EncoderRestarted("news") // one restart every 20 s
		}
		m.SampleNow(t0.Add(time.Duration(i) * 10 * time.Second))
	}
	e := New(Config{Metrics: m})
	a := speedAlarm("", 0)
	a.Metric, a.Statistic, a.Comparison, a.Threshold = "sluice_encoder_restarts_total", "avg", resource.GreaterThanOrEqual, 0.05
	if err := e.Set(a); err != nil {
		t.Fatal(err)
	}
	e.Evaluate(t0.Add(3*time.Minute + 2*time.Second))
	if got, _ := e.Get("a1"); got.State != resource.AlarmAlarm || !strings.Contains(got.StateReason, "0.05") {
		t.Fatalf("%s (%s)", got.State, got.StateReason)
	}
}

func TestCloseStopsTheEvaluations(t *testing.T) {
	e := New(Config{Metrics: &periodSource{values: map[int]float64{}}, Interval: 10 * time.Millisecond})
	if err := e.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.Close(ctx); err != nil {
		t.Fatalf("the evaluations did not stop at Close: %v", err)
	}
}

var _ DataSource = (*metrics.Metrics)(nil)

// TestAlarmWebhookReachesAReceiver runs an alarm's webhook action through
// the event package's Actions to a receiver on loopback.
func TestAlarmWebhookReachesAReceiver(t *testing.T) {
	type delivery struct {
		sig  string
		body []byte
	}
	got := make(chan delivery, 4)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got <- delivery{r.Header.Get(event.SignatureHeader), body}
	}))
	defer recv.Close()
	d := event.NewDeliverer(event.WebhookConfig{})
	defer d.Close(context.Background())
	bus := event.NewBus(event.BusConfig{})
	src := &periodSource{values: map[int]float64{0: 20, 1: 20, 2: 20}}
	e := New(Config{Metrics: src, Actions: &event.Actions{Webhooks: d}, Publish: func(ev resource.Event) { bus.Publish(ev) }})
	a := speedAlarm("", 0)
	a.AlarmActions = []resource.Action{{Type: resource.ActionWebhook, URL: recv.URL, Secret: "k"}}
	if err := e.Set(a); err != nil {
		t.Fatal(err)
	}
	e.Evaluate(t0.Add(3*time.Minute + 2*time.Second))
	select {
	case dl := <-got:
		if err := event.Verify("k", dl.sig, dl.body, time.Now(), 0); err != nil {
			t.Fatal(err)
		}
		var ev resource.Event
		if err := json.Unmarshal(dl.body, &ev); err != nil || ev.Type != resource.EventAlarmStateChanged || ev.Detail["to"] != "ALARM" {
			t.Fatalf("webhook body %s (%v)", dl.body, err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no webhook")
	}
}
