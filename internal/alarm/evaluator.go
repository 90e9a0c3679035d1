// Package alarm evaluates Sluice's threshold alarms over the metrics
// history with CloudWatch's semantics: a statistic per period, M of the
// last N periods breaching, and a choice of how periods without data count.
// Each transition is recorded, published as an alarm.state_changed event
// and runs the actions of the new state.
//
// Operators silence an alarm (its actions do not run until the silence
// ends; it is still evaluated) and acknowledge one in ALARM (it does not
// notify again until it leaves ALARM). Both are recorded in its history
// with who did it and why, and published as events.
//
// Counters (the _total metrics) are evaluated as per-second rates, so a
// threshold on sluice_encoder_restarts_total is in restarts per second.
package alarm

import (
	"context"
	"github.com/sluice-video/sluice/internal/lifecycle"
	"log/slog"
	"maps"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/sluice-video/sluice/internal/event"
	"github.com/sluice-video/sluice/internal/metrics"
	"github.com/sluice-video/sluice/internal/resource"
)

// DataSource answers metric queries; *metrics.Metrics is one.
type DataSource interface {
	Query(q metrics.Query) (metrics.Result, error)
}

// Store persists alarm transitions.
type Store interface {
	// SaveAlarmChange records an alarm's status after a change (its
	// state, reason and time of change, silence and acknowledgement) and
	// appends the change to its history.
	SaveAlarmChange(ctx context.Context, a resource.Alarm, ch resource.AlarmChange) error
	// AlarmHistory returns an alarm's changes, newest first, at most limit.
	AlarmHistory(ctx context.Context, id string, limit int) ([]resource.AlarmChange, error)
}

// Runner runs the actions of a transition; it is the same interface event
// rules use, and *event.Actions implements it.
type Runner = event.Runner

// Config configures an Evaluator.
type Config struct {
	Metrics DataSource
	// Store is optional; without it the history lives in memory only.
	Store Store
	// Actions is optional; without it transitions run no actions.
	Actions Runner
	// Publish is optional; it receives an alarm.state_changed event for
	// every transition.
	Publish func(resource.Event)
	Now     func() time.Time
	// Interval is how often Run evaluates (default 10 s).
	Interval time.Duration
	// Delay is how long after each multiple of Interval Run evaluates, so
	// that the sample taken at the boundary is in (default 2 s).
	Delay time.Duration
	// ActionTimeout bounds each action (default 10 s).
	ActionTimeout time.Duration
	// HistoryLimit is how many changes per alarm the memory keeps
	// (default 100).
	HistoryLimit int
	Logger       *slog.Logger
}

// Evaluator holds the alarms and evaluates them.
type Evaluator struct {
	cfg    Config
	logger *slog.Logger
	loop   lifecycle.Loop

	// evalMu lets one evaluation, or one silence or acknowledgement, run
	// at a time, so that what each saves is in the order it happened.
	evalMu sync.Mutex

	mu      sync.Mutex
	alarms  map[string]*entry // by id
	version uint64
}

type entry struct {
	alarm   resource.Alarm
	version uint64 // changes when Set replaces the alarm
	history []resource.AlarmChange
	// notified is when the alarm actions of its stay in ALARM last ran;
	// zero while the alarm is in ALARM and they have not run (it went
	// there silenced), so they run once it is no longer silenced.
	notified time.Time
}

