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
	// Type is the URI of the problem's Type (about:blank for a status
	// without one).
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

// Write sends a problem document with the given status, of the general
// type of that status (see ForStatus). cacheSeconds, when positive, lets
// caches keep the error that long (the origin caches errors for a second
// so that a storm of requests for a missing object is cheap).
func Write(w http.ResponseWriter, r *http.Request, status int, detail string, cacheSeconds int, fields ...FieldError) {
	d := Details{Type: "about:blank", Title: http.StatusText(status), Status: status}
	if t := ForStatus(status); t != "" {
		d.Type, d.Title = t.URI(), t.Title()
	}
	send(w, r, d, detail, cacheSeconds, fields)
}

// Send sends a problem document of type t, with its status and title.
// detail says in words what happened to this request; fields name the
// fields of an invalid request.
func Send(w http.ResponseWriter, r *http.Request, t Type, detail string, cacheSeconds int, fields ...FieldError) {
	send(w, r, Details{Type: t.URI(), Title: t.Title(), Status: t.Status()}, detail, cacheSeconds, fields)
}

func send(w http.ResponseWriter, r *http.Request, d Details, detail string, cacheSeconds int, fields []FieldError) {
	d.Detail = detail
	d.Instance = r.URL.Path
	d.Errors = fields
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
	w.WriteHeader(d.Status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// Answer is a handler that answers every request with status and detail.
func Answer(status int, detail string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { Write(w, r, status, detail, 0) })
}
