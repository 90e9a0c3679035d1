package live

import "sync/atomic"

// EventType says what a subscription event carries.
type EventType int

// Subscription events.
const (
	// EventStarted: a publisher is live with these tracks (also sent again
	// when its tracks change mid-stream).
	EventStarted EventType = iota + 1
	// EventFrame: one frame.
	EventFrame
	// EventEnded: the publisher went away.
	EventEnded
)

// Event is what a subscriber receives.
type Event struct {
	Type      EventType
	Tracks    []*Track
	Publisher Publisher
	Frame     Frame
	Reason    string
}

// Subscription is one reader of a hub.
type Subscription struct {
	hub     *Hub
	events  chan Event
	dropped atomic.Uint64
	closed  bool // guarded by hub.mu
}

// Events delivers the hub's events in order; it is closed by Close.
func (s *Subscription) Events() <-chan Event { return s.events }

// Dropped returns how many events were dropped because the reader was slow.
func (s *Subscription) Dropped() uint64 { return s.dropped.Load() }

// send never blocks; hub.mu is held.
func (s *Subscription) send(e Event) {
	if s.closed {
		return
	}
	select {
	case s.events <- e:
	default:
		s.dropped.Add(1)
	}
}

// Close detaches the reader.
func (s *Subscription) Close() {
	h := s.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	delete(h.subs, s)
	close(s.events)
}
