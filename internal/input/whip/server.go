// Package whip is Sluice's WebRTC ingest (WHIP, RFC 9725): a publisher
// (OBS 30 or later, a browser, a hardware encoder) POSTs an SDP offer to
// /ingest/whip/<input> with the input's stream key as its bearer token and
// gets an answer and the URL of its session, which it PATCHes with
// trickle-ICE candidates and DELETEs to stop. The address is checked
// against the input's security group, and the key, before any ICE or DTLS
// work; one publisher at a time (a second is answered 409 Conflict, as a
// second RTMP publisher is refused), across the nodes of a cluster: the
// node a publisher connects to claims the input in the state database,
// and the holder of the input's channel relays it from there like any
// push input. H.264 and Opus are turned into
// frames on the input's hub, where the switcher takes them like those of
// any live input.
package whip

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/sluice-video/sluice/internal/input/live"
	"github.com/sluice-video/sluice/internal/problem"
	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/rtc"
)

// Protocol is the protocol name of WHIP inputs in the registry.
const Protocol = "whip"

// Config configures a Server.
type Config struct {
	Registry *live.Registry
	Engine   *rtc.Engine
	// Counter counts refusals (the server's metrics); nil counts none.
	Counter live.RefusalCounter
	// Cluster, on a node of a cluster, keeps each input to one publisher
	// across the nodes; nil on a single server, where the hub does.
	Cluster Claimer
	// MaxSessions bounds the publishers of the server (default 64).
	MaxSessions int
	// ConnectTimeout ends a session whose publisher has not connected
	// this long after the answer (default 15 s); ReadTimeout one whose
	// media stopped (default 10 s).
	ConnectTimeout, ReadTimeout time.Duration
	Logger                      *slog.Logger
}

// Claimer makes a node the one that has an input's publisher. Claim
// fails with an error wrapping ErrElsewhere when another live node has
// it; on success, release is called once the session is on the input's
// hub or could not start.
type Claimer interface {
	Claim(ctx context.Context, input string) (release func(), err error)
}

// ErrElsewhere says that another node of the cluster has the input's
// publisher.
var ErrElsewhere = errors.New("the input's publisher is connected to another node")

// Server answers WHIP requests.
type Server struct {
	cfg      Config
	sessions rtc.Sessions
	refusals *live.Refusals
	wg       sync.WaitGroup

	mu     sync.Mutex
	closed bool
}

// New returns a WHIP server.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxSessions <= 0 {
		cfg.MaxSessions = 64
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = 15 * time.Second
	}
	if cfg.ReadTimeout <= 0 {
		cfg.ReadTimeout = 10 * time.Second
	}
	return &Server{
		cfg:      cfg,
		sessions: rtc.Sessions{Max: cfg.MaxSessions, PerGroup: 1},
		refusals: live.NewRefusals(live.RefusalsConfig{Protocol: Protocol, Counter: cfg.Counter, Logger: cfg.Logger}),
	}
}

// Register adds the WHIP routes to mux.
func (s *Server) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST /ingest/whip/{input}", s.offer)
	mux.HandleFunc("OPTIONS /ingest/whip/{input}", s.options)
	mux.HandleFunc("PATCH /ingest/whip/{input}/{session}", s.patch)
	mux.HandleFunc("DELETE /ingest/whip/{input}/{session}", s.delete)
	mux.HandleFunc("OPTIONS /ingest/whip/{input}/{session}", s.options)
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

