package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sluice-video/sluice/internal/problem"
	"github.com/sluice-video/sluice/internal/resource"
)

// A change the state database could not take because it does not answer
// is a 503 that says so, with a hint to try again, never a 500.
func TestUnreachableStateDatabaseIsServiceUnavailable(t *testing.T) {
	a := New(Config{})
	rec := httptest.NewRecorder()
	cause := resource.Unavailable("the state database is unreachable: dial tcp 10.0.0.5:5432: connect: connection refused")
	a.fail(rec, httptest.NewRequest(http.MethodPost, "/api/v1/inputs", nil), fmt.Errorf("creating input cam: %w", cause))
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("%d, Retry-After %q: want 503 with Retry-After", rec.Code, rec.Header().Get("Retry-After"))
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		t.Errorf("content type %s", ct)
	}
	var p problem.Details
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || !strings.Contains(p.Detail, "the state database is unreachable: dial tcp") {
		t.Errorf("problem: %+v %v", p, err)
	}
}
