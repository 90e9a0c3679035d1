package edge

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
)

// errTooLarge ends the shared body of an object found to be larger than
// MaxObjectBytes while it streamed.
var errTooLarge = errors.New("the object is larger than the edge caches")

// fetch fills en, from the disk tier when it holds a fresh copy, else from
// the origins. It runs apart from any client: a viewer that goes away does
// not cancel what others wait for, and a slow viewer reads from the entry's
// buffer without holding the origin connection. stale is the expired copy
// that may stand in if every origin fails.
func (e *Edge) fetch(ctx context.Context, en *entry, stale *entry) {
	defer e.flights.done()
	defer en.cancelFetch()

	if e.disk != nil {
		d, err := e.disk.get(en.key)
		if err != nil {
			e.logger.Warn("disk tier read failed", "key", en.key, "error", err)
		}
		if d != nil {
			now := e.now()
			if d.freshAt(now) {
				en.copyFrom(d)
				e.publish(en)
				return
			}
			if stale == nil && d.usableStale(now, e.cfg.StaleIfError) {
				stale = d
			}
		}
	}

	e.sem <- struct{}{}
	defer func() { <-e.sem }()
	resp, err := e.origins.do(ctx, en.key, nil)
	now := e.now()
	if (err != nil || resp.StatusCode >= 500) && stale != nil && stale.usableStale(now, e.cfg.StaleIfError) {
		if resp != nil {
			resp.close()
		}
		e.logger.Warn("origins failed; serving stale", "key", en.key, "error", errString(err, resp))
		stale.failedAt.Store(now.UnixNano())
		if stale.fromDisk {
			e.keep(stale) // so the next requests find it without the disk
		}
		en.fallback = stale
		// Forgotten first: a later request must judge the stale copy anew.
		e.flights.forget(en)
		close(en.ready)
		return
	}
	if err != nil {
		e.logger.Warn("origins failed", "key", en.key, "error", err)
		en.failure = failureOf(err)
		en.fetchedAt = now
		en.fresh = freshness{store: true, ttl: errorTTL, noStale: true}
		e.publish(en)
		return
	}
	defer resp.close()

	en.status = resp.StatusCode
	en.header = passHeaders(resp.Header)
	en.fetchedAt, en.initialAge = now, ageOf(resp.Header)
	en.fresh = freshnessOf(resp.StatusCode, resp.Header)
	if resp.ContentLength > e.cfg.MaxObjectBytes {
		// Every waiter asks the origin on its own; while the origin says it
		// is fresh, the entry tells later requests to do the same.
		en.tooLarge = true
		e.publish(en)
		return
	}
	en.length = resp.ContentLength
	en.body = newBuffer(resp.ContentLength)
	if !en.fresh.store {
		// Those already waiting share this response; later requests fetch
		// their own.
		e.flights.forget(en)
	}
	close(en.ready)
	if !en.fresh.store {
		en.markAbandonable()
	}

	last, err := e.copyBody(resp, en.body)
	switch {
	case errors.Is(err, errTooLarge):
		e.logger.Info("object too large to cache; streaming it through", "key", en.key, "limit", e.cfg.MaxObjectBytes)
		marker := newEntry(en.key)
		marker.tooLarge, marker.fetchedAt, marker.fresh = true, en.fetchedAt, en.fresh
		e.publish(marker)
	case err != nil:
		if ctx.Err() == nil {
			e.logger.Warn("origin body failed", "key", en.key, "origin", resp.origin.base, "error", err)
		}
	case en.fresh.store:
		en.body.seal(last)
		last = nil
		e.keep(en)
	}
	e.flights.forget(en)
	en.body.append(last)
	en.body.finish(err)
}

// publish makes a finished entry known: in the cache if it may be kept,
// no longer in flight, and ready for its waiters, in that order, so that a
// request never finds it half done.
func (e *Edge) publish(en *entry) {
	if en.fresh.store {
		e.keep(en)
	}
	e.flights.forget(en)
	close(en.ready)
}

// failureOf is the edge's answer when no origin answered: 504 for
// timeouts, else 502. The detail names no origin address; the log does.
func failureOf(err error) *failure {
	if errors.Is(err, errOriginTimeout) {
		return &failure{status: http.StatusGatewayTimeout, detail: "no origin answered in time"}
	}
	return &failure{status: http.StatusBadGateway, detail: "no origin could be reached"}
}

// copyBody appends the origin's body to buf as it arrives. When the origin
// declared the length, the last piece is held back and returned: a viewer
// that has every byte of a declared length is done, and the entry must be
// in the cache before that.
func (e *Edge) copyBody(resp *originResponse, buf *buffer) ([]byte, error) {
	chunk := make([]byte, 32<<10)
	var total int64
	var last []byte
	for {
		n, err := resp.read(chunk, e.cfg.OriginTimeout)
		if n > 0 {
			total += int64(n)
			switch {
			case total > e.cfg.MaxObjectBytes:
				return nil, errTooLarge
			case total == resp.ContentLength:
				last = append(last, chunk[:n]...)
			default:
				buf.append(chunk[:n])
			}
		}
		if errors.Is(err, io.EOF) {
			return last, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// keep puts a complete entry in the memory tier and moves what it evicts
// to the disk tier while it is still of use.
func (e *Edge) keep(en *entry) {
	evicted := e.memory.add(en)
	if e.disk == nil {
		return
	}
	now := e.now()
	for _, ev := range evicted {
		useful := ev.freshAt(now) || ev.usableStale(now, e.cfg.StaleIfError)
		if ev.tooLarge || ev.failure != nil || !useful {
			continue
		}
		if err := e.disk.put(ev); err != nil {
			e.logger.Warn("disk tier write failed", "key", ev.key, "error", err)
		}
	}
}

// copyFrom takes the response of another entry (one read from disk).
func (en *entry) copyFrom(d *entry) {
	en.status, en.header, en.length, en.body = d.status, d.header, d.length, d.body
	en.fetchedAt, en.initialAge, en.fresh, en.fromDisk = d.fetchedAt, d.initialAge, d.fresh, true
}

// passedHeaders are the origin headers the edge keeps and sends on, besides
// every Access-Control-* header.
var passedHeaders = []string{
	"Content-Type", "Content-Encoding", "Content-Language", "Content-Disposition",
	"ETag", "Last-Modified", "Cache-Control", "Expires", "Vary", "Location",
	"Retry-After", "Link", "Timing-Allow-Origin", "X-Content-Type-Options", "Via",
}

// passHeaders selects the origin headers a shared cache may repeat: never
// Set-Cookie, hop-by-hop headers or an inner edge's X-Cache.
func passHeaders(h http.Header) http.Header {
	out := make(http.Header, len(passedHeaders))
	for _, k := range passedHeaders {
		if v := h.Values(k); len(v) > 0 {
			out[http.CanonicalHeaderKey(k)] = v
		}
	}
	for k, v := range h {
		if strings.HasPrefix(k, "Access-Control-") {
			out[k] = v
		}
	}
	return out
}

func errString(err error, resp *originResponse) string {
	if err != nil {
		return err.Error()
	}
	return resp.origin.base + " answered " + resp.Status
}