// offer admits a publisher and negotiates its session. The order is the
// cheap checks first: the address against every WHIP input's security
// groups, the bearer key (after the penalty of an address that keeps
// guessing), the input's own group, a publisher already live; only then
// is the SDP read and a peer connection made.
func (s *Server) offer(w http.ResponseWriter, r *http.Request) {
	rtc.CORS(w.Header())
	input, remote := r.PathValue("input"), r.RemoteAddr
	if !s.cfg.Registry.AllowedAnywhere(Protocol, remote) {
		s.refusals.Refuse(remote, live.RefusedSecurityGroup, "WHIP publisher refused: no input's security group allows this address")
		problem.Write(w, r, http.StatusForbidden, "this address may not publish", 0)
		return
	}
	key, ok := bearer(r)
	if !ok || !resource.ValidName(input) {
		s.wait(r.Context(), remote)
		s.refusals.Refuse(remote, live.RefusedStreamKey, "WHIP publisher refused: no bearer token")
		s.cfg.Registry.Fail(remote)
		w.Header().Set("WWW-Authenticate", `Bearer realm="sluice"`)
		problem.Write(w, r, http.StatusUnauthorized, "publishing needs the input's stream key as the bearer token", 0)
		return
	}
	// A key is right only for the input the path names: the answer does
	// not tell whether it is another input's.
	if cfg, ok := s.cfg.Registry.Lookup(Protocol, key); !ok || cfg.Name != input {
		s.cfg.Registry.Fail(remote)
		s.wait(r.Context(), remote)
		s.refusals.Refuse(remote, live.RefusedStreamKey, "WHIP publisher refused: unknown stream key for this input", "input", input)
		w.Header().Set("WWW-Authenticate", `Bearer realm="sluice", error="invalid_token"`)
		problem.Write(w, r, http.StatusUnauthorized, "unknown stream key for this input", 0)
		return
	}
	hub, err := s.cfg.Registry.Admit(Protocol, key, remote)
	if err != nil {
		s.wait(r.Context(), remote)
		s.refusals.Refuse(remote, live.RefusedSecurityGroup, "WHIP publisher refused", "reason", err.Error())
		problem.Write(w, r, http.StatusForbidden, "this address may not publish to this input", 0)
		return
	}
	if _, busy := hub.Live(); busy {
		hub.Refused()
		s.refusals.Refuse(remote, live.RefusedBusy, "WHIP publisher refused: the input already has a publisher", "input", input)
		problem.Write(w, r, http.StatusConflict, "the input already has a publisher: end that session first (DELETE its URL), or wait until its connection times out", 0)
		return
	}
	body, err := rtc.ReadBody(r, rtc.ContentSDP, rtc.MaxSDP)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	offer, err := rtc.CheckOffer(body, rtc.Send)
	if err == nil && offer.Video > 0 && !offer.H264 {
		err = fmt.Errorf("%w: the video must be H.264 (packetization mode 1)", rtc.ErrBadSDP)
	}
	if err == nil && offer.Video == 0 {
		err = fmt.Errorf("%w: a channel needs video", rtc.ErrBadSDP)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		problem.Write(w, r, http.StatusServiceUnavailable, "the server is shutting down", 0)
		return
	}
	id, err := s.sessions.Reserve(input)
	if err != nil {
		problem.Write(w, r, http.StatusConflict, "the input already has a publisher", 0)
		return
	}
	release := func() {}
	if s.cfg.Cluster != nil {
		release, err = s.cfg.Cluster.Claim(r.Context(), input)
		if err != nil {
			s.sessions.Remove(id)
			if errors.Is(err, ErrElsewhere) {
				hub.Refused()
				s.refusals.Refuse(remote, live.RefusedBusy, "WHIP publisher refused: the input has a publisher on another node", "input", input, "reason", err.Error())
				problem.Write(w, r, http.StatusConflict, "the input already has a publisher, on another node of the cluster: end that session first (DELETE its URL), or wait until its connection times out", 0)
				return
			}
			s.cfg.Logger.Warn("a WHIP publisher could not be recorded", "input", input, "error", err)
			w.Header().Set("Retry-After", "5")
			problem.Write(w, r, http.StatusServiceUnavailable, "the publisher could not be recorded in the cluster's state: try again", 0)
			return
		}
	}
	sess, answer, err := s.start(id, hub, remote, offer, string(body))
	release()
	if err != nil {
		s.sessions.Remove(id)
		if errors.Is(err, live.ErrBusy) {
			problem.Write(w, r, http.StatusConflict, "the input already has a publisher", 0)
			return
		}
		s.fail(w, r, err)
		return
	}
	s.sessions.Attach(id, sess)
	h := w.Header()
	h.Set("Content-Type", rtc.ContentSDP)
	h.Set("Location", "/ingest/whip/"+input+"/"+id)
	h.Set("ETag", `"`+id+`"`)
	rtc.SetLinks(h, s.cfg.Engine.ICEServers())
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusCreated)
	_, _ = w.Write([]byte(answer)) //nolint:gosec // pion's SDP answer, served as application/sdp, never as HTML
}

func (s *Server) patch(w http.ResponseWriter, r *http.Request) {
	rtc.CORS(w.Header())
	c, ok := s.sessions.Get(r.PathValue("input"), r.PathValue("session"))
	if !ok || !authorized(r, c.(*session)) {
		problem.Write(w, r, http.StatusNotFound, "no such session", 0)
		return
	}
	if err := rtc.Trickle(r, c.(*session).pc); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) delete(w http.ResponseWriter, r *http.Request) {
	rtc.CORS(w.Header())
	c, ok := s.sessions.Get(r.PathValue("input"), r.PathValue("session"))
	if !ok || !authorized(r, c.(*session)) {
		problem.Write(w, r, http.StatusNotFound, "no such session", 0)
		return
	}
	c.Close("the publisher ended the session")
	w.WriteHeader(http.StatusOK)
}

func (s *Server) options(w http.ResponseWriter, _ *http.Request) {
	rtc.Preflight(w, s.cfg.Engine.ICEServers())
}

// authorized reports whether a session request carries the key the
// session was created with, when it carries one: OBS sends it on DELETE;
// a client that sends none is trusted on the session URL alone.
func authorized(r *http.Request, sess *session) bool {
	key, ok := bearer(r)
	return !ok || key == sess.key
}

// bearer returns the bearer token of a request.
func bearer(r *http.Request) (string, bool) {
	v := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(v, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != "" && len(tok) <= 256
}

// wait holds a refusal for the penalty of an address that keeps failing.
func (s *Server) wait(ctx context.Context, remote string) {
	p := s.cfg.Registry.Penalty(remote)
	if p <= 0 {
		return
	}
	t := time.NewTimer(p)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	rtc.Fail(w, r, s.cfg.Logger, "WHIP", err)
}
