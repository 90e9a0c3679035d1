package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/output"
	"github.com/sluice-video/sluice/internal/problem"
	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/testutil/media"
	"github.com/sluice-video/sluice/internal/testutil/poll"
)

// TestFramesOnAServerWithAToken runs the binary with an API token and a
// per-client cap of one frames stream: anonymous frames are refused, a
// second stream from the same address is answered 429 until the first
// ends, and the documented Python consumer reads with --token.
func TestFramesOnAServerWithAToken(t *testing.T) {
	t.Parallel()
	const token = "e2e-frames-token-0123456789"
	dir := t.TempDir()
	sample := media.Sample(t, dir, 320, 180, 4)
	s := startServerWith(t, t.TempDir(), []string{"--token", token, "--frame-streams-per-client", "1"})
	if out, err := s.cli("--token", token, "apply", "-f", writeStack(t, dir, "fr.yaml", testStack("fr", sample))); err != nil {
		t.Fatalf("apply: %v\n%s", err, out)
	}
	s.waitState("fr", resource.StateRunning, 90*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	url := s.url("/api/v1/channels/fr/frames?width=64&height=48&fps=5&format=rgb24")
	open := func(tok string) *http.Response {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, http.NoBody)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := s.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	refusal := func(resp *http.Response) problem.Details {
		t.Helper()
		defer func() { _ = resp.Body.Close() }()
		var p problem.Details
		data, _ := io.ReadAll(resp.Body)
		if resp.Header.Get("Content-Type") != problem.ContentType || json.Unmarshal(data, &p) != nil {
			t.Fatalf("a refusal that is no problem document: %d %s", resp.StatusCode, data)
		}
		return p
	}

	if resp := open(""); resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") == "" {
		t.Fatalf("anonymous frames: %d %+v", resp.StatusCode, refusal(resp))
	} else {
		refusal(resp)
	}
	held := open(token)
	if held.StatusCode != http.StatusOK {
		t.Fatalf("frames with the token: %d %+v", held.StatusCode, refusal(held))
	}
	if _, _, err := output.NewFrameReader(held.Body).Next(); err != nil {
		t.Fatalf("the first frame: %v", err)
	}
	second := open(token)
	if second.StatusCode != http.StatusTooManyRequests || second.Header.Get("Retry-After") == "" {
		t.Fatalf("a second stream from one address: %d %+v", second.StatusCode, refusal(second))
	}
	if p := refusal(second); !strings.Contains(p.Detail, "--frame-streams-per-client") {
		t.Fatalf("the 429 does not name the cap: %q", p.Detail)
	}
	_ = held.Body.Close()
	poll.Until(t, "a place freed by the stream that ended", time.Minute, func() (bool, string) {
		resp := open(token)
		defer func() { _ = resp.Body.Close() }()
		return resp.StatusCode == http.StatusOK, resp.Status
	})

	py := numpyPython(t)
	if py == "" {
		return
	}
	script, err := filepath.Abs("../docs/examples/frames_consumer.py")
	if err != nil {
		t.Fatal(err)
	}
	// The stream polled for above may still hold the address's one place.
	poll.Until(t, "the documented consumer with --token", time.Minute, func() (bool, string) {
		out, err := exec.CommandContext(ctx, py, script, "http://"+s.addr, "fr", "--width", "48", "--height", "32", "--fps", "5", "--count", "3", "--token", token).CombinedOutput()
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		return err == nil && len(lines) == 3, string(out)
	})
}
