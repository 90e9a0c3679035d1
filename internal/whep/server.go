// Package whep serves WebRTC playback of channels with the WebRTC-HTTP
// Egress Protocol (WHEP): a viewer POSTs an SDP offer to a channel's
// WEBRTC endpoint and gets an answer and the URL of its session, which it
// PATCHes with trickle-ICE candidates and DELETEs to leave. Video is the
// ladder the encoder already makes, read from the outputs' tap as H.264
// samples and repacketized into RTP, one rung at a time as the viewer's
// bandwidth allows (switching at key frames); audio is the encoder's Opus
// rendition. Nothing is decoded or encoded again.
package whep

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/sluice-video/sluice/internal/output"
	"github.com/sluice-video/sluice/internal/problem"
	"github.com/sluice-video/sluice/internal/rtc"
)

// Layer is one rung a viewer may receive.
type Layer struct {
	Name    string
	Bitrate int64
}

// unknownLayerBitrate stands for the bitrate of a layer that has none
// configured (a passthrough rung sends what its publisher sends) where a
// figure is needed: the bandwidth estimator's ceiling.
const unknownLayerBitrate = 8_000_000

// Source is what a WEBRTC endpoint plays: the tap on the channel's
// encoder, its layers from the highest bitrate down, and the name of its
// Opus rendition.
type Source struct {
	Hub    *output.Hub
	Layers []Layer
	Audio  string
}

// Sources finds the source of a channel's WEBRTC endpoint; ok is false
// when the channel is not running or has no such endpoint.
type Sources interface {
	WebRTCSource(channel, endpoint string) (Source, bool)
}

// Observer is told about sessions: the server's metrics and events.
// Figures are per channel and endpoint, never per session.
type Observer interface {
	SessionStarted(info Info)
	SessionEnded(info Info, reason string)
	// SessionStats adds what a session sent and was told since its last
	// report.
	SessionStats(channel, endpoint string, d Stats)
}

// Config configures a Server.
type Config struct {
	Engine  *rtc.Engine
	Sources Sources
	// MaxSessions bounds the viewers of the server, PerEndpoint those of
	// one endpoint; zero means no bound.
	MaxSessions, PerEndpoint int
	// ConnectTimeout ends a session that has not connected this long
	// after its answer (default 30 s: a loaded server takes long over
	// many handshakes at once).
	ConnectTimeout time.Duration
	// InitialBitrate is where a viewer's bandwidth estimate starts (default
	// 1.5 Mb/s): it chooses the first layer.
	InitialBitrate int
	Observer       Observer
	Logger         *slog.Logger
}

// Server answers the WHEP requests the origin passes it, after the origin
// has checked the channel, the endpoint and the viewer's signature.
type Server struct {
	cfg      Config
	sessions rtc.Sessions
	wg       sync.WaitGroup

	mu     sync.Mutex
	closed bool
}

// New returns a server; Close ends its sessions.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = 30 * time.Second
	}
	if cfg.InitialBitrate <= 0 {
		cfg.InitialBitrate = 1_500_000
	}
	if cfg.Observer == nil {
		cfg.Observer = nopObserver{}
	}
	return &Server{cfg: cfg, sessions: rtc.Sessions{Max: cfg.MaxSessions, PerGroup: cfg.PerEndpoint}}
}

// Start does nothing: sessions start with requests.
func (s *Server) Start(context.Context) error { return nil }

