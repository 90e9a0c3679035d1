package api

import (
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/sluice-video/sluice/internal/metrics"
)

// FrameLimits bound what frames API streams may hold: each one keeps a
// decoder's output flowing to its client.
type FrameLimits struct {
	// Streams caps the streams served at once (default 16).
	Streams int
	// PerClient caps the streams of one client address (default 4); IPv6
	// clients count by their /64, which one host usually holds whole.
	PerClient int
	// WriteTimeout ends a stream whose client has not taken a frame
	// within it (default 10 s), so a client that stops reading frees its
	// place and its share of a decoder.
	WriteTimeout time.Duration
}

// Defaults of FrameLimits.
const (
	DefaultFrameStreams          = 16
	DefaultFrameStreamsPerClient = 4
	DefaultFrameWriteTimeout     = 10 * time.Second
	// frameRetryAfter is what a refused client is told to wait: streams
	// last long, but one ends now and then.
	frameRetryAfter = 5 * time.Second
)

// withDefaults fills in what is not set.
func (l FrameLimits) withDefaults() FrameLimits {
	if l.Streams <= 0 {
		l.Streams = DefaultFrameStreams
	}
	if l.PerClient <= 0 {
		l.PerClient = DefaultFrameStreamsPerClient
	}
	if l.WriteTimeout <= 0 {
		l.WriteTimeout = DefaultFrameWriteTimeout
	}
	return l
}

// streamSlots counts the frames streams being served, in all and by client
// address, against FrameLimits.
type streamSlots struct {
	limits FrameLimits

	mu       sync.Mutex
	total    int
	byClient map[string]int
}

func newStreamSlots(l FrameLimits) *streamSlots {
	return &streamSlots{limits: l, byClient: map[string]int{}}
}

// acquire takes a place for a stream of client, or says which cap refuses
// it with a *limitError. release gives the place back; call it once.
func (s *streamSlots) acquire(client string) (release func(), err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := s.byClient[client]; n >= s.limits.PerClient {
		return nil, &limitError{
			detail: fmt.Sprintf("client %s already reads %d frames streams, the most one client address may at once (sluice serve --frame-streams-per-client); end one or retry later", client, n),
			reason: metrics.FrameRefusedClientLimit, retryAfter: frameRetryAfter,
		}
	}
	if s.total >= s.limits.Streams {
		return nil, &limitError{
			detail: fmt.Sprintf("the server already serves %d frames streams, the most it serves at once (sluice serve --frame-streams); retry later", s.total),
			reason: metrics.FrameRefusedServerLimit, retryAfter: frameRetryAfter,
		}
	}
	s.total++
	s.byClient[client]++
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.total--
			if s.byClient[client]--; s.byClient[client] <= 0 {
				delete(s.byClient, client)
			}
		})
	}, nil
}

// clientOf is the address a stream counts against: the connection's IP,
// an IPv6 one by its /64.
func clientOf(remoteAddr string) string {
	ap, err := netip.ParseAddrPort(remoteAddr)
	if err != nil {
		return remoteAddr
	}
	addr := ap.Addr().Unmap()
	if addr.Is6() {
		p, _ := addr.WithZone("").Prefix(64)
		return p.String()
	}
	return addr.String()
}
