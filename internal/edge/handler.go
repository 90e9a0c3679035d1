package edge

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-video/sluice/internal/problem"
	"github.com/sluice-video/sluice/internal/spool"
)

// X-Cache values: how the edge came by a response.
const (
	labelHit       = "HIT"
	labelMiss      = "MISS"
	labelCollapsed = "COLLAPSED"
	labelStale     = "STALE"
)

// ServeHTTP answers a viewer: health and CORS preflight locally, then the
// signature check, then the object from the cache or the origins.
func (e *Edge) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	e.stats.requests.Add(1)
	w := &countingWriter{ResponseWriter: rw}
	defer func() { e.stats.response(w.code, w.bytes) }()

	if r.URL.Path == e.cfg.HealthPath {
		e.serveHealth(w, r)
		return
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
	case http.MethodOptions:
		preflight(w)
		return
	default:
		w.Header().Set("Allow", "GET, HEAD, OPTIONS")
		problem.Write(w, r, http.StatusMethodNotAllowed, "the edge serves GET and HEAD only", 0)
		return
	}
	if e.cfg.Verifier != nil {
		if err := e.cfg.Verifier.Verify(r); err != nil {
			setCORS(w.Header())
			problem.Write(w, r, http.StatusForbidden, err.Error(), 0)
			return
		}
	}
	key := cacheKey(r.URL, e.allowed)
	en, role, err := e.lookup(key)
	if err != nil {
		problem.Write(w, r, http.StatusServiceUnavailable, "the edge is shutting down", 0)
		return
	}
	e.serve(w, r, en, role)
}

// lookup finds the entry for key: fresh in memory, stale while its refresh
// fails, in flight, or a new fetch.
func (e *Edge) lookup(key string) (*entry, role, error) {
	now := e.now()
	var stale *entry
	if c := e.memory.get(key); c != nil {
		switch {
		case c.freshAt(now):
			return c, roleHit, nil
		case c.usableStale(now, e.cfg.StaleIfError):
			if c.recentlyFailed(now) {
				return c, roleStale, nil
			}
			stale = c
		default:
			e.memory.remove(key, c)
		}
	}
	cached := func() *entry {
		if c := e.memory.get(key); c != nil && c.freshAt(now) {
			return c
		}
		return nil
	}
	return e.flights.join(key, cached, func(ctx context.Context, en *entry) { e.fetch(ctx, en, stale) })
}

// serve answers with en once it is ready.
func (e *Edge) serve(w http.ResponseWriter, r *http.Request, en *entry, role role) {
	if role == roleMiss || role == roleCollapsed {
		defer en.leave()
		select {
		case <-en.ready:
		case <-r.Context().Done():
			return
		}
	}
	label := labelHit
	switch {
	case role == roleMiss && !en.fromDisk:
		label = labelMiss
	case role == roleCollapsed && !en.fromDisk:
		label = labelCollapsed
	}
	switch {
	case role == roleStale:
		e.serveComplete(w, r, en, labelStale)
	case en.fallback != nil:
		e.serveComplete(w, r, en.fallback, labelStale)
	case en.tooLarge:
		e.stats.cache(labelMiss)
		e.passthrough(w, r, en.key)
	case en.failure != nil:
		e.stats.cache(label)
		h := w.Header()
		setCORS(h)
		h.Set("X-Cache", label)
		h.Set("Via", e.via)
		h.Set("Age", strconv.FormatInt(int64(en.age(e.now())/time.Second), 10))
		problem.Write(w, r, en.failure.status, en.failure.detail, int(errorTTL/time.Second))
	default:
		if _, complete := en.body.complete(); complete {
			e.serveComplete(w, r, en, label)
		} else {
			e.serveStreaming(w, r, en, label)
		}
	}
}

// serveComplete answers from a complete entry; a 200 gets conditional and
// range handling.
func (e *Edge) serveComplete(w http.ResponseWriter, r *http.Request, en *entry, label string) {
	e.stats.cache(label)
	body, _ := en.body.arrived()
	h := w.Header()
	e.writeHeaders(h, en, label)
	if en.status == http.StatusOK && !conditional(r) {
		// The common case, a plain GET: one write of the whole body, rather
		// than ServeContent's copy in 32 KB pieces.
		if h.Get("Content-Type") == "" {
			h["Content-Type"] = nil // no sniffing
		}
		h["Content-Length"] = []string{strconv.Itoa(len(body))}
		var f *os.File
		if e.spool != nil && r.Method != http.MethodHead && len(body) >= e.spool.MinBytes {
			en.spoolOnce.Do(func() { en.spoolKey = en.key + "\x00" + strconv.FormatUint(e.spoolSeq.Add(1), 10) })
			f = e.spool.Open(en.spoolKey, body)
		}
		w.WriteHeader(http.StatusOK)
		switch {
		case f != nil:
			spool.Send(w, f, int64(len(body)))
		case r.Method != http.MethodHead:
			_, _ = w.Write(body) //nolint:gosec // the origin's bytes, passed on verbatim with the origin's Content-Type
		}
		return
	}
	if en.status == http.StatusOK {
		var mod time.Time
		if lm := en.header.Get("Last-Modified"); lm != "" {
			mod, _ = http.ParseTime(lm)
		}
		if h.Get("Content-Type") == "" {
			h["Content-Type"] = nil // no sniffing
		}
		http.ServeContent(w, r, "", mod, bytes.NewReader(body))
		return
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(en.status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body) //nolint:gosec // the origin's bytes, passed on verbatim with the origin's Content-Type
	}
}

