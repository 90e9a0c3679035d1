// Package origin serves the packaged channels over HTTP: manifests rendered
// from the timeline (query-free HLS playlists once per timeline change, the
// rest on each request), segments from memory, with the
// Cache-Control, ETag, CORS and range behaviour a CDN in front expects.
// Each endpoint type has its own handler (hls.go, llhls.go, transport.go,
// dash.go), chosen once from the endpoint's type (dispatch.go); keys and
// time shifts are answered beside them (encryption.go, dvr.go,
// timeshift.go).
package origin

import (
	"bytes"
	"crypto/rand"
	"errors"
	"hash/fnv"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-video/sluice/internal/packager/cmaf"
	"github.com/sluice-video/sluice/internal/packager/dash"
	"github.com/sluice-video/sluice/internal/packager/hls"
	"github.com/sluice-video/sluice/internal/problem"
	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/spool"
)

// Channel is what the origin needs to serve one channel.
type Channel struct {
	// Timeline is nil until the channel first starts.
	Timeline *cmaf.Timeline
	Outputs  []resource.OutputGroup
	// DVR is the channel's archive when an endpoint has a DVR window.
	DVR Archive
	// Starting says the channel is meant to run here and will have
	// segments shortly (a node of a cluster that just took it over):
	// manifests without segments are then answered 503 with Retry-After,
	// which players retry, rather than 404, which they give up on.
	Starting bool
}

// LookupFunc finds a channel by name.
type LookupFunc func(name string) (Channel, bool)

// Origin is the HTTP handler of /live/ and /time.
type Origin struct {
	lookup   LookupFunc
	logger   *slog.Logger
	now      func() time.Time
	verifier Verifier
	// after starts the timers that bound blocking requests; tests replace it.
	after func(time.Duration) <-chan time.Time
	// keySecret derives the encryption keys of encrypted endpoints.
	keySecret []byte
	// ts keeps recently remuxed MPEG-TS segments, sealed recently
	// encrypted ones.
	ts, sealed derivedCache
	// rendered keeps the manifests rendered for the current timelines.
	rendered renderCache
	hdr      headerValues
	// spool, when set, keeps recent segments as files to send them with
	// sendfile(2).
	spool *spool.Spool
	// handlers answer each endpoint type (see endpointHandlers).
	handlers map[resource.OutputType]endpointHandler
	// whep answers WEBRTC endpoints' WHEP requests (see whep.go).
	whep WHEP
}

// Verifier checks a request's signature; a non-nil error says which
// condition failed, without secrets. *signing.Verifier satisfies it.
type Verifier interface {
	Verify(r *http.Request) error
}

// RequireSignatures makes endpoints with RequireSignedURLs check requests
// with v. Without a verifier such endpoints refuse every request: an
// endpoint meant to be protected is never served openly.
func (o *Origin) RequireSignatures(v Verifier) *Origin {
	o.verifier = v
	return o
}

// New returns an origin serving the channels lookup finds.
func New(lookup LookupFunc, logger *slog.Logger, now func() time.Time) *Origin {
	if now == nil {
		now = time.Now
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	secret := make([]byte, 32)
	_, _ = rand.Read(secret) // crypto/rand.Read never fails on Linux
	o := &Origin{lookup: lookup, logger: logger, now: now, after: time.After, keySecret: secret, hdr: newHeaderValues()}
	o.handlers = o.endpointHandlers()
	return o
}

// WithKeySecret sets the secret the encryption keys are derived from, so
// that several origins (or one across restarts) serve the same keys.
func (o *Origin) WithKeySecret(secret []byte) *Origin {
	o.keySecret = bytes.Clone(secret)
	return o
}

// WithSpool keeps copies of recently served segments in dir, within
// budget bytes, and answers plain segment requests from them with
// sendfile(2). dir is emptied first; it should be on a local disk or a
// tmpfs and belong to this origin alone.
func (o *Origin) WithSpool(dir string, budget int64) (*Origin, error) {
	sp, err := spool.New(dir, budget, o.logger)
	if err != nil {
		return nil, err
	}
	o.spool = sp
	return o, nil
}

// WithTimers replaces the timers that bound blocking requests, so that tests
// decide when a hold expires.
func (o *Origin) WithTimers(after func(time.Duration) <-chan time.Time) *Origin {
	o.after = after
	return o
}

// Register adds the origin's routes to mux.
func (o *Origin) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /live/{channel}/{endpoint}/{file}", o.serveManifest)
	mux.HandleFunc("GET /live/{channel}/{endpoint}/{rendition}/{file}", o.serveRendition)
	mux.HandleFunc("OPTIONS /live/", o.preflight)
	o.registerWHEP(mux)
	mux.HandleFunc("GET /live/", o.notFound)
	mux.HandleFunc("GET /time", o.serveTime)
}

var (
	segmentPattern = regexp.MustCompile(`^([0-9]{1,19})\.m4s$`)
	initPattern    = regexp.MustCompile(`^init-([0-9]{1,19})\.mp4$`)
)

