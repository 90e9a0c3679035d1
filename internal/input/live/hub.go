package live

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

// ErrBusy refuses a second publisher on an input that has one.
var ErrBusy = errors.New("the input already has a publisher")

// Publisher identifies who sends media to an input.
type Publisher struct {
	// Protocol is "rtmp", "srt", "udp", "rtp" or a pull scheme.
	Protocol string
	// Remote is the publisher's address ("192.0.2.7:51234"), or the pulled URL.
	Remote string
	// Via is the node of the cluster the publisher is connected to, when
	// its media is relayed from there; "" when it is connected here.
	Via string
}

// Describe says who publishes, for status and logs: the address, and the
// node it is relayed from.
func (p Publisher) Describe() string {
	if p.Via == "" {
		return p.Remote
	}
	return p.Remote + " via node " + p.Via
}

// Hub is one input's live side: at most one publishing session at a time,
// fanned out to the channels that subscribe. A slow subscriber never blocks
// the publisher: its frames are dropped and counted.
type Hub struct {
	name string
	now  func() time.Time

	mu       sync.Mutex
	session  *Session
	subs     map[*Subscription]struct{}
	gop      []Frame // video from the last key frame, and audio since then
	gopBytes int
	stats    hubStats
}

// maxGOP bounds the frames kept for a fast start: at 60 fps a 10 s GOP.
const (
	maxGOPFrames = 1200
	maxGOPBytes  = 32 << 20
)

// NewHub returns the hub of the input name.
func NewHub(name string, now func() time.Time) *Hub {
	if now == nil {
		now = time.Now
	}
	return &Hub{name: name, now: now, subs: map[*Subscription]struct{}{}}
}

// Name returns the input's name.
func (h *Hub) Name() string { return h.name }

// Claim starts a publishing session, or fails with ErrBusy when another
// publisher holds the input. A publisher connected here takes the input
// from one relayed from another node of a cluster, whose session ends: the
// node's own publisher comes first.
func (h *Hub) Claim(p Publisher) (*Session, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if old := h.session; old != nil && old.pub.Via != "" && p.Via == "" {
		h.closeLocked(old, "publisher "+p.Describe()+" connected to this node")
	}
	if h.session != nil {
		h.stats.refused++
		return nil, fmt.Errorf("%w: %s from %s", ErrBusy, h.session.pub.Protocol, h.session.pub.Remote)
	}
	s := &Session{hub: h, pub: p, started: h.now(), done: make(chan struct{})}
	h.session = s
	h.gop, h.gopBytes = nil, 0
	h.stats.publisher = p
	h.stats.since = s.started
	h.stats.bytesWindow = rateWindow{}
	h.stats.lastError, h.stats.lastErrorAt = "", time.Time{}
	return s, nil
}

// Failed records why an attempt to connect to a pulled source failed, for
// the input's status; the next session clears it.
func (h *Hub) Failed(reason string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.stats.lastError, h.stats.lastErrorAt = reason, h.now()
}

// Refused counts a connection refused before it could publish (outside the
// security group, wrong key, busy).
func (h *Hub) Refused() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.stats.refused++
}

// Subscribe attaches a reader. If a session is live, the reader first gets
// its tracks and the frames since the last key frame, so it can start now.
func (h *Hub) Subscribe(buffer int) *Subscription {
	sub := &Subscription{hub: h, events: make(chan Event, max(buffer, 16))}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.subs[sub] = struct{}{}
	if s := h.session; s != nil && s.tracks != nil {
		sub.send(Event{Type: EventStarted, Tracks: s.tracks, Publisher: s.pub})
		for _, f := range h.gop {
			sub.send(Event{Type: EventFrame, Frame: f})
		}
	}
	return sub
}

// Session is one publisher's connection to an input.
type Session struct {
	hub     *Hub
	pub     Publisher
	started time.Time
	tracks  []*Track // guarded by hub.mu
	ended   bool
	done    chan struct{}
}

// Done is closed when the session ends, also when it is ended from the
// outside (Kick): the protocol server then closes the connection.
func (s *Session) Done() <-chan struct{} { return s.done }

// Publisher returns who publishes.
func (s *Session) Publisher() Publisher { return s.pub }

// SetTracks declares (or changes) the session's tracks; subscribers are told.
func (s *Session) SetTracks(tracks []*Track) {
	h := s.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	if s.ended {
		return
	}
	s.tracks = tracks
	h.stats.tracks = tracks
	h.gop, h.gopBytes = nil, 0
	for sub := range h.subs {
		sub.send(Event{Type: EventStarted, Tracks: tracks, Publisher: s.pub})
	}
}

// Write publishes a frame.
func (s *Session) Write(f Frame) {
	h := s.hub
	if f.Received.IsZero() {
		f.Received = h.now()
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if s.ended || s.tracks == nil {
		return
	}
	h.stats.frames++
	h.stats.bytes += uint64(f.Size()) //nolint:gosec // a size is never negative
	h.stats.lastMedia = f.Received
	h.stats.bytesWindow.add(f.Received, f.Size())
	if f.Kind == Video && f.Key {
		h.gop, h.gopBytes = h.gop[:0], 0
	}
	if len(h.gop) < maxGOPFrames && h.gopBytes+f.Size() < maxGOPBytes && (len(h.gop) > 0 || (f.Kind == Video && f.Key)) {
		h.gop = append(h.gop, f)
		h.gopBytes += f.Size()
	}
	for sub := range h.subs {
		sub.send(Event{Type: EventFrame, Frame: f})
	}
}

// Close ends the session; subscribers are told why.
func (s *Session) Close(reason string) {
	h := s.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closeLocked(s, reason)
}

// closeLocked ends session s; h.mu is held.
func (h *Hub) closeLocked(s *Session, reason string) {
	if s.ended {
		return
	}
	s.ended = true
	close(s.done)
	if h.session == s {
		h.session = nil
		h.gop, h.gopBytes = nil, 0
		h.stats.lastPublisher = s.pub
		h.stats.publisher = Publisher{}
		h.stats.lastEnd = h.now()
		h.stats.lastReason = reason
	}
	for sub := range h.subs {
		sub.send(Event{Type: EventEnded, Reason: reason, Publisher: s.pub})
	}
}

// Kick ends the current session from the outside (a security group that no
// longer allows the publisher, an input deleted). It returns false when no
// session is live.
func (h *Hub) Kick(reason string) bool {
	h.mu.Lock()
	s := h.session
	h.mu.Unlock()
	if s == nil {
		return false
	}
	s.Close(reason)
	return true
}

// Live reports whether a publisher is connected, and who.
func (h *Hub) Live() (Publisher, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.session == nil {
		return Publisher{}, false
	}
	return h.session.pub, true
}

// Tracks returns the live session's tracks, if a publisher has declared them.
func (h *Hub) Tracks() ([]*Track, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.session == nil || h.session.tracks == nil {
		return nil, false
	}
	return h.session.tracks, true
}