// conditional reports whether r asks for a range or sets a precondition,
// which ServeContent answers.
func conditional(r *http.Request) bool {
	for _, k := range [...]string{"Range", "If-None-Match", "If-Modified-Since", "If-Match", "If-Unmodified-Since", "If-Range"} {
		if v := r.Header[k]; len(v) > 0 && v[0] != "" {
			return true
		}
	}
	return false
}

// serveStreaming answers from an entry whose body is still arriving,
// sending each piece as soon as it is there.
func (e *Edge) serveStreaming(w http.ResponseWriter, r *http.Request, en *entry, label string) {
	ctx := r.Context()
	if r.Header.Get("Range") != "" && en.status == http.StatusOK {
		// Ranges are cut from the complete object.
		if _, err := en.body.wait(ctx); err != nil {
			if ctx.Err() == nil {
				problem.Write(w, r, http.StatusBadGateway, "the origin's response broke off", int(errorTTL/time.Second))
			}
			return
		}
		e.serveComplete(w, r, en, label)
		return
	}
	e.stats.cache(label)
	h := w.Header()
	e.writeHeaders(h, en, label)
	if etag := en.header.Get("ETag"); etag != "" && en.status == http.StatusOK && etagMatch(r.Header.Get("If-None-Match"), etag) {
		h.Del("Content-Type")
		w.WriteHeader(http.StatusNotModified)
		return
	}
	if en.length >= 0 {
		h.Set("Content-Length", strconv.FormatInt(en.length, 10))
	}
	w.WriteHeader(en.status)
	if r.Method == http.MethodHead {
		return
	}
	rc := http.NewResponseController(w)
	for off := 0; ; {
		chunk, err := en.body.next(ctx, off)
		if len(chunk) > 0 {
			if _, werr := w.Write(chunk); werr != nil { //nolint:gosec // the origin's bytes, passed on verbatim with the origin's Content-Type
				return
			}
			off += len(chunk)
			_ = rc.Flush()
		}
		switch {
		case errors.Is(err, io.EOF):
			return
		case err != nil && ctx.Err() != nil:
			return
		case errors.Is(err, errTooLarge) && e.continueFrom(w, r, en, off):
			return
		case err != nil:
			// The origin broke off: cut the response so the viewer sees it
			// is incomplete rather than taking it for the whole object.
			panic(http.ErrAbortHandler)
		}
	}
}

// writeHeaders sets the stored origin headers and the edge's own.
func (e *Edge) writeHeaders(h http.Header, en *entry, label string) {
	for k, v := range en.header {
		h[k] = v[:len(v):len(v)] // an append by a later handler copies
	}
	h["Age"] = []string{strconv.FormatInt(int64(en.age(e.now())/time.Second), 10)}
	if xc, ok := e.xCache[label]; ok {
		h["X-Cache"] = xc
	} else {
		h.Set("X-Cache", label)
	}
	if vias := en.header.Values("Via"); len(vias) > 0 && strings.Join(vias, "") != "" {
		h["Via"] = []string{strings.Join(vias, ", ") + ", " + e.via}
	} else {
		h["Via"] = e.viaOnly
	}
}

// serveHealth answers the health path: healthy while an origin is.
func (e *Edge) serveHealth(w http.ResponseWriter, r *http.Request) {
	if !e.origins.anyHealthy() {
		problem.Write(w, r, http.StatusServiceUnavailable, "no origin of this edge is healthy", 0)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	if r.Method != http.MethodHead {
		_, _ = io.WriteString(w, "ok\n")
	}
}

// preflight answers a CORS preflight as the origin does, without asking it:
// browsers send no credentials with preflights, so they cannot be signed.
func preflight(w http.ResponseWriter) {
	h := w.Header()
	setCORS(h)
	h.Set("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "Range, If-None-Match, If-Modified-Since")
	h.Set("Access-Control-Max-Age", "86400")
	w.WriteHeader(http.StatusNoContent)
}

// setCORS lets players on any site read the edge's own answers (errors,
// refusals) as they read the origin's.
func setCORS(h http.Header) {
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Expose-Headers", "Content-Length, Content-Range, ETag, Date, Age, X-Cache")
	h.Set("Timing-Allow-Origin", "*")
}

// etagMatch is the weak comparison If-None-Match asks for.
func etagMatch(header, etag string) bool {
	if header == "" {
		return false
	}
	etag = strings.TrimPrefix(etag, "W/")
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == etag {
			return true
		}
	}
	return false
}

// countingWriter counts the status and body bytes of a response.
type countingWriter struct {
	http.ResponseWriter
	code  int
	bytes int64
}

func (w *countingWriter) WriteHeader(code int) {
	if w.code == 0 && code >= 200 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *countingWriter) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(p)
	w.bytes += int64(n)
	return n, err
}

// ReadFrom passes a copy from a spooled file on to the connection, so that
// it is sent with sendfile(2), and counts it.
func (w *countingWriter) ReadFrom(src io.Reader) (int64, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	var n int64
	var err error
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(src)
	} else {
		n, err = io.Copy(struct{ io.Writer }{w.ResponseWriter}, src)
	}
	w.bytes += n
	return n, err
}

// Unwrap lets http.ResponseController reach the connection to flush.
func (w *countingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
