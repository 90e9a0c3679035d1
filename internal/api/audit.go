package api

import (
	"context"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-video/sluice/internal/auth"
	"github.com/sluice-video/sluice/internal/resource"
)

// auditNote is what a handler may add to its audit entry: the resource's
// name when the route does not say it, the actor of a login.
type auditNote struct {
	name  string
	actor string
}

type auditKey struct{}

// noteName records the name of the resource a change made, for routes
// whose path does not hold it.
func noteName(r *http.Request, name string) {
	if n, ok := r.Context().Value(auditKey{}).(*auditNote); ok {
		n.name = name
	}
}

// noteActor records who a login was for, since its caller is nobody yet.
func noteActor(r *http.Request, actor string) {
	if n, ok := r.Context().Value(auditKey{}).(*auditNote); ok {
		n.actor = actor
	}
}

// audit records every change, and every refused attempt at one, in the
// audit log: who, what (method, route, the kind and name of the
// resource, the answer's status), when and from where. Reads are not
// recorded. Bodies never are, so no password reaches the log.
func (a *API) audit(rt Route, next http.Handler) http.Handler {
	if a.cfg.Auth == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if safeMethod(r.Method) {
			next.ServeHTTP(w, r)
			return
		}
		note := &auditNote{}
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), auditKey{}, note)))
		c := callerOf(r)
		e := auth.AuditEntry{
			At: a.now().UTC(), Actor: c.Actor(), ActorKind: c.Kind, Method: r.Method, Route: rt.Path,
			Kind: kindOfRoute(rt.Path), Name: resourceName(r, sw, note), Status: sw.code(), Address: clientOf(r.RemoteAddr),
		}
		if note.actor != "" {
			e.Actor, e.ActorKind = note.actor, auth.KindSession
		}
		a.cfg.Auth.Record(r.Context(), e)
	})
}

// kindOfRoute is the collection a route acts on: "channels" for
// /api/v1/channels/{ref}/start.
func kindOfRoute(route string) string {
	rest := strings.TrimPrefix(route, "/api/v1/")
	kind, _, _ := strings.Cut(rest, "/")
	return kind
}

// resourceName is the name of the resource a change acted on: from the
// path, else what the handler noted, else the Location of what it made.
func resourceName(r *http.Request, sw *statusWriter, note *auditNote) string {
	for _, p := range []string{"ref", "id", "name"} {
		if v := r.PathValue(p); v != "" {
			return v
		}
	}
	if note.name != "" {
		return note.name
	}
	if loc := sw.Header().Get("Location"); loc != "" {
		return path.Base(loc)
	}
	return ""
}

// statusWriter keeps the status of an answer for the audit log.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) code() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

// auditPage is a page of the audit log, newest first; Next, when not 0,
// is the before= of the next page.
type auditPage struct {
	Entries []auth.AuditEntry `json:"entries"`
	Next    int64             `json:"next"`
}

// listAudit answers GET /api/v1/audit?actor=&kind=&since=&until=&before=&limit=.
func (a *API) listAudit(w http.ResponseWriter, r *http.Request) {
	if !a.haveAuth(w, r) {
		return
	}
	var errs resource.FieldErrors
	q := r.URL.Query()
	aq := auth.AuditQuery{Actor: q.Get("actor"), Kind: q.Get("kind"), Limit: limitOf(r, &errs)}
	aq.Since = timeParam(q.Get("since"), "since", &errs)
	aq.Until = timeParam(q.Get("until"), "until", &errs)
	if b := q.Get("before"); b != "" {
		n, err := parseSeq(b)
		if err != nil {
			errs.Add("before", "must be the next of a previous page: a whole number above 0")
		}
		aq.Before = n
	}
	if err := errs.Err(); err != nil {
		a.fail(w, r, err)
		return
	}
	entries, err := a.cfg.Auth.Audit(r.Context(), aq)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	page := auditPage{Entries: entries}
	if len(entries) == aq.Limit {
		page.Next = entries[len(entries)-1].Seq
	}
	a.reply(w, r, http.StatusOK, page)
}

// timeParam reads an RFC 3339 time of a query ("" is none).
func timeParam(s, name string, errs *resource.FieldErrors) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		errs.Add(name, "must be an RFC 3339 time such as 2026-12-01T09:00:00Z")
	}
	return t
}

// parseSeq reads a sequence number of the audit log.
func parseSeq(s string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err == nil && n < 1 {
		err = strconv.ErrRange
	}
	return n, err
}
