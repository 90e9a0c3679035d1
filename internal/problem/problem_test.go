package problem

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
)

func TestEveryTypeIsDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/api.md")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[Type]bool{}
	for _, typ := range Types() {
		if seen[typ] {
			t.Errorf("%s is listed twice", typ)
		}
		seen[typ] = true
		if !strings.Contains(string(doc), "`"+string(typ)+"`") {
			t.Errorf("docs/api.md does not describe the problem type `%s` (%s)", typ, typ.URI())
		}
		if typ.Title() == "" || http.StatusText(typ.Status()) == "" {
			t.Errorf("%s has no title or no status", typ)
		}
	}
}

func TestStatusesHaveTheirGeneralType(t *testing.T) {
	for _, typ := range Types() {
		general := ForStatus(typ.Status())
		if general == "" || general.Status() != typ.Status() {
			t.Errorf("status %d of %s has no general type of that status (ForStatus says %q)", typ.Status(), typ, general)
		}
	}
	for status := 400; status < 600; status++ {
		if typ := ForStatus(status); typ != "" && typ.Status() != status {
			t.Errorf("ForStatus(%d) is %s, of status %d", status, typ, typ.Status())
		}
	}
}

func TestWrittenProblems(t *testing.T) {
	cases := []struct {
		name   string
		write  func(w http.ResponseWriter, r *http.Request)
		status int
		typ    string
		title  string
	}{
		{"by status", func(w http.ResponseWriter, r *http.Request) { Write(w, r, 404, "no such thing", 0) }, 404, TypeBase + "not-found", "Not found"},
		{"by type", func(w http.ResponseWriter, r *http.Request) {
			Send(w, r, Validation, "the request is invalid", 0, FieldError{Path: "name", Message: "required"})
		}, 400, TypeBase + "validation", "Invalid request"},
		{"a status without a type", func(w http.ResponseWriter, r *http.Request) { Write(w, r, http.StatusTeapot, "short and stout", 0) }, 418, "about:blank", "I'm a teapot"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			c.write(rec, httptest.NewRequest("GET", "/api/v1/x", http.NoBody))
			var d Details
			if err := json.Unmarshal(rec.Body.Bytes(), &d); err != nil {
				t.Fatal(err)
			}
			if rec.Code != c.status || d.Status != c.status || d.Type != c.typ || d.Title != c.title || d.Detail == "" || d.Instance != "/api/v1/x" {
				t.Errorf("got %d %+v", rec.Code, d)
			}
			if ct := rec.Header().Get("Content-Type"); ct != ContentType {
				t.Errorf("Content-Type %q", ct)
			}
		})
	}
}
