package edge

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/sluice-video/sluice/internal/problem"
)

// passthrough streams an object too large to cache straight from the
// origins to one viewer, with the viewer's range and conditions.
func (e *Edge) passthrough(w http.ResponseWriter, r *http.Request, target string) {
	ctx := r.Context()
	select {
	case e.sem <- struct{}{}:
	case <-ctx.Done():
		return
	}
	defer func() { <-e.sem }()
	hdr := http.Header{}
	for _, k := range []string{"Range", "If-Range", "If-None-Match", "If-Modified-Since"} {
		if v := r.Header.Values(k); len(v) > 0 {
			hdr[k] = v
		}
	}
	resp, err := e.origins.do(ctx, target, hdr)
	if err != nil {
		if ctx.Err() == nil {
			e.logger.Warn("origins failed", "key", target, "error", err)
			f := failureOf(err)
			setCORS(w.Header())
			problem.Write(w, r, f.status, f.detail, 0)
		}
		return
	}
	defer resp.close()
	h := w.Header()
	for k, v := range passHeaders(resp.Header) {
		h[k] = v
	}
	for _, k := range []string{"Content-Length", "Content-Range", "Accept-Ranges"} {
		if v := resp.Header.Get(k); v != "" {
			h.Set(k, v)
		}
	}
	h.Set("X-Cache", labelMiss)
	if via := strings.Join(resp.Header.Values("Via"), ", "); via != "" {
		h.Set("Via", via+", "+e.via)
	} else {
		h.Set("Via", e.via)
	}
	w.WriteHeader(resp.StatusCode)
	if r.Method == http.MethodHead {
		return
	}
	if err := e.copyTo(w, resp); err != nil && ctx.Err() == nil {
		panic(http.ErrAbortHandler)
	}
}

// continueFrom sends the rest of an object that outgrew the cache while it
// streamed, from byte off, with a range request of this viewer's own. It
// reports false when the origin cannot give exactly that rest.
func (e *Edge) continueFrom(w http.ResponseWriter, r *http.Request, en *entry, off int) bool {
	ctx := r.Context()
	select {
	case e.sem <- struct{}{}:
	case <-ctx.Done():
		return false
	}
	defer func() { <-e.sem }()
	hdr := http.Header{"Range": {"bytes=" + strconv.Itoa(off) + "-"}}
	if etag := en.header.Get("ETag"); etag != "" && !strings.HasPrefix(etag, "W/") {
		hdr.Set("If-Range", etag)
	}
	resp, err := e.origins.do(ctx, en.key, hdr)
	if err != nil {
		return false
	}
	defer resp.close()
	switch {
	case resp.StatusCode == http.StatusPartialContent && strings.HasPrefix(resp.Header.Get("Content-Range"), "bytes "+strconv.Itoa(off)+"-"):
	case resp.StatusCode == http.StatusOK && sameObject(en, resp.Header.Get("ETag")):
		// An origin without ranges sends it all again: skip what was sent.
		if _, err := io.CopyN(io.Discard, resp.Body, int64(off)); err != nil {
			return false
		}
	default:
		return false
	}
	return e.copyTo(w, resp) == nil
}

// sameObject reports whether a response with etag is the object of en: the
// same strong validator, or an immutable object with none.
func sameObject(en *entry, etag string) bool {
	own := en.header.Get("ETag")
	if own == "" {
		return etag == "" && en.fresh.immutable
	}
	return etag == own && !strings.HasPrefix(own, "W/")
}

// copyTo streams an origin body to a viewer, flushing each piece.
func (e *Edge) copyTo(w http.ResponseWriter, resp *originResponse) error {
	rc := http.NewResponseController(w)
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.read(buf, e.cfg.OriginTimeout)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil { //nolint:gosec // the origin's bytes, passed on verbatim with the origin's Content-Type
				return werr
			}
			_ = rc.Flush()
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
