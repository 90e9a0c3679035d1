// Package automation keeps alarms and event rules as resources: it stores
// them, loads them into the alarm evaluator and the rules engine at boot,
// and keeps both in step with every change.
package automation

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/sluice-video/sluice/internal/alarm"
	"github.com/sluice-video/sluice/internal/event"
	"github.com/sluice-video/sluice/internal/resource"
)

// Store persists alarms and rules.
type Store interface {
	CreateAlarm(ctx context.Context, a resource.Alarm) error
	UpdateAlarm(ctx context.Context, a resource.Alarm) error
	DeleteAlarm(ctx context.Context, id string) error
	GetAlarm(ctx context.Context, ref string) (resource.Alarm, error)
	ListAlarms(ctx context.Context) ([]resource.Alarm, error)
	CreateRule(ctx context.Context, r resource.Rule) error
	UpdateRule(ctx context.Context, r resource.Rule) error
	DeleteRule(ctx context.Context, id string) error
	GetRule(ctx context.Context, ref string) (resource.Rule, error)
	ListRules(ctx context.Context) ([]resource.Rule, error)
}

// Config configures the service.
type Config struct {
	Store  Store
	Alarms *alarm.Evaluator
	Rules  *event.Rules
	Now    func() time.Time
	Logger *slog.Logger
}

// Service is the resource side of alarms and rules.
type Service struct {
	cfg    Config
	store  Store
	logger *slog.Logger
}

// New returns the service; Start loads the stored alarms and rules.
func New(cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{cfg: cfg, store: cfg.Store, logger: cfg.Logger}
}

// Start loads every stored alarm (with its state) and rule.
func (s *Service) Start(ctx context.Context) error {
	alarms, err := s.store.ListAlarms(ctx)
	if err != nil {
		return fmt.Errorf("loading alarms: %w", err)
	}
	for _, a := range alarms {
		if err := s.cfg.Alarms.Set(a); err != nil {
			s.logger.Error("a stored alarm is invalid and stays off", "alarm", a.Name, "error", err)
		}
	}
	rules, err := s.store.ListRules(ctx)
	if err != nil {
		return fmt.Errorf("loading rules: %w", err)
	}
	for _, r := range rules {
		if err := s.cfg.Rules.Set(r); err != nil {
			s.logger.Error("a stored rule is invalid and stays off", "rule", r.Name, "error", err)
		}
	}
	return nil
}

// Close does nothing: the alarms and rules run in the evaluator and the
// rules engine, which close themselves.
func (s *Service) Close(context.Context) error { return nil }

// CreateAlarm stores an alarm and starts evaluating it (INSUFFICIENT_DATA
// until its periods have data).
func (s *Service) CreateAlarm(ctx context.Context, stack string, spec resource.AlarmSpec) (resource.Alarm, error) {
	if err := spec.Validate(); err != nil {
		return resource.Alarm{}, err
	}
	now := s.cfg.Now().UTC()
	a := resource.Alarm{
		ID: resource.NewID("al"), Stack: stack, AlarmSpec: spec,
		State: resource.AlarmInsufficientData, StateReason: "the alarm was created", StateChangedAt: now,
		CreatedAt: now, UpdatedAt: now,
	}
	if err := s.store.CreateAlarm(ctx, a); err != nil {
		return resource.Alarm{}, err
	}
	if err := s.cfg.Alarms.Set(a); err != nil {
		return resource.Alarm{}, err
	}
	s.logger.Info(fmt.Sprintf("alarm %s created on %s", spec.Name, spec.Metric), "alarm", spec.Name)
	return s.GetAlarm(ctx, a.ID)
}