// Cache lifetimes.
const (
	errorMaxAge   = 1
	segmentMaxAge = 365 * 24 * 3600
)

// signed checks the signature of a request for a protected endpoint and
// answers 403 problem+json naming the failed condition when it fails.
func (o *Origin) signed(w http.ResponseWriter, r *http.Request) bool {
	if o.verifier == nil {
		setCORS(w.Header())
		problem.Write(w, r, http.StatusForbidden, "this endpoint requires signed URLs and the server has no signing keys", 0)
		return false
	}
	if err := o.verifier.Verify(r); err != nil {
		setCORS(w.Header())
		problem.Write(w, r, http.StatusForbidden, err.Error(), 0)
		return false
	}
	return true
}

// writeManifest answers with a rendered manifest, cached for half a segment.
func (o *Origin) writeManifest(w http.ResponseWriter, r *http.Request, snap *cmaf.Snapshot, ctype string, body []byte, err error) {
	switch {
	case errors.Is(err, hls.ErrNoSegments) || errors.Is(err, dash.ErrNoSegments):
		if startingIn(r) {
			o.retryLater(w, r, "the channel has no segments yet; it is starting on this node")
			return
		}
		o.fail(w, r, http.StatusNotFound, "the channel has no segments yet; it is starting")
		return
	case errors.Is(err, hls.ErrUnknownRendition):
		o.fail(w, r, http.StatusNotFound, "no such rendition")
		return
	case err != nil:
		o.logger.Error("rendering a manifest failed", "path", r.URL.Path, "error", err)
		o.fail(w, r, http.StatusInternalServerError, "the manifest could not be rendered")
		return
	}
	h := w.Header()
	o.hdr.cors(h)
	h["Content-Type"] = []string{ctype}
	h["Cache-Control"] = []string{manifestMaxAge(snap)}
	h["Etag"] = []string{etagOf(body)}
	o.writeBody(w, r, body)
}

// writeMedia answers with an immutable segment; ranges and conditional
// requests are honoured.
func (o *Origin) writeMedia(w http.ResponseWriter, r *http.Request, data []byte, etag string) {
	o.writeMediaValues(w, r, data, etag, o.hdr.mp4)
}

// writeMediaValues is writeMedia with another Content-Type.
func (o *Origin) writeMediaValues(w http.ResponseWriter, r *http.Request, data []byte, etag string, ctype []string) {
	h := w.Header()
	o.hdr.cors(h)
	h["Content-Type"] = ctype
	h["Cache-Control"] = o.hdr.immutable
	h["Etag"] = []string{etag}
	o.writeSpooled(w, r, data, etag)
}

// serveTime is the clock players synchronise with (DASH UTCTiming).
func (o *Origin) serveTime(w http.ResponseWriter, _ *http.Request) {
	h := w.Header()
	setCORS(h)
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte(o.now().UTC().Format("2006-01-02T15:04:05.000Z")))
}

func (o *Origin) preflight(w http.ResponseWriter, _ *http.Request) {
	h := w.Header()
	setCORS(h)
	h.Set("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "Range, If-None-Match, If-Modified-Since")
	h.Set("Access-Control-Max-Age", "86400")
	w.WriteHeader(http.StatusNoContent)
}

func (o *Origin) notFound(w http.ResponseWriter, r *http.Request) {
	o.fail(w, r, http.StatusNotFound, "no such path: origin paths are /live/<channel>/<endpoint>/…")
}

func (o *Origin) fail(w http.ResponseWriter, r *http.Request, status int, detail string) {
	setCORS(w.Header())
	problem.Write(w, r, status, detail, errorMaxAge)
}

// retryLater answers 503 with Retry-After: 1, never cached: the answer
// comes within a segment or two.
func (o *Origin) retryLater(w http.ResponseWriter, r *http.Request, detail string) {
	setCORS(w.Header())
	w.Header().Set("Retry-After", "1")
	problem.Write(w, r, http.StatusServiceUnavailable, detail, 0)
}

// startingKey marks the requests of a channel that is starting here.
type startingKey struct{}

// startingIn reports whether r is for a channel starting here.
func startingIn(r *http.Request) bool {
	v, _ := r.Context().Value(startingKey{}).(bool)
	return v
}

func setCORS(h http.Header) {
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Expose-Headers", "Content-Length, Content-Range, ETag, Date, Age")
	h.Set("Timing-Allow-Origin", "*")
}

func etagOf(b []byte) string {
	h := fnv.New64a()
	_, _ = h.Write(b)
	return `"` + strconv.FormatUint(h.Sum64(), 16) + `"`
}

// timeURL is the absolute URL of this origin's clock, as the client reached it.
func timeURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	host := r.Host
	if host == "" || strings.ContainsAny(host, "/\\\"'<> ") {
		return "/time"
	}
	return scheme + "://" + host + "/time"
}
