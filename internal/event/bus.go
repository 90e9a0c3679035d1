// Package event is Sluice's event bus and what reacts to it: a bounded
// history that subscribers read at their own pace, a Server-Sent Events
// stream, signed webhooks with retries, and rules that turn events into
// actions.
package event

import (
	"context"
	"log/slog"
	"maps"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluice-video/sluice/internal/resource"
)

// BusMetrics counts what the bus does; *metrics.Metrics implements it.
type BusMetrics interface {
	EventPublished(typ string)
	SubscriberDropped(n int)
}

// BusConfig configures a Bus.
type BusConfig struct {
	// History is how many events the bus keeps (default 10,000).
	History int
	// Buffer is the capacity of each subscriber's channel (default 64).
	Buffer int
	// FirstSeq is the Seq of the first event (default 1). A server that
	// sets it above the last Seq of its previous run lets clients resume
	// across a restart.
	FirstSeq uint64
	Now      func() time.Time
	Metrics  BusMetrics // optional
	Logger   *slog.Logger
}

// Bus is Sluice's one event bus. Publish never blocks: events go into a
// ring, and every subscriber reads the ring from its own cursor through a
// bounded channel. A subscriber that falls more than History events behind
// loses the oldest ones, and they are counted.
type Bus struct {
	cfg BusConfig

	mu     sync.Mutex
	ring   []resource.Event
	last   uint64 // Seq of the newest event; first-1 when there is none
	first  uint64 // Seq of the first event ever published
	subs   map[*Subscription]struct{}
	closed bool
}

// NewBus returns an empty bus.
func NewBus(cfg BusConfig) *Bus {
	if cfg.History <= 0 {
		cfg.History = 10000
	}
	if cfg.Buffer <= 0 {
		cfg.Buffer = 64
	}
	if cfg.FirstSeq == 0 {
		cfg.FirstSeq = 1
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Bus{
		cfg:   cfg,
		ring:  make([]resource.Event, cfg.History),
		last:  cfg.FirstSeq - 1,
		first: cfg.FirstSeq,
		subs:  map[*Subscription]struct{}{},
	}
}

// Publish gives the event the next Seq and, when it has none, the current
// time, keeps it in the history and wakes the subscribers. It returns the
// event as published. Subscribers share the Detail map: treat it as
// read-only.
func (b *Bus) Publish(e resource.Event) resource.Event {
	e.Detail = maps.Clone(e.Detail)
	if e.At.IsZero() {
		e.At = b.cfg.Now()
	}
	b.mu.Lock()
	b.last++
	e.Seq = b.last
	b.ring[e.Seq%uint64(len(b.ring))] = e
	for s := range b.subs {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
	b.mu.Unlock()
	if b.cfg.Metrics != nil {
		b.cfg.Metrics.EventPublished(e.Type)
	}
	return e
}

// Last returns the Seq of the newest event (FirstSeq-1 before any).
func (b *Bus) Last() uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.last
}

// Subscribers returns the number of open subscriptions.
func (b *Bus) Subscribers() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.subs)
}

// oldest returns the Seq of the oldest event kept. Callers hold b.mu.
func (b *Bus) oldest() uint64 {
	if n := uint64(len(b.ring)); b.last-b.first+1 > n {
		return b.last - n + 1
	}
	return b.first
}