// Close ends every session and waits for their goroutines.
func (s *Server) Close(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.sessions.CloseAll("the server is shutting down")
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func group(channel, endpoint string) string { return channel + "/" + endpoint }

// Offer answers POST /live/{channel}/{endpoint}/whep: a new session.
func (s *Server) Offer(w http.ResponseWriter, r *http.Request, channel, endpoint string) {
	rtc.CORS(w.Header())
	body, err := rtc.ReadBody(r, rtc.ContentSDP, rtc.MaxSDP)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	offer, err := rtc.CheckOffer(body, rtc.Receive)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	src, ok := s.cfg.Sources.WebRTCSource(channel, endpoint)
	if !ok || len(src.Layers) == 0 {
		problem.Write(w, r, http.StatusNotFound, fmt.Sprintf("channel %q is not running or has no WEBRTC endpoint %q", channel, endpoint), 1)
		return
	}
	pinned := -1
	if name := r.URL.Query().Get("layer"); name != "" {
		for i, l := range src.Layers {
			if l.Name == name {
				pinned = i
			}
		}
		if pinned < 0 {
			problem.Write(w, r, http.StatusBadRequest, fmt.Sprintf("no layer %q: the layers are the channel's rungs", name), 0)
			return
		}
	}
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		problem.Write(w, r, http.StatusServiceUnavailable, "the server is shutting down", 0)
		return
	}
	g := group(channel, endpoint)
	id, err := s.sessions.Reserve(g)
	if err != nil {
		w.Header().Set("Retry-After", "10")
		problem.Write(w, r, http.StatusServiceUnavailable, err.Error(), 0)
		return
	}
	info := Info{ID: PublicID(id), Channel: channel, Endpoint: endpoint, Remote: r.RemoteAddr, Started: time.Now().UTC()}
	sess, answer, err := s.start(id, info, src, offer, string(body), pinned)
	if err != nil {
		s.sessions.Remove(id)
		s.fail(w, r, err)
		return
	}
	s.sessions.Attach(id, sess)
	h := w.Header()
	h.Set("Content-Type", rtc.ContentSDP)
	h.Set("Location", r.URL.Path+"/"+id)
	h.Set("ETag", `"`+id+`"`)
	h.Set("Cache-Control", "no-store")
	rtc.SetLinks(h, s.cfg.Engine.ICEServers())
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusCreated)
	_, _ = w.Write([]byte(answer)) //nolint:gosec // pion's SDP answer, served as application/sdp, never as HTML
}

// Patch answers PATCH …/whep/{session}: trickle-ICE candidates.
func (s *Server) Patch(w http.ResponseWriter, r *http.Request, channel, endpoint, id string) {
	rtc.CORS(w.Header())
	c, ok := s.sessions.Get(group(channel, endpoint), id)
	if !ok {
		problem.Write(w, r, http.StatusNotFound, "no such session", 0)
		return
	}
	if err := rtc.Trickle(r, c.(*session).pc); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// Delete answers DELETE …/whep/{session}: the viewer leaves.
func (s *Server) Delete(w http.ResponseWriter, r *http.Request, channel, endpoint, id string) {
	rtc.CORS(w.Header())
	c, ok := s.sessions.Get(group(channel, endpoint), id)
	if !ok {
		problem.Write(w, r, http.StatusNotFound, "no such session", 0)
		return
	}
	c.Close("the viewer ended the session")
	w.WriteHeader(http.StatusOK)
}

// Options answers a CORS preflight of the endpoint or a session.
func (s *Server) Options(w http.ResponseWriter, _ *http.Request) {
	rtc.Preflight(w, s.cfg.Engine.ICEServers())
}

// fail maps an error to its status.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	rtc.Fail(w, r, s.cfg.Logger, "WHEP", err)
}

// Sessions lists the live sessions with their figures, for the status
// view.
func (s *Server) Sessions() []Info {
	var out []Info
	for _, c := range s.sessions.All() {
		out = append(out, c.(*session).info())
	}
	return out
}

type nopObserver struct{}

func (nopObserver) SessionStarted(Info)                {}
func (nopObserver) SessionEnded(Info, string)          {}
func (nopObserver) SessionStats(string, string, Stats) {}

// PublicID is the name of the session whose URL ends in key: the first 16
// hex digits of its SHA-256, which names it without letting anyone who
// reads it end it.
func PublicID(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:8])
}
