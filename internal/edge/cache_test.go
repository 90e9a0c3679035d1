package edge

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/testutil/poll"
)

func TestTTLFromCacheControl(t *testing.T) {
	tests := []struct {
		name         string
		cacheControl string
		age          string
		// fresh is how long the edge serves it without asking again.
		fresh time.Duration
	}{
		{"manifest max-age", "public, max-age=1", "", time.Second},
		{"s-maxage over max-age", "public, max-age=1, s-maxage=10", "", 10 * time.Second},
		{"age accounted", "public, max-age=10", "4", 6 * time.Second},
		{"immutable segment", segmentCC, "", 365 * 24 * time.Hour},
		{"immutable alone", "public, immutable", "", 365 * 24 * time.Hour},
		{"no-store", "no-store", "", 0},
		{"private", "private, max-age=60", "", 0},
		{"no-cache", "public, no-cache, max-age=60", "", 0},
		{"max-age zero", "public, max-age=0", "", 0},
		{"no lifetime", "", "", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
				if tc.age != "" {
					w.Header().Set("Age", tc.age)
				}
				serveWith(tc.cacheControl, "body")(w, r)
			})
			clk := newClock()
			_, srv := startEdge(t, Config{Origins: []string{o.URL}, Now: clk.Now, HealthInterval: -1})
			url := srv.URL + "/live/news/hls/index.m3u8"
			expect(t, get(t, url), http.StatusOK, labelMiss, "body")
			if tc.fresh == 0 {
				expect(t, get(t, url), http.StatusOK, labelMiss, "body")
				if n := o.count.Load(); n != 2 {
					t.Fatalf("origin got %d requests, want 2: never cached", n)
				}
				return
			}
			clk.Advance(tc.fresh - time.Millisecond)
			r := get(t, url)
			expect(t, r, http.StatusOK, labelHit, "body")
			if want := fmt.Sprint(int((tc.fresh - time.Millisecond) / time.Second)); tc.age != "" && r.header.Get("Age") != fmt.Sprint(4+int((tc.fresh-time.Millisecond)/time.Second)) {
				t.Fatalf("Age %q (fresh for %s)", r.header.Get("Age"), want)
			}
			clk.Advance(time.Millisecond)
			expect(t, get(t, url), http.StatusOK, labelMiss, "body")
			if n := o.count.Load(); n != 2 {
				t.Fatalf("origin got %d requests, want 2", n)
			}
		})
	}
}

func TestErrorsAreCachedForOneSecond(t *testing.T) {
	for _, tc := range []struct {
		status       int
		cacheControl string
	}{
		{http.StatusNotFound, "public, max-age=3600"},
		{http.StatusNotFound, "no-store"},
		{http.StatusInternalServerError, "no-store"},
		{http.StatusServiceUnavailable, ""},
	} {
		t.Run(fmt.Sprint(tc.status, " ", tc.cacheControl), func(t *testing.T) {
			o := newOrigin(t, func(w http.ResponseWriter, _ *http.Request) {
				if tc.cacheControl != "" {
					w.Header().Set("Cache-Control", tc.cacheControl)
				}
				w.Header().Set("Content-Type", "application/problem+json")
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(`{"status":` + fmt.Sprint(tc.status) + `}`))
			})
			clk := newClock()
			_, srv := startEdge(t, Config{Origins: []string{o.URL}, Now: clk.Now, HealthInterval: -1})
			url := srv.URL + "/live/news/hls/720p/99.m4s"
			expect(t, get(t, url), tc.status, labelMiss, "")
			clk.Advance(999 * time.Millisecond)
			r := get(t, url)
			expect(t, r, tc.status, labelHit, "")
			if r.header.Get("Content-Type") != "application/problem+json" || !strings.Contains(r.body, fmt.Sprint(tc.status)) {
				t.Fatalf("cached error %q %q", r.header.Get("Content-Type"), r.body)
			}
			clk.Advance(time.Millisecond)
			expect(t, get(t, url), tc.status, labelMiss, "")
			if n := o.count.Load(); n != 2 {
				t.Fatalf("origin got %d requests, want 2", n)
			}
		})
	}
}

func TestCacheKeyIgnoresSignaturesAndUnlistedParams(t *testing.T) {
	o := newOrigin(t, serveWith("public, max-age=1", "playlist"))
	_, srv := startEdge(t, Config{Origins: []string{o.URL}, HealthInterval: -1})
	base := srv.URL + "/live/news/hls/720p/index.m3u8"
	expect(t, get(t, base+"?_HLS_msn=5&_HLS_part=1&sluice-policy=p1&sluice-signature=s1&sluice-key=k1"), http.StatusOK, labelMiss, "playlist")
	for _, q := range []string{
		"?_HLS_part=1&_HLS_msn=5",
		"?_HLS_msn=5&_HLS_part=1&sluice-policy=p2&sluice-signature=s2&sluice-key=k2",
		"?cachebuster=123&_HLS_part=1&_HLS_msn=5&token=abc",
	} {
		expect(t, get(t, base+q), http.StatusOK, labelHit, "playlist")
	}
	expect(t, get(t, base+"?_HLS_msn=6&_HLS_part=0"), http.StatusOK, labelMiss, "playlist")
	expect(t, get(t, base+"?utm_source=x"), http.StatusOK, labelMiss, "playlist")
	expect(t, get(t, base), http.StatusOK, labelHit, "playlist")
	want := []string{"/live/news/hls/720p/index.m3u8?_HLS_msn=5&_HLS_part=1", "/live/news/hls/720p/index.m3u8?_HLS_msn=6&_HLS_part=0", "/live/news/hls/720p/index.m3u8"}
	if got := o.seen(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("origin saw %q, want %q", got, want)
	}
}

