package event

import (
	"context"
	"errors"
	"github.com/sluice-video/sluice/internal/lifecycle"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/sluice-video/sluice/internal/resource"
)

// RulesConfig configures a Rules engine.
type RulesConfig struct {
	Bus    *Bus
	Runner Runner
	// Burst and Refill limit how often one rule fires: at most Burst times
	// in a row, then once per Refill (defaults 10 and 6 s). The limit
	// breaks loops, such as a rule whose action causes the event it
	// matches.
	Burst  int
	Refill time.Duration
	// ActionTimeout bounds each action (default 10 s).
	ActionTimeout time.Duration
	Now           func() time.Time
	Logger        *slog.Logger
}

// RuleStatus says what a rule has done.
type RuleStatus struct {
	resource.Rule
	// Fired counts the events the rule acted on.
	Fired uint64 `json:"fired"`
	// Suppressed counts matching events skipped by the rate limit.
	Suppressed uint64    `json:"suppressed"`
	LastFired  time.Time `json:"lastFired,omitzero"`
	LastError  string    `json:"lastError,omitempty"`
}

// Rules runs the actions of every rule matching an event on the bus.
type Rules struct {
	cfg    RulesConfig
	logger *slog.Logger
	loop   lifecycle.Loop

	mu    sync.Mutex
	rules map[string]*ruleState // by id
}

type ruleState struct {
	status RuleStatus
	tokens float64
	filled time.Time
	warned bool // the rate limit's warning was logged since it last allowed a firing
}

// NewRules returns an engine without rules; Run feeds it from the bus.
func NewRules(cfg RulesConfig) *Rules {
	if cfg.Burst <= 0 {
		cfg.Burst = 10
	}
	if cfg.Refill <= 0 {
		cfg.Refill = 6 * time.Second
	}
	if cfg.ActionTimeout <= 0 {
		cfg.ActionTimeout = 10 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Runner == nil {
		cfg.Runner = noRunner{}
	}
	return &Rules{cfg: cfg, logger: cfg.Logger, rules: map[string]*ruleState{}}
}

// Set adds or replaces a rule; its counters survive a replacement.
func (r *Rules) Set(rule resource.Rule) error {
	if err := rule.Validate(); err != nil {
		return err
	}
	if rule.ID == "" {
		var errs resource.FieldErrors
		errs.Add("id", "is required")
		return errs
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if st := r.rules[rule.ID]; st != nil {
		st.status.Rule = rule
		return nil
	}
	r.rules[rule.ID] = &ruleState{status: RuleStatus{Rule: rule}, tokens: float64(r.cfg.Burst), filled: r.cfg.Now()}
	return nil
}

// Remove forgets a rule.
func (r *Rules) Remove(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.rules, id)
}

// Get returns a rule and its counters by id or name.
func (r *Rules) Get(ref string) (RuleStatus, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if st, ok := r.rules[ref]; ok {
		return st.status, nil
	}
	for _, st := range r.rules {
		if st.status.Name == ref {
			return st.status, nil
		}
	}
	return RuleStatus{}, resource.NotFound("rule", ref)
}

// List returns every rule with its counters, by name.
func (r *Rules) List() []RuleStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]RuleStatus, 0, len(r.rules))
	for _, st := range r.rules {
		out = append(out, st.status)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Start handles the bus's new events, from now until Close. It subscribes
// before it returns, not in its loop: an event published right after
// Start (the channel.created of a stack applied as the server starts)
// would otherwise go by before the loop had subscribed.
func (r *Rules) Start(ctx context.Context) error {
	events, sub := r.cfg.Bus.Subscribe(context.WithoutCancel(ctx), r.cfg.Bus.Last())
	r.loop.Go(ctx, func(ctx context.Context) { r.run(ctx, events, sub) })
	return nil
}

// Close stops handling events and waits for the actions in progress.
func (r *Rules) Close(ctx context.Context) error { return r.loop.Stop(ctx) }

func (r *Rules) run(ctx context.Context, events <-chan resource.Event, sub *Subscription) {
	defer sub.Close()
	stop := context.AfterFunc(ctx, sub.Close)
	defer stop()
	for e := range events {
		r.Handle(ctx, e)
	}
}

// Handle runs the actions of every rule matching the event, in the order
// of the rules' names. The state change of a silenced alarm runs none.
func (r *Rules) Handle(ctx context.Context, e resource.Event) {
	if e.Silenced() {
		r.logger.Debug("rules skip the state change of a silenced alarm", "event", e.Type, "seq", e.Seq, "resource", e.Resource)
		return
	}
	type firing struct {
		id   string
		rule resource.Rule
	}
	now := r.cfg.Now()
	var fire []firing
	r.mu.Lock()
	for id, st := range r.rules {
		if !st.status.Matches(e) {
			continue
		}
		if !st.take(now, r.cfg.Burst, r.cfg.Refill) {
			st.status.Suppressed++
			if !st.warned {
				st.warned = true
				r.logger.Warn("rule fires too often; skipping events until its rate limit allows", "rule", st.status.Name, "event", e.Type, "seq", e.Seq)
			}
			continue
		}
		st.warned = false
		st.status.Fired++
		st.status.LastFired = now
		fire = append(fire, firing{id, st.status.Rule})
	}
	r.mu.Unlock()
	sort.Slice(fire, func(i, j int) bool { return fire[i].rule.Name < fire[j].rule.Name })
	for _, f := range fire {
		errText := ""
		for _, act := range f.rule.Actions {
			actx, cancel := context.WithTimeout(ctx, r.cfg.ActionTimeout)
			err := r.cfg.Runner.Run(actx, act, e)
			cancel()
			if err != nil {
				errText = err.Error()
				r.logger.Warn("rule action failed", "rule", f.rule.Name, "action", act.Type, "event", e.Type, "seq", e.Seq, "error", err)
			}
		}
		r.mu.Lock()
		if st := r.rules[f.id]; st != nil {
			st.status.LastError = errText
		}
		r.mu.Unlock()
	}
}

// take spends a token of the rule's rate limit, refilled one per refill up
// to burst.
func (st *ruleState) take(now time.Time, burst int, refill time.Duration) bool {
	if el := now.Sub(st.filled); el > 0 {
		st.tokens = min(float64(burst), st.tokens+float64(el)/float64(refill))
		st.filled = now
	}
	if st.tokens < 1 {
		return false
	}
	st.tokens--
	return true
}

// noRunner refuses every action, for an engine configured without a Runner.
type noRunner struct{}

func (noRunner) Run(_ context.Context, a resource.Action, _ resource.Event) error {
	return errors.New(a.Type + " action: no action runner configured")
}
