package pull

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/input/live"
	"github.com/sluice-video/sluice/internal/testutil/poll"
	"github.com/sluice-video/sluice/internal/testutil/syncbuf"
)

// TestHTTPTS: a TS file streamed over HTTP fills the hub; when the server
// ends the stream the session closes with a reason, and the puller
// connects again.
func TestHTTPTS(t *testing.T) {
	data := tsFile(t, 3)
	var conns atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conns.Add(1)
		w.Header().Set("Content-Type", "video/mp2t")
		// In pieces, as a live stream arrives.
		for rest := data; len(rest) > 0; {
			n := min(len(rest), 188*70)
			if _, err := w.Write(rest[:n]); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			rest = rest[n:]
			select {
			case <-r.Context().Done():
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}))
	defer srv.Close()

	reg := live.NewRegistry(nil)
	hub := reg.Set(live.InputConfig{Name: "feed", Protocol: "pull"})
	w := watch(t, hub)
	p := startRun(t, reg, "feed", srv.URL+"/live/stream", testOptions())
	expectMedia(t, w, live.H264, live.AAC, 320, 180)
	poll.UntilTrue(t, "the session to end with the stream", waitLong, func() bool { return len(w.endings()) > 0 })
	if got := w.endings()[0]; !strings.Contains(got, "the source ended the stream") {
		t.Errorf("end reason %q", got)
	}
	poll.UntilTrue(t, "a second connection", waitLong, func() bool { return conns.Load() >= 2 })
	logsContain(t, p, "pulling input feed from "+srv.URL+"/live/stream ended: the source ended the stream; reconnecting in")
	st := hub.Status()
	if st.LastPublisher != srv.URL+"/live/stream" {
		t.Errorf("status %+v", st)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, pub := range w.pubs {
		if pub.Protocol != "http" || pub.Remote != srv.URL+"/live/stream" {
			t.Errorf("publisher %+v", pub)
		}
	}
}

// TestHTTPFailures: each failure is logged in words, with the credentials
// of the URL left out, and the puller keeps trying.
func TestHTTPFailures(t *testing.T) {
	garbage := bytes.Repeat([]byte("not a video stream, "), 1000)
	var authHeader atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		authHeader.Store(r.Header.Get("Authorization"))
		switch r.URL.Path {
		case "/missing.m3u8", "/missing":
			http.NotFound(w, r)
		case "/secret":
			http.Error(w, "no", http.StatusUnauthorized)
		case "/garbage":
			w.Header().Set("Content-Type", "application/octet-stream")
			_, _ = w.Write(garbage)
		case "/bad.m3u8":
			_, _ = w.Write(garbage)
		case "/big.m3u8":
			_, _ = w.Write([]byte("#EXTM3U\n"))
			_, _ = w.Write(bytes.Repeat([]byte("#EXT-X-COMMENT\n"), 100_000))
		case "/fake.ts":
			// Sync bytes, but nothing a demuxer can use.
			_, _ = w.Write(bytes.Repeat(append([]byte{0x47}, make([]byte, 187)...), 400))
		}
	}))
	defer srv.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	refused := closed.URL
	closed.Close()

	cases := []struct {
		name, url, want string
	}{
		{"connection refused", refused + "/live.m3u8", "failed: connection refused by " + strings.TrimPrefix(refused, "http://") + "; retrying in"},
		{"not found", srv.URL + "/missing", "failed: 404 Not Found; retrying in"},
		{"playlist not found", srv.URL + "/missing.m3u8", "failed: 404 Not Found; retrying in"},
		{"garbage", srv.URL + "/garbage", "failed: the server sent neither an HLS playlist nor an MPEG-TS stream (content type application/octet-stream)"},
		{"garbage playlist", srv.URL + "/bad.m3u8", "failed: the server sent something other than an HLS playlist; retrying in"},
		{"huge playlist", srv.URL + "/big.m3u8", "failed: /big.m3u8 is larger than 1 MiB; retrying in"},
		{"junk with sync bytes", srv.URL + "/fake.ts", "failed: the source ended the stream before its MPEG-TS program tables came; retrying in"},
		{"credentials", strings.Replace(srv.URL, "http://", "http://alice:s3cr%21t@", 1) + "/secret", "failed: 401 Unauthorized; retrying in"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			reg := live.NewRegistry(nil)
			hub := reg.Set(live.InputConfig{Name: "news", Protocol: "pull"})
			p := startRun(t, reg, "news", c.url, testOptions())
			logsContain(t, p, c.want)
			// Several attempts, spaced by the backoff.
			poll.UntilTrue(t, "a second attempt", waitLong, func() bool { return strings.Count(p.logs.String(), "failed: ") >= 2 })
			if _, ok := hub.Live(); ok {
				t.Error("the hub has a publisher")
			}
			if err := p.stop(t); err != nil {
				t.Errorf("Run returned %v", err)
			}
			logs := p.logs.String()
			for _, secret := range []string{"s3cr", "alice"} {
				if strings.Contains(logs, secret) {
					t.Errorf("the logs show %q:\n%s", secret, logs)
				}
			}
		})
	}
	if got, _ := authHeader.Load().(string); !strings.HasPrefix(got, "Basic ") {
		t.Errorf("credentials of the URL were not sent: %q", got)
	}
}

