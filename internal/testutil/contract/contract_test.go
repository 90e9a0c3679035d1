package contract

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/sluice-video/sluice/internal/problem"
)

// recorder collects what the transport reports instead of failing.
type recorder struct {
	mu   sync.Mutex
	errs []string
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.errs
	r.errs = nil
	return out
}

// fakeAPI answers as each case asks: the status, Content-Type and body
// come from the query.
func fakeAPI(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	switch q.Get("answer") {
	case "problem":
		problem.Send(w, r, problem.Type(q.Get("type")), "what went wrong", 0)
		return
	case "blank":
		w.Header().Set("Content-Type", problem.ContentType)
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"type":"about:blank","title":"Not Found","status":404}`)
		return
	case "stream":
		w.Header().Set("Content-Type", q.Get("ct"))
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		<-r.Context().Done() // a stream that never ends: it must not be read whole
		return
	}
	w.Header().Set("Content-Type", "application/json")
	var status int
	_, _ = fmt.Sscan(q.Get("status"), &status)
	w.WriteHeader(status)
	_, _ = io.WriteString(w, q.Get("body"))
}

func TestTransportReportsWhatTheDocumentDoesNotSay(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(fakeAPI))
	defer srv.Close()
	v, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	client := &http.Client{Transport: &Transport{V: v, T: rec, Next: http.DefaultTransport}}
	cases := []struct {
		name, method, path, body string
		want                     string // "" when the exchange matches
	}{
		{"a documented answer", "GET", `/api/v1/version?status=200&body={"version":"v1"}`, "", ""},
		{"a body that does not match its schema", "GET", `/api/v1/version?status=200&body={"version":5}`, "", "does not match"},
		{"a missing required field", "GET", `/api/v1/version?status=200&body={}`, "", "version"},
		{"an undocumented status", "GET", `/api/v1/version?status=202&body={}`, "", "status is not supported"},
		{"a route the document lacks", "GET", `/api/v1/secrets?status=200&body={}`, "", "no such operation"},
		{"a method the document lacks", "PATCH", `/api/v1/inputs?status=200&body={}`, "", "no such operation"},
		{"the server agrees there is no such route", "GET", "/api/v1/nothing?answer=problem&type=unknown-operation", "", ""},
		{"a documented problem", "GET", "/api/v1/channels/nope?answer=problem&type=not-found", "", ""},
		{"a problem of no documented type", "GET", "/api/v1/channels/nope?answer=blank", "", "not one of the documented problem types"},
		{"an error that is not a problem", "GET", `/api/v1/channels/nope?status=404&body={"error":"nope"}`, "", "application/problem+json"},
		{"a request the document refuses, accepted", "POST", `/api/v1/security-groups?status=201&body={"name":"a","allow":[]}`, `{"name":5,"allow":[]}`, "refuses"},
		{"a request the document refuses, refused", "POST", "/api/v1/security-groups?answer=problem&type=validation", `{"name":5,"allow":[]}`, ""},
		{"a stream is checked by its headers", "GET", "/api/v1/events/stream?answer=stream&ct=text/event-stream", "", ""},
		{"a stream of an undocumented type", "GET", "/api/v1/events/stream?answer=stream&ct=text/plain", "", "not documented"},
		{"other paths are not checked", "GET", "/live/x/index.m3u8?status=418", "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, err := http.NewRequest(c.method, srv.URL+c.path, strings.NewReader(c.body))
			if err != nil {
				t.Fatal(err)
			}
			if c.body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			errs := strings.Join(rec.take(), "\n")
			switch {
			case c.want == "" && errs != "":
				t.Errorf("reported a matching exchange: %s", errs)
			case c.want != "" && !strings.Contains(errs, c.want):
				t.Errorf("reported %q, want a report saying %q", errs, c.want)
			}
		})
	}
}

func TestABrokenDocumentDoesNotLoad(t *testing.T) {
	if _, err := LoadData([]byte("openapi: 3.0.3\ninfo: {title: x}\npaths:\n  /a: {get: {responses: {}}}\n")); err == nil {
		t.Error("a document without info.version and responses loaded")
	}
}