// UpdateAlarm replaces an alarm's spec; its state is kept until the next evaluation.
func (s *Service) UpdateAlarm(ctx context.Context, ref, stack string, spec resource.AlarmSpec) (resource.Alarm, error) {
	if err := spec.Validate(); err != nil {
		return resource.Alarm{}, err
	}
	a, err := s.GetAlarm(ctx, ref)
	if err != nil {
		return resource.Alarm{}, err
	}
	a.AlarmSpec, a.Stack, a.UpdatedAt = spec, stack, s.cfg.Now().UTC()
	if err := s.store.UpdateAlarm(ctx, a); err != nil {
		return resource.Alarm{}, err
	}
	if err := s.cfg.Alarms.Set(a); err != nil {
		return resource.Alarm{}, err
	}
	s.logger.Info(fmt.Sprintf("alarm %s updated", spec.Name), "alarm", spec.Name)
	return s.GetAlarm(ctx, a.ID)
}

// DeleteAlarm deletes an alarm and its history.
func (s *Service) DeleteAlarm(ctx context.Context, ref string) error {
	a, err := s.store.GetAlarm(ctx, ref)
	if err != nil {
		return err
	}
	if err := s.store.DeleteAlarm(ctx, a.ID); err != nil {
		return err
	}
	s.cfg.Alarms.Remove(a.ID)
	s.logger.Info(fmt.Sprintf("alarm %s deleted", a.Name), "alarm", a.Name)
	return nil
}

// GetAlarm returns an alarm with its current state.
func (s *Service) GetAlarm(ctx context.Context, ref string) (resource.Alarm, error) {
	stored, err := s.store.GetAlarm(ctx, ref)
	if err != nil {
		return resource.Alarm{}, err
	}
	if live, err := s.cfg.Alarms.Get(stored.ID); err == nil {
		stored = withLive(stored, live)
	}
	return stored, nil
}

// withLive is a stored alarm with the evaluator's state, silence and
// acknowledgement.
func withLive(stored, live resource.Alarm) resource.Alarm {
	stored.State, stored.StateReason, stored.StateChangedAt = live.State, live.StateReason, live.StateChangedAt
	stored.Silence, stored.Acknowledgement = live.Silence, live.Acknowledgement
	return stored
}

// ListAlarms returns every alarm with its current state.
func (s *Service) ListAlarms(ctx context.Context) ([]resource.Alarm, error) {
	stored, err := s.store.ListAlarms(ctx)
	if err != nil {
		return nil, err
	}
	for i := range stored {
		if live, err := s.cfg.Alarms.Get(stored[i].ID); err == nil {
			stored[i] = withLive(stored[i], live)
		}
	}
	return stored, nil
}

// AlarmHistory returns an alarm's transitions, newest first.
func (s *Service) AlarmHistory(ctx context.Context, ref string, limit int) ([]resource.AlarmChange, error) {
	a, err := s.store.GetAlarm(ctx, ref)
	if err != nil {
		return nil, err
	}
	return s.cfg.Alarms.History(ctx, a.ID, limit)
}

// SilenceAlarm silences an alarm until the time or for the duration the
// request asks, for the caller by.
func (s *Service) SilenceAlarm(ctx context.Context, ref, by string, req resource.SilenceRequest) (resource.Alarm, error) {
	now := s.cfg.Now().UTC()
	until, err := req.End(now)
	if err != nil {
		return resource.Alarm{}, err
	}
	stored, err := s.store.GetAlarm(ctx, ref)
	if err != nil {
		return resource.Alarm{}, err
	}
	live, err := s.cfg.Alarms.Silence(ctx, stored.ID, resource.AlarmSilence{Until: until, By: by, At: now, Comment: req.Comment})
	if err != nil {
		return resource.Alarm{}, err
	}
	return withLive(stored, live), nil
}

// UnsilenceAlarm ends an alarm's silence now.
func (s *Service) UnsilenceAlarm(ctx context.Context, ref, by string, req resource.UnsilenceRequest) (resource.Alarm, error) {
	if err := req.Validate(); err != nil {
		return resource.Alarm{}, err
	}
	stored, err := s.store.GetAlarm(ctx, ref)
	if err != nil {
		return resource.Alarm{}, err
	}
	live, err := s.cfg.Alarms.Unsilence(ctx, stored.ID, by, req.Comment)
	if err != nil {
		return resource.Alarm{}, err
	}
	return withLive(stored, live), nil
}

