package api

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/sluice-video/sluice/internal/metrics"
	"github.com/sluice-video/sluice/internal/problem"
	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/secret"
)

func (a *API) queryMetrics(w http.ResponseWriter, r *http.Request) {
	if a.cfg.Metrics == nil {
		problem.Write(w, r, http.StatusNotFound, "metrics are not kept by this server", 0)
		return
	}
	q, err := metrics.ParseQuery(r.URL.Query())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	res, err := a.cfg.Metrics.Query(q)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.reply(w, r, http.StatusOK, res)
}

// eventPage is a page of the event history.
type eventPage struct {
	Events []resource.Event `json:"events"`
	// Next is the "after" of the next page.
	Next uint64 `json:"next"`
}

func (a *API) listEvents(w http.ResponseWriter, r *http.Request) {
	if a.cfg.Bus == nil {
		problem.Write(w, r, http.StatusNotFound, "events are not kept by this server", 0)
		return
	}
	q := r.URL.Query()
	var errs resource.FieldErrors
	after, err := strconv.ParseUint(orDefault(q.Get("after"), "0"), 10, 64)
	if err != nil {
		errs.Add("after", "must be an event sequence number")
	}
	limit := limitOf(r, &errs)
	if errs.Err() != nil {
		a.fail(w, r, errs)
		return
	}
	evs := a.cfg.Bus.History(after, limit, q.Get("type"))
	if evs == nil {
		evs = []resource.Event{} // an empty page is [], never null
	}
	page := eventPage{Events: evs, Next: after}
	if n := len(evs); n > 0 {
		page.Next = evs[n-1].Seq
	}
	a.reply(w, r, http.StatusOK, page)
}

func (a *API) streamEvents(w http.ResponseWriter, r *http.Request) {
	if a.sse == nil {
		problem.Write(w, r, http.StatusNotFound, "events are not kept by this server", 0)
		return
	}
	if err := streamCursor(r); err != nil {
		a.fail(w, r, err)
		return
	}
	if a.seesSecrets(r) {
		a.sse.ServeHTTP(w, r)
		return
	}
	// Each event is redacted with the secrets the server holds when it is
	// sent; one that cannot be is left out rather than sent whole.
	a.sse.Serve(w, r, func(e resource.Event) (resource.Event, bool) {
		known, err := a.KnownSecrets(r.Context())
		if err != nil {
			a.logger.Warn("an event was left out of a stream: it could not be redacted", "event", e.Seq, "error", err)
			return e, false
		}
		return secret.Redact(e, known), true
	})
}

func (a *API) webhookDeliveries(w http.ResponseWriter, r *http.Request) {
	if a.cfg.Hooks == nil {
		problem.Write(w, r, http.StatusNotFound, "webhooks are not delivered by this server", 0)
		return
	}
	url := r.URL.Query().Get("url")
	if url == "" {
		a.reply(w, r, http.StatusOK, a.cfg.Hooks.Webhooks())
		return
	}
	a.reply(w, r, http.StatusOK, a.cfg.Hooks.Log(url, 100))
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// streamCursor checks where an event stream resumes (Last-Event-ID, else
// ?after=) before the stream starts, so that a wrong one is a problem
// naming it rather than the stream's own plain-text refusal.
func streamCursor(r *http.Request) error {
	var errs resource.FieldErrors
	if v := r.Header.Get("Last-Event-ID"); v != "" {
		if _, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64); err != nil {
			errs.Add("Last-Event-ID", "must be an event sequence number")
		}
	} else if v := r.URL.Query().Get("after"); v != "" {
		if _, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64); err != nil {
			errs.Add("after", "must be an event sequence number")
		}
	}
	return errs.Err()
}