func TestSignatureParamsCannotBeAllowed(t *testing.T) {
	for _, name := range []string{"sluice-signature", "Sluice-Policy", "sluice-key", "token", "Signature", "Key-Pair-Id"} {
		if _, err := New(Config{Origins: []string{"http://127.0.0.1:1"}, AllowedQuery: []string{name}, HealthInterval: -1}); err == nil {
			t.Errorf("AllowedQuery %q accepted", name)
		}
	}
}

func TestLRUEvictsByBytes(t *testing.T) {
	body := strings.Repeat("x", 10_000)
	o := newOrigin(t, serveWith(segmentCC, body))
	// Room for three objects, not four.
	e, srv := startEdge(t, Config{Origins: []string{o.URL}, MemoryBytes: 3*10_000 + 3*1_000, HealthInterval: -1})
	url := func(n int) string { return fmt.Sprintf("%s/live/news/hls/720p/%d.m4s", srv.URL, n) }
	for n := 1; n <= 3; n++ {
		expect(t, get(t, url(n)), http.StatusOK, labelMiss, body)
	}
	poll.UntilTrue(t, "three objects cached", 30*time.Second, func() bool { return e.Stats().Memory.Objects == 3 })
	expect(t, get(t, url(1)), http.StatusOK, labelHit, body) // 1 is now the most recently used
	expect(t, get(t, url(4)), http.StatusOK, labelMiss, body)
	poll.UntilTrue(t, "the fourth object cached", 30*time.Second, func() bool { return e.Stats().Memory.Objects == 3 && e.Stats().InFlight == 0 })
	expect(t, get(t, url(1)), http.StatusOK, labelHit, body)
	expect(t, get(t, url(3)), http.StatusOK, labelHit, body)
	expect(t, get(t, url(2)), http.StatusOK, labelMiss, body) // 2 was the least recently used
	if s := e.Stats(); s.Memory.Bytes > 3*10_000+3*1_000 {
		t.Fatalf("memory tier holds %d bytes", s.Memory.Bytes)
	}
}

