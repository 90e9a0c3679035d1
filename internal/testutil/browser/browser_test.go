package browser

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"
)

// fakePlayerPage defines a window.sluicePlayer that is ready at once and
// whose clock runs in real time; ?fatal makes it fail after a second.
const fakePlayerPage = `<!doctype html><title>fake player</title><script>
const began = performance.now();
window.sluicePlayer = {
	kind: "fake", ready: true, errors: ["warming up"], fatal: null,
	currentTime: () => (performance.now() - began) / 1000,
	latencySeconds: () => 2.5,
};
console.error("fake console failure");
if (location.search === "?fatal") {
	setTimeout(() => { window.sluicePlayer.fatal = "decoder gone"; }, 1000);
}
</script>`

func needChromium(t *testing.T) {
	t.Helper()
	if _, err := Available(); err != nil {
		if os.Getenv("SLUICE_REQUIRE_TOOLS") == "1" {
			t.Fatalf("SLUICE_REQUIRE_TOOLS=1 but %v", err)
		}
		t.Skip(err)
	}
}

func fakePlayerServer(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(fakePlayerPage))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestPlaySamplesTheFakePlayer(t *testing.T) {
	needChromium(t)
	srv := fakePlayerServer(t)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	res, err := Play(ctx, srv.URL, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if res.Fatal != "" {
		t.Errorf("Fatal = %q", res.Fatal)
	}
	if n := len(res.Samples); n < 3 {
		t.Fatalf("%d samples, want 3 (at 0, 1 and 2 s): %+v", n, res.Samples)
	}
	first, last := res.Samples[0], res.Samples[len(res.Samples)-1]
	if last.At < 2*time.Second || last.CurrentTime-first.CurrentTime < 1.5 {
		t.Errorf("samples do not span the watch: %+v", res.Samples)
	}
	if first.Latency != 2.5 {
		t.Errorf("Latency = %v, want 2.5", first.Latency)
	}
	joined := strings.Join(res.Errors, "\n")
	for _, want := range []string{"warming up", "console error: fake console failure"} {
		if !strings.Contains(joined, want) {
			t.Errorf("Errors lack %q: %q", want, res.Errors)
		}
	}
}

func TestPlayAllPlaysEveryPageAtOnce(t *testing.T) {
	needChromium(t)
	srv := fakePlayerServer(t)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	results, err := PlayAll(ctx, []string{srv.URL + "/?tab=1", srv.URL + "/?tab=2"}, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 2 {
		t.Fatalf("%d results for 2 pages", len(results))
	}
	for i, res := range results {
		if n := len(res.Samples); n < 3 || res.Fatal != "" {
			t.Fatalf("page %d: %d samples (want 3), fatal %q", i, n, res.Fatal)
		}
		if first, last := res.Samples[0], res.Samples[len(res.Samples)-1]; last.CurrentTime-first.CurrentTime < 1.5 {
			t.Errorf("page %d did not play through the watch: %+v", i, res.Samples)
		}
		// Each tab reports its own console.
		if got := strings.Count(strings.Join(res.Errors, "\n"), "fake console failure"); got != 1 {
			t.Errorf("page %d: the console failure is reported %d times: %q", i, got, res.Errors)
		}
	}
}

func TestPlayStopsAtAFatalError(t *testing.T) {
	needChromium(t)
	srv := fakePlayerServer(t)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	res, err := Play(ctx, srv.URL+"/?fatal", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if res.Fatal != "decoder gone" {
		t.Errorf("Fatal = %q, want %q", res.Fatal, "decoder gone")
	}
	if last := res.Samples[len(res.Samples)-1]; last.At > 10*time.Second {
		t.Errorf("sampling went on for %s after the fatal error", last.At)
	}
}

func TestScreenshotWritesAPNG(t *testing.T) {
	needChromium(t)
	srv := fakePlayerServer(t)
	png := t.TempDir() + "/page.png"
	if err := Screenshot(t.Context(), srv.URL, png, 100*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(png)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(data), "\x89PNG") {
		t.Errorf("not a PNG: % x", data[:min(8, len(data))])
	}
}

func TestProfileDirectoryRemoved(t *testing.T) {
	needChromium(t)
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp) // os.MkdirTemp puts the profile here
	srv := fakePlayerServer(t)
	if _, err := Play(t.Context(), srv.URL, 0); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(tmp)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "sluice-chromium-") {
			t.Errorf("profile directory %s left behind", e.Name())
		}
	}
}
