// Package problem writes RFC 9457 problem details, the one JSON error shape
// of every Sluice HTTP response.
package problem

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// Details is an RFC 9457 problem document.
type Details struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail,omitempty"`
	Instance string `json:"instance,omitempty"`
	// Errors lists field problems of an invalid request.
	Errors []FieldError `json:"errors,omitempty"`
}

// FieldError names a field of the request and what is wrong with it.
type FieldError struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

// ContentType is the media type of problem documents.
const ContentType = "application/problem+json"

// Write sends a problem document with the given status. cacheSeconds, when
// positive, lets caches keep the error that long (the origin caches errors
// for a second so that a storm of requests for a missing object is cheap).
func Write(w http.ResponseWriter, r *http.Request, status int, detail string, cacheSeconds int, fields ...FieldError) {
	write(w, r, Details{
		Type:     "about:blank",
		Title:    http.StatusText(status),
		Status:   status,
		Detail:   detail,
		Instance: r.URL.Path,
		Errors:   fields,
	}, cacheSeconds)
}

// WriteTyped sends a problem document of its own type (a URI reference
// that names the kind of problem, such as a refusal for want of a role)
// and title; it is never cached.
func WriteTyped(w http.ResponseWriter, r *http.Request, status int, typ, title, detail string) {
	write(w, r, Details{Type: typ, Title: title, Status: status, Detail: detail, Instance: r.URL.Path}, 0)
}

func write(w http.ResponseWriter, r *http.Request, d Details, cacheSeconds int) {
	status := d.Status
	body, _ := json.Marshal(d)
	h := w.Header()
	h.Set("Content-Type", ContentType)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("X-Content-Type-Options", "nosniff")
	if cacheSeconds > 0 {
		h.Set("Cache-Control", "public, max-age="+strconv.Itoa(cacheSeconds))
	} else {
		h.Set("Cache-Control", "no-store")
	}
	h.Del("ETag")
	h.Del("Last-Modified")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// Answer is a handler that answers every request with status and detail.
func Answer(status int, detail string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { Write(w, r, status, detail, 0) })
}