func TestDiskTierRoundTrip(t *testing.T) {
	dir := t.TempDir()
	// Files of an earlier run are removed; other files are left alone.
	leftover := filepath.Join(dir, "0123-1.edge")
	other := filepath.Join(dir, "notes.txt")
	for _, f := range []string{leftover, other} {
		if err := os.WriteFile(f, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	body := func(n int) string { return strings.Repeat(fmt.Sprint(n), 20_000) }
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", segmentCC)
		w.Header().Set("Content-Type", "video/mp4")
		w.Header().Set("ETag", `"`+filepath.Base(r.URL.Path)+`"`)
		_, _ = w.Write([]byte(body(int(filepath.Base(r.URL.Path)[0] - '0'))))
	})
	clk := newClock()
	// The memory tier holds one object; the disk tier takes the others.
	e, srv := startEdge(t, Config{Origins: []string{o.URL}, MemoryBytes: 25_000, DiskDir: dir, DiskBytes: 1 << 20, Now: clk.Now, HealthInterval: -1})
	if _, err := os.Stat(leftover); !os.IsNotExist(err) {
		t.Fatal("an earlier run's file survived the start")
	}
	if _, err := os.Stat(other); err != nil {
		t.Fatal("a file that is not the edge's was removed")
	}
	url := func(n int) string { return fmt.Sprintf("%s/live/news/hls/720p/%d.m4s", srv.URL, n) }
	for n := 1; n <= 3; n++ {
		expect(t, get(t, url(n)), http.StatusOK, labelMiss, body(n))
		poll.UntilTrue(t, "the object cached", 30*time.Second, func() bool { return e.Stats().InFlight == 0 })
	}
	s := e.Stats()
	if s.Memory.Objects != 1 || s.Disk.Objects != 2 {
		t.Fatalf("memory %+v disk %+v", s.Memory, s.Disk)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.edge"))
	if len(files) != 2 {
		t.Fatalf("disk files %v", files)
	}
	clk.Advance(time.Hour)
	for _, n := range []int{1, 2} {
		r := get(t, url(n))
		expect(t, r, http.StatusOK, labelHit, body(n))
		if r.header.Get("ETag") != fmt.Sprintf(`"%d.m4s"`, n) || r.header.Get("Content-Type") != "video/mp4" || r.header.Get("Age") != "3600" {
			t.Fatalf("headers after the disk tier: %v", r.header)
		}
		poll.UntilTrue(t, "the object promoted", 30*time.Second, func() bool { return e.Stats().InFlight == 0 })
	}
	if n := o.count.Load(); n != 3 {
		t.Fatalf("origin got %d requests, want 3", n)
	}
}

func TestConditionalRangeAndHead(t *testing.T) {
	body := "0123456789"
	o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.Header().Set("Last-Modified", "Sun, 01 Mar 2026 11:00:00 GMT")
		serveWith(segmentCC, body)(w, r)
	})
	e, srv := startEdge(t, Config{Origins: []string{o.URL}, HealthInterval: -1})
	url := srv.URL + "/live/news/hls/720p/1.m4s"

	head := fetch(t, http.MethodHead, url)
	if head.status != http.StatusOK || head.body != "" || head.header.Get("X-Cache") != labelMiss {
		t.Fatalf("HEAD on a miss: %d %q %v", head.status, head.body, head.header)
	}
	// A HEAD is answered once the headers are in; the body follows.
	poll.UntilTrue(t, "the object cached", 30*time.Second, func() bool { return e.Stats().InFlight == 0 })
	r := get(t, url)
	expect(t, r, http.StatusOK, labelHit, body)
	for k, want := range map[string]string{
		"Content-Type": "video/mp4", "ETag": `"eeee"`, "Cache-Control": segmentCC,
		"Access-Control-Allow-Origin": "*", "Last-Modified": "Sun, 01 Mar 2026 11:00:00 GMT",
		"Content-Length": "10", "Via": "1.1 " + DefaultName,
	} {
		if got := r.header.Get(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
	if r.header.Get("Age") == "" {
		t.Error("no Age")
	}
	expect(t, get(t, url, "If-None-Match", `"other", "eeee"`), http.StatusNotModified, labelHit, "")
	part := get(t, url, "Range", "bytes=2-5")
	expect(t, part, http.StatusPartialContent, labelHit, "2345")
	if part.header.Get("Content-Range") != "bytes 2-5/10" {
		t.Fatalf("Content-Range %q", part.header.Get("Content-Range"))
	}
	head = fetch(t, http.MethodHead, url)
	if head.status != http.StatusOK || head.body != "" || head.header.Get("Content-Length") != "10" {
		t.Fatalf("HEAD on a hit: %d %v", head.status, head.header)
	}
	if n := o.count.Load(); n != 1 {
		t.Fatalf("origin got %d requests", n)
	}
}

func TestMethodsAndPreflight(t *testing.T) {
	o := newOrigin(t, serveWith(segmentCC, "x"))
	_, srv := startEdge(t, Config{Origins: []string{o.URL}, HealthInterval: -1})
	r := fetch(t, http.MethodPost, srv.URL+"/live/news/hls/index.m3u8")
	if r.status != http.StatusMethodNotAllowed || r.header.Get("Content-Type") != "application/problem+json" || r.header.Get("Allow") == "" {
		t.Fatalf("POST: %d %v %q", r.status, r.header, r.body)
	}
	p := fetch(t, http.MethodOptions, srv.URL+"/live/news/hls/index.m3u8")
	if p.status != http.StatusNoContent || p.header.Get("Access-Control-Allow-Origin") != "*" || !strings.Contains(p.header.Get("Access-Control-Allow-Headers"), "Range") {
		t.Fatalf("OPTIONS: %d %v", p.status, p.header)
	}
	if n := o.count.Load(); n != 0 {
		t.Fatalf("origin got %d requests", n)
	}
}

func TestTooLargeObjectsStreamThrough(t *testing.T) {
	big := strings.Repeat("0123456789", 500)
	for _, mode := range []string{"declared length", "chunked, origin with ranges", "chunked, origin without ranges"} {
		t.Run(mode, func(t *testing.T) {
			o := newOrigin(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", segmentCC)
				w.Header().Set("ETag", `"big"`)
				switch {
				case mode == "declared length":
					w.Header().Set("Content-Length", fmt.Sprint(len(big)))
					_, _ = w.Write([]byte(big))
				case r.Header.Get("Range") != "" && mode == "chunked, origin with ranges":
					http.ServeContent(w, r, "", time.Time{}, strings.NewReader(big))
				default:
					rc := http.NewResponseController(w)
					for i := 0; i < len(big); i += 500 {
						_, _ = w.Write([]byte(big[i : i+500]))
						_ = rc.Flush()
					}
				}
			})
			e, srv := startEdge(t, Config{Origins: []string{o.URL}, MaxObjectBytes: 1000, HealthInterval: -1})
			url := srv.URL + "/vod/big.mp4"
			for range 3 {
				r := get(t, url)
				if r.status != http.StatusOK || r.body != big {
					t.Fatalf("%d, %d bytes", r.status, len(r.body))
				}
			}
			if s := e.Stats(); s.Hits != 0 {
				t.Fatalf("a too-large object was served from the cache: %+v", s)
			}
		})
	}
}