// New returns an evaluator without alarms.
func New(cfg Config) *Evaluator {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Interval <= 0 {
		cfg.Interval = 10 * time.Second
	}
	if cfg.Delay < 0 || cfg.Delay >= cfg.Interval {
		cfg.Delay = 0
	} else if cfg.Delay == 0 {
		cfg.Delay = min(2*time.Second, cfg.Interval/2)
	}
	if cfg.ActionTimeout <= 0 {
		cfg.ActionTimeout = 10 * time.Second
	}
	if cfg.HistoryLimit <= 0 {
		cfg.HistoryLimit = 100
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Evaluator{cfg: cfg, logger: cfg.Logger, alarms: map[string]*entry{}}
}

// Set adds or replaces an alarm. A new alarm without a state starts in
// INSUFFICIENT_DATA; a replaced one keeps its state until the next
// evaluation unless a state is given (as when loading stored alarms). A
// replaced alarm keeps its silence and acknowledgement, which only the
// evaluator changes; a loaded one takes those it was stored with.
func (e *Evaluator) Set(a resource.Alarm) error {
	if err := a.Validate(); err != nil {
		return err
	}
	if a.ID == "" {
		var errs resource.FieldErrors
		errs.Add("id", "is required")
		return errs
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	a.Labels = maps.Clone(a.Labels)
	old := e.alarms[a.ID]
	if a.State == "" {
		if old != nil {
			a.State, a.StateReason, a.StateChangedAt = old.alarm.State, old.alarm.StateReason, old.alarm.StateChangedAt
		} else {
			a.State, a.StateReason, a.StateChangedAt = resource.AlarmInsufficientData, "Unchecked: initial alarm creation", e.cfg.Now()
		}
	}
	e.version++
	en := &entry{alarm: a, version: e.version}
	if old != nil {
		en.history, en.notified = old.history, old.notified
		en.alarm.Silence, en.alarm.Acknowledgement = old.alarm.Silence, old.alarm.Acknowledgement
	} else {
		if a.State != resource.AlarmAlarm {
			en.alarm.Acknowledgement = nil
		}
		// An alarm loaded in ALARM notified when it went there, unless it
		// was silenced then.
		if a.State == resource.AlarmAlarm && !silencedAt(a.Silence, a.StateChangedAt) {
			en.notified = a.StateChangedAt
		}
	}
	e.alarms[a.ID] = en
	return nil
}

// silencedAt reports whether a silence (ended or not) covered t.
func silencedAt(s *resource.AlarmSilence, t time.Time) bool {
	return s != nil && !t.Before(s.At) && t.Before(s.Until)
}

// Remove forgets an alarm.
func (e *Evaluator) Remove(id string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.alarms, id)
}

// Get returns an alarm by id or name. A silence that has ended is not
// shown, though the next evaluation records its end.
func (e *Evaluator) Get(ref string) (resource.Alarm, error) {
	now := e.cfg.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	if en := e.find(ref); en != nil {
		return view(en.alarm, now), nil
	}
	return resource.Alarm{}, resource.NotFound("alarm", ref)
}

// find is the entry of an alarm by id or name; e.mu is held.
func (e *Evaluator) find(ref string) *entry {
	if en, ok := e.alarms[ref]; ok {
		return en
	}
	for _, en := range e.alarms {
		if en.alarm.Name == ref {
			return en
		}
	}
	return nil
}

// view is an alarm as it is at now.
func view(a resource.Alarm, now time.Time) resource.Alarm {
	if !a.Silence.Active(now) {
		a.Silence = nil
	}
	return a
}

// List returns every alarm, by name.
func (e *Evaluator) List() []resource.Alarm {
	now := e.cfg.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]resource.Alarm, 0, len(e.alarms))
	for _, en := range e.alarms {
		out = append(out, view(en.alarm, now))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// History returns an alarm's transitions, newest first, at most limit (all
// when limit <= 0). It reads the Store when there is one.
func (e *Evaluator) History(ctx context.Context, ref string, limit int) ([]resource.AlarmChange, error) {
	a, err := e.Get(ref)
	if err != nil {
		return nil, err
	}
	if e.cfg.Store != nil {
		return e.cfg.Store.AlarmHistory(ctx, a.ID, limit)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	en := e.alarms[a.ID]
	if en == nil {
		return nil, resource.NotFound("alarm", ref)
	}
	h := slices.Clone(en.history)
	slices.Reverse(h)
	if limit > 0 && len(h) > limit {
		h = h[:limit]
	}
	return h, nil
}

// Start evaluates every alarm shortly after each multiple of Interval,
// from now until Close.
func (e *Evaluator) Start(ctx context.Context) error {
	e.loop.Go(ctx, e.run)
	return nil
}

// Close stops the evaluations and waits for the one in progress.
func (e *Evaluator) Close(ctx context.Context) error { return e.loop.Stop(ctx) }

func (e *Evaluator) run(ctx context.Context) {
	for {
		now := e.cfg.Now()
		next := now.Add(-e.cfg.Delay).Truncate(e.cfg.Interval).Add(e.cfg.Interval + e.cfg.Delay)
		t := time.NewTimer(next.Sub(now))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		e.Evaluate(e.cfg.Now())
	}
}
