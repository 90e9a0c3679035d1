package edge

import (
	"net/http"
	"testing"
	"time"
)

func TestFreshnessOf(t *testing.T) {
	tests := []struct {
		name   string
		status int
		header http.Header
		want   freshness
	}{
		{"max-age", 200, http.Header{"Cache-Control": {"public, max-age=1"}}, freshness{store: true, ttl: time.Second}},
		{"s-maxage wins", 200, http.Header{"Cache-Control": {"max-age=1, s-maxage=30"}}, freshness{store: true, ttl: 30 * time.Second}},
		{"upper case, spaces", 200, http.Header{"Cache-Control": {" PUBLIC , Max-Age=5 "}}, freshness{store: true, ttl: 5 * time.Second}},
		{"two lines", 200, http.Header{"Cache-Control": {"public", "max-age=7"}}, freshness{store: true, ttl: 7 * time.Second}},
		{"immutable", 200, http.Header{"Cache-Control": {segmentCC}}, freshness{store: true, ttl: 365 * 24 * time.Hour, immutable: true}},
		{"must-revalidate", 200, http.Header{"Cache-Control": {"max-age=5, must-revalidate"}}, freshness{store: true, ttl: 5 * time.Second, noStale: true}},
		{"stale-if-error", 200, http.Header{"Cache-Control": {"public, max-age=1, stale-if-error=2"}}, freshness{store: true, ttl: time.Second, staleLimit: 2 * time.Second}},
		{"stale-if-error zero", 200, http.Header{"Cache-Control": {"max-age=1, stale-if-error=0"}}, freshness{store: true, ttl: time.Second, noStale: true}},
		{"expires", 200, http.Header{"Expires": {"Sun, 01 Mar 2026 12:00:10 GMT"}, "Date": {"Sun, 01 Mar 2026 12:00:00 GMT"}}, freshness{store: true, ttl: 10 * time.Second}},
		{"max-age over expires", 200, http.Header{"Cache-Control": {"max-age=2"}, "Expires": {"Sun, 01 Mar 2026 12:00:10 GMT"}, "Date": {"Sun, 01 Mar 2026 12:00:00 GMT"}}, freshness{store: true, ttl: 2 * time.Second}},
		{"bad max-age", 200, http.Header{"Cache-Control": {"max-age=soon"}}, freshness{}},
		{"no-store", 200, http.Header{"Cache-Control": {"no-store, max-age=60"}}, freshness{}},
		{"private", 200, http.Header{"Cache-Control": {"private, max-age=60"}}, freshness{}},
		{"no-cache with fields", 200, http.Header{"Cache-Control": {`no-cache="Set-Cookie", max-age=60`}}, freshness{}},
		{"set-cookie", 200, http.Header{"Cache-Control": {"max-age=60"}, "Set-Cookie": {"a=b"}}, freshness{}},
		{"vary star", 200, http.Header{"Cache-Control": {"max-age=60"}, "Vary": {"*"}}, freshness{}},
		{"partial content", 206, http.Header{"Cache-Control": {"max-age=60"}}, freshness{}},
		{"not found", 404, http.Header{"Cache-Control": {"max-age=3600"}}, freshness{store: true, ttl: time.Second, noStale: true}},
		{"server error no-store", 500, http.Header{"Cache-Control": {"no-store"}}, freshness{store: true, ttl: time.Second, noStale: true}},
	}
	for _, tc := range tests {
		if got := freshnessOf(tc.status, tc.header); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
	if got := ageOf(http.Header{"Age": {"12"}}); got != 12*time.Second {
		t.Errorf("Age 12: %s", got)
	}
	for _, bad := range []string{"", "-1", "x", "1.5"} {
		if got := ageOf(http.Header{"Age": {bad}}); got != 0 {
			t.Errorf("Age %q: %s", bad, got)
		}
	}
}

func TestEtagMatch(t *testing.T) {
	for _, tc := range []struct {
		header, etag string
		want         bool
	}{
		{`"a"`, `"a"`, true},
		{`"b", "a"`, `"a"`, true},
		{`W/"a"`, `"a"`, true},
		{`*`, `"a"`, true},
		{`"b"`, `"a"`, false},
		{``, `"a"`, false},
	} {
		if got := etagMatch(tc.header, tc.etag); got != tc.want {
			t.Errorf("etagMatch(%q, %q) = %v", tc.header, tc.etag, got)
		}
	}
}
