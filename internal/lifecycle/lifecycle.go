// Package lifecycle is the one lifecycle of Sluice's long-lived parts: a
// Component is built by its constructor (which starts nothing), started by
// Start and closed by Close. A Group starts components in a stated order,
// each after the ones it needs, and closes them in the reverse order.
package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"
)

// Component is a long-lived part: Start starts its work (listeners,
// background loops, resuming stored state) and Close stops it, waiting
// for its goroutines, until ctx ends where the part says so.
type Component interface {
	Start(ctx context.Context) error
	Close(ctx context.Context) error
}

// Part is a component in a group: its name in words ("the channel
// manager"), and the names of the parts it needs started before it.
type Part struct {
	Name      string
	Component Component
	Needs     []string
}

// SlowClose is how long a close may take before the group says how long
// it took.
const SlowClose = time.Second

// Group starts parts in order and closes them in reverse. It is itself a
// Component.
type Group struct {
	parts   []Part
	logger  *slog.Logger
	started int
}

// NewGroup checks that every part comes after the parts it needs and
// returns the group; nothing is started.
func NewGroup(logger *slog.Logger, parts ...Part) (*Group, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	seen := make(map[string]bool, len(parts))
	for _, p := range parts {
		if p.Component == nil {
			return nil, fmt.Errorf("%s has no component", p.Name)
		}
		if seen[p.Name] {
			return nil, fmt.Errorf("%s is listed twice", p.Name)
		}
		for _, need := range p.Needs {
			if seen[need] {
				continue
			}
			if slices.ContainsFunc(parts, func(q Part) bool { return q.Name == need }) {
				return nil, fmt.Errorf("%s needs %s, which starts after it", p.Name, need)
			}
			return nil, fmt.Errorf("%s needs %s, which is not in the list", p.Name, need)
		}
		seen[p.Name] = true
	}
	return &Group{parts: parts, logger: logger}, nil
}

// Names returns the parts' names in start order.
func (g *Group) Names() []string {
	out := make([]string, len(g.parts))
	for i, p := range g.parts {
		out[i] = p.Name
	}
	return out
}

// Start starts the parts in order. When one fails, the ones started are
// closed in reverse and the error names the part that failed.
func (g *Group) Start(ctx context.Context) error {
	for _, p := range g.parts[g.started:] {
		g.logger.Debug("starting " + p.Name)
		if err := p.Component.Start(ctx); err != nil {
			err = fmt.Errorf("starting %s: %w", p.Name, err)
			// Close what started, with time of its own: ctx may be what
			// ended the start.
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
			defer cancel()
			if cerr := g.Close(cctx); cerr != nil {
				g.logger.Warn("closing after a failed start", "error", cerr)
			}
			return err
		}
		g.started++
	}
	return nil
}

// Close closes the started parts in reverse order, each once, and
// returns their errors joined. A part that takes longer than SlowClose
// is logged with the time it took.
func (g *Group) Close(ctx context.Context) error {
	var errs []error
	for g.started > 0 {
		g.started--
		p := g.parts[g.started]
		g.logger.Debug("stopping " + p.Name)
		began := time.Now()
		if err := p.Component.Close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("closing %s: %w", p.Name, err))
		}
		if took := time.Since(began); took > SlowClose {
			g.logger.Info(fmt.Sprintf("stopping %s took %s", p.Name, took.Round(time.Millisecond)))
		}
	}
	return errors.Join(errs...)
}