// TestProgressiveMP4Refused: an MP4 file over HTTP is refused at once,
// with a message that points to FILE inputs.
func TestProgressiveMP4Refused(t *testing.T) {
	path := encode(t, t.TempDir(), "movie.mp4", 1, "-movflags", "+faststart")
	mp4, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = w.Write(mp4)
	}))
	defer srv.Close()
	reg := live.NewRegistry(nil)
	reg.Set(live.InputConfig{Name: "movie", Protocol: "pull"})
	var logs syncbuf.Buffer
	err = run(context.Background(), reg, "movie", srv.URL+"/movie", newTestLogger(&logs), testOptions())
	if !errors.Is(err, ErrProgressiveMP4) || !strings.Contains(err.Error(), "use a FILE input") {
		t.Errorf("Run returned %v", err)
	}
	if !strings.Contains(logs.String(), "use a FILE input") {
		t.Errorf("logs:\n%s", logs.String())
	}
}

// TestCancelStopsPromptly: a server that accepts and then sends nothing
// does not keep Run from returning when its context ends.
func TestCancelStopsPromptly(t *testing.T) {
	release := make(chan struct{})
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		w.Header().Set("Content-Type", "video/mp2t")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	reg := live.NewRegistry(nil)
	reg.Set(live.InputConfig{Name: "stuck", Protocol: "pull"})
	o := testOptions()
	o.readTimeout = time.Hour // only the context can end the attempt
	p := startRun(t, reg, "stuck", srv.URL+"/stream", o)
	poll.UntilTrue(t, "the request", waitLong, func() bool { return requests.Load() > 0 })
	if err := p.stop(t); err != nil {
		t.Errorf("Run returned %v", err)
	}
}

// TestBadURL: URLs that cannot be pulled are refused at once.
func TestBadURL(t *testing.T) {
	reg := live.NewRegistry(nil)
	for _, u := range []string{"ftp://host/x", "srt://host:9000", "file:///tmp/x.ts", "http://", "rtsp:///path", "::bad", "http://bob:hunter2@[::1"} {
		err := Run(context.Background(), reg, "in", u, nil, nil)
		if !errors.Is(err, ErrUnsupportedURL) {
			t.Errorf("%s: %v", u, err)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s: the error shows the password: %v", u, err)
		}
	}
}

func TestSniff(t *testing.T) {
	ts := bytes.Repeat(append([]byte{0x47}, make([]byte, 187)...), 3)
	cases := []struct {
		contentType string
		head        []byte
		want        httpKind
	}{
		{"", []byte("#EXTM3U\n#EXT-X-VERSION:3"), kindHLS},
		{"text/plain", []byte("\xef\xbb\xbf\r\n#EXTM3U\n"), kindHLS},
		{"application/vnd.apple.mpegurl; charset=utf-8", []byte("<html>"), kindHLS},
		{"application/octet-stream", ts, kindTS},
		{"video/mp2t", append(append([]byte{}, ts...), 0x00), kindUnknown},
		{"", []byte("\x00\x00\x00\x20ftypisom"), kindMP4},
		{"video/mp4", []byte("<html>"), kindMP4},
		{"text/html", []byte("<html>"), kindUnknown},
		{"", nil, kindUnknown},
	}
	for i, c := range cases {
		if got := sniff(c.contentType, c.head); got != c.want {
			t.Errorf("case %d (%s): %v, want %v", i, c.contentType, got, c.want)
		}
	}
}

// TestJunkStreamIsBounded: an endless stream that looks like MPEG-TS but
// carries nothing is given up after a bounded number of bytes.
func TestJunkStreamIsBounded(t *testing.T) {
	null := append([]byte{0x47, 0x1f, 0xff, 0x10}, make([]byte, 184)...)
	chunk := bytes.Repeat(null, 100)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for r.Context().Err() == nil {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	defer srv.Close()
	reg := live.NewRegistry(nil)
	reg.Set(live.InputConfig{Name: "junk", Protocol: "pull"})
	o := testOptions()
	o.maxTSProbe = 256 << 10
	p := startRun(t, reg, "junk", srv.URL+"/stream", o)
	logsContain(t, p, "failed: no decodable video in the MPEG-TS stream in the first 256 KiB; retrying in")
}

// FuzzSniff: any answer's first bytes are classified without a panic.
func FuzzSniff(f *testing.F) {
	f.Add("video/mp2t", []byte{0x47, 0x00})
	f.Add("application/vnd.apple.mpegurl", []byte("#EXTM3U"))
	f.Add("", []byte("\x00\x00\x00\x18ftypmp42"))
	f.Fuzz(func(_ *testing.T, contentType string, head []byte) {
		_ = sniff(contentType, head)
	})
}