// AcknowledgeAlarm acknowledges an alarm in ALARM.
func (s *Service) AcknowledgeAlarm(ctx context.Context, ref, by string, req resource.AcknowledgeRequest) (resource.Alarm, error) {
	if err := req.Validate(); err != nil {
		return resource.Alarm{}, err
	}
	stored, err := s.store.GetAlarm(ctx, ref)
	if err != nil {
		return resource.Alarm{}, err
	}
	live, err := s.cfg.Alarms.Acknowledge(ctx, stored.ID, resource.AlarmAcknowledgement{By: by, At: s.cfg.Now().UTC(), Comment: req.Comment})
	if err != nil {
		return resource.Alarm{}, err
	}
	return withLive(stored, live), nil
}

// CreateRule stores a rule and starts applying it to events.
func (s *Service) CreateRule(ctx context.Context, stack string, spec resource.RuleSpec) (resource.Rule, error) {
	if err := spec.Validate(); err != nil {
		return resource.Rule{}, err
	}
	now := s.cfg.Now().UTC()
	r := resource.Rule{ID: resource.NewID("ru"), Stack: stack, RuleSpec: spec, CreatedAt: now, UpdatedAt: now}
	if err := s.store.CreateRule(ctx, r); err != nil {
		return resource.Rule{}, err
	}
	if err := s.cfg.Rules.Set(r); err != nil {
		return resource.Rule{}, err
	}
	s.logger.Info(fmt.Sprintf("rule %s created for %s events", spec.Name, spec.Event), "rule", spec.Name)
	return r, nil
}

// UpdateRule replaces a rule's spec.
func (s *Service) UpdateRule(ctx context.Context, ref, stack string, spec resource.RuleSpec) (resource.Rule, error) {
	if err := spec.Validate(); err != nil {
		return resource.Rule{}, err
	}
	r, err := s.store.GetRule(ctx, ref)
	if err != nil {
		return resource.Rule{}, err
	}
	r.RuleSpec, r.Stack, r.UpdatedAt = spec, stack, s.cfg.Now().UTC()
	if err := s.store.UpdateRule(ctx, r); err != nil {
		return resource.Rule{}, err
	}
	if err := s.cfg.Rules.Set(r); err != nil {
		return resource.Rule{}, err
	}
	s.logger.Info(fmt.Sprintf("rule %s updated", spec.Name), "rule", spec.Name)
	return r, nil
}

// DeleteRule deletes a rule.
func (s *Service) DeleteRule(ctx context.Context, ref string) error {
	r, err := s.store.GetRule(ctx, ref)
	if err != nil {
		return err
	}
	if err := s.store.DeleteRule(ctx, r.ID); err != nil {
		return err
	}
	s.cfg.Rules.Remove(r.ID)
	s.logger.Info(fmt.Sprintf("rule %s deleted", r.Name), "rule", r.Name)
	return nil
}

// GetRule returns a rule with how often it fired.
func (s *Service) GetRule(ctx context.Context, ref string) (event.RuleStatus, error) {
	r, err := s.store.GetRule(ctx, ref)
	if err != nil {
		return event.RuleStatus{}, err
	}
	if st, err := s.cfg.Rules.Get(r.ID); err == nil {
		return st, nil
	}
	return event.RuleStatus{Rule: r}, nil
}

// ListRules returns every rule with how often it fired.
func (s *Service) ListRules(ctx context.Context) ([]event.RuleStatus, error) {
	stored, err := s.store.ListRules(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]event.RuleStatus, 0, len(stored))
	for _, r := range stored {
		if st, err := s.cfg.Rules.Get(r.ID); err == nil {
			out = append(out, st)
			continue
		}
		out = append(out, event.RuleStatus{Rule: r})
	}
	return out, nil
}