// History returns up to limit kept events with Seq after after, oldest
// first, whose type matches typ ("" for all, a type, or a prefix ending in
// ".*"). limit <= 0 means 100.
func (b *Bus) History(after uint64, limit int, typ string) []resource.Event {
	if limit <= 0 {
		limit = 100
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []resource.Event
	for seq := max(after+1, b.oldest()); seq <= b.last && len(out) < limit; seq++ {
		e := b.ring[seq%uint64(len(b.ring))]
		if TypeMatches(typ, e.Type) {
			out = append(out, e)
		}
	}
	return out
}

// TypeMatches reports whether an event type matches a pattern: "" matches
// every type, "channel.*" every type starting with "channel.", anything
// else only itself.
func TypeMatches(pattern, typ string) bool {
	switch {
	case pattern == "":
		return true
	case strings.HasSuffix(pattern, ".*"):
		return strings.HasPrefix(typ, strings.TrimSuffix(pattern, "*"))
	}
	return pattern == typ
}

// Subscription is one reader of the bus.
type Subscription struct {
	bus     *Bus
	out     chan resource.Event
	wake    chan struct{}
	done    chan struct{}
	once    sync.Once
	next    uint64 // Seq of the next event to deliver; touched by run only
	dropped atomic.Uint64
}

// Subscribe returns a channel of the events after Seq from, the kept
// history first, then new events as they come, until ctx ends, the
// subscription is closed or the bus is. from = 0 replays the whole history,
// Last() only new events; a from beyond the newest event (a client of an
// earlier run) replays the whole history too.
func (b *Bus) Subscribe(ctx context.Context, from uint64) (<-chan resource.Event, *Subscription) {
	s := &Subscription{
		bus:  b,
		out:  make(chan resource.Event, b.cfg.Buffer),
		wake: make(chan struct{}, 1),
		done: make(chan struct{}),
	}
	b.mu.Lock()
	if from > b.last {
		from = 0
	}
	s.next = max(from+1, b.oldest())
	if b.closed {
		b.mu.Unlock()
		close(s.out)
		return s.out, s
	}
	b.subs[s] = struct{}{}
	b.mu.Unlock()
	go s.run(ctx)
	return s.out, s
}

// Dropped returns how many events the subscriber lost by falling behind.
func (s *Subscription) Dropped() uint64 { return s.dropped.Load() }

// Close ends the subscription; its channel closes.
func (s *Subscription) Close() { s.once.Do(func() { close(s.done) }) }

func (s *Subscription) run(ctx context.Context) {
	b := s.bus
	defer func() {
		b.mu.Lock()
		delete(b.subs, s)
		b.mu.Unlock()
		close(s.out)
	}()
	for {
		for {
			b.mu.Lock()
			if b.closed {
				b.mu.Unlock()
				return
			}
			if s.next > b.last {
				b.mu.Unlock()
				break
			}
			if oldest := b.oldest(); s.next < oldest {
				lost := oldest - s.next
				s.dropped.Add(lost)
				s.next = oldest
				if b.cfg.Metrics != nil {
					b.cfg.Metrics.SubscriberDropped(int(min(lost, 1<<31)))
				}
			}
			e := b.ring[s.next%uint64(len(b.ring))]
			b.mu.Unlock()
			select {
			case s.out <- e:
				s.next++
			case <-ctx.Done():
				return
			case <-s.done:
				return
			}
		}
		select {
		case <-s.wake:
		case <-ctx.Done():
			return
		case <-s.done:
			return
		}
	}
}

// Start does nothing: a bus takes events from the moment it is made.
func (b *Bus) Start(context.Context) error { return nil }

// Close ends every subscription. Publishing still works; nobody listens.
func (b *Bus) Close(context.Context) error {
	b.mu.Lock()
	b.closed = true
	subs := make([]*Subscription, 0, len(b.subs))
	for s := range b.subs {
		subs = append(subs, s)
	}
	b.mu.Unlock()
	for _, s := range subs {
		s.Close()
	}
	return nil
}

// FirstSeqAt is the first Seq of a bus started at t: the milliseconds
// since the Unix epoch. The events of a server live in memory only, so a
// restarted server would otherwise number its events from 1 again, and a
// client resuming with the Last-Event-ID of the previous run would see
// numbers it had already seen and miss the new run's first events. Started
// at the clock, each run numbers above every earlier run, unless one
// published more than one event per millisecond of its life on average or
// the clock went back; the numbers stay below 2^53, exact in JSON and in
// JavaScript.
func FirstSeqAt(t time.Time) uint64 { return uint64(max(t.UnixMilli(), 1)) }
