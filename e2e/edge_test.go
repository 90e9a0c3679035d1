package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/signing"
	"github.com/sluice-video/sluice/internal/testutil/browser"
	"github.com/sluice-video/sluice/internal/testutil/media"
	"github.com/sluice-video/sluice/internal/testutil/poll"
	"github.com/sluice-video/sluice/internal/testutil/syncbuf"
)

// edgeProc is one `sluice edge` process.
type edgeProc struct {
	t    *testing.T
	addr string
	cmd  *exec.Cmd
	log  *syncbuf.Buffer
	done chan struct{}
}

// startEdge runs sluice edge with args on a fresh loopback port and waits
// until it answers /healthz (which needs a healthy origin).
func startEdge(t *testing.T, args ...string) *edgeProc {
	t.Helper()
	e := &edgeProc{t: t, addr: freeAddr(t), log: &syncbuf.Buffer{}, done: make(chan struct{})}
	e.cmd = exec.Command(sluiceBin.get(t), append([]string{"edge", "--listen", e.addr, "--cache-size", "64MiB"}, args...)...)
	e.cmd.Env = append(os.Environ(), "GORACE=halt_on_error=1 exitcode=66")
	e.cmd.Stdout, e.cmd.Stderr = e.log, e.log
	if err := e.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = e.cmd.Wait(); close(e.done) }()
	t.Cleanup(func() {
		_ = e.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-e.done:
		case <-time.After(30 * time.Second):
			_ = e.cmd.Process.Kill()
			<-e.done
		}
		if t.Failed() {
			t.Logf("edge %s log:\n%s", e.addr, e.log.String())
		}
	})
	poll.Until(t, "edge answers /healthz", 30*time.Second, func() (bool, string) {
		resp, err := http.Get(e.url("/healthz"))
		if err != nil {
			return false, err.Error()
		}
		_ = resp.Body.Close()
		return resp.StatusCode == 200, resp.Status
	})
	return e
}

func (e *edgeProc) url(path string) string { return "http://" + e.addr + path }

// fetch GETs a URL and returns status, headers and body.
func fetch(t *testing.T, u string) (int, http.Header, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// metricValue reads one sample of a Prometheus text exposition.
func metricValue(t *testing.T, base, series string) float64 {
	t.Helper()
	_, _, body := fetch(t, base+"/metrics")
	sc := bufio.NewScanner(strings.NewReader(body))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), series+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				t.Fatalf("%s: %v", series, err)
			}
			return f
		}
	}
	t.Fatalf("/metrics of %s has no %s", base, series)
	return 0
}

// segmentURL finds a media segment of the channel's HLS endpoint at base:
// the last segment of the first rendition playlist.
func segmentURL(t *testing.T, base, channel, endpoint, query string) string {
	t.Helper()
	master := base + "/live/" + channel + "/" + endpoint + "/index.m3u8"
	if query != "" {
		master += "?" + query
	}
	code, _, body := fetch(t, master)
	if code != 200 {
		t.Fatalf("GET %s: %d %s", master, code, body)
	}
	mu, _ := url.Parse(master)
	rend := ""
	for _, line := range strings.Split(body, "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			rend = line
			break
		}
	}
	ru, err := mu.Parse(rend)
	if err != nil || rend == "" {
		t.Fatalf("no rendition in %s:\n%s", master, body)
	}
	if query != "" {
		ru.RawQuery = query
	}
	code, _, body = fetch(t, ru.String())
	if code != 200 {
		t.Fatalf("GET %s: %d %s", ru, code, body)
	}
	seg := ""
	for _, line := range strings.Split(body, "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			seg = line
		}
	}
	su, err := ru.Parse(seg)
	if err != nil || seg == "" {
		t.Fatalf("no segment in %s:\n%s", ru, body)
	}
	su.RawQuery = ""
	return su.Path
}

// TestPlayerThroughAnEdge plays the player page, its manifests and
// segments all through a sluice edge, with hls.js and with dash.js.
func TestPlayerThroughAnEdge(t *testing.T) {
	t.Parallel()
	if _, err := browser.Available(); err != nil {
		if os.Getenv(media.RequireEnv) == "1" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	s, _ := runningChannel(t, "edgeplay", 640, 360, 6)
	e := startEdge(t, "--origin", s.url(""), "--name", "play-edge")
	for _, player := range []string{"hls", "dash"} {
		t.Run(player, func(t *testing.T) {
			w, err := watchLive(t, s, "edgeplay", e.url("/play/edgeplay?player="+player), 15*time.Second)
			res := w.res
			if err != nil {
				t.Fatalf("%s did not start playing through the edge: %v (errors: %s)", player, err, strings.Join(errorsOf(res), "; "))
			}
			if res.Fatal != "" {
				t.Fatalf("%s fatal error through the edge: %s", player, res.Fatal)
			}
			if n := len(res.Samples); n < 10 {
				t.Fatalf("%s: only %d samples", player, n)
			}
			checkLiveProgress(t, player, w)
		})
	}
	// Segments came through the edge's cache.
	if hits := metricValue(t, e.url(""), `sluice_edge_requests_total{edge="play-edge",result="miss"}`); hits == 0 {
		t.Error("the edge fetched nothing from the origin")
	}
}

// TestStackDistributionServesAChannel applies a stack with a channel and a
// Distribution in front of the server itself, and reads the channel
// through the distribution's edge and its stats through the CLI.
func TestStackDistributionServesAChannel(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sample := media.Sample(t, dir, 320, 180, 4)
	s := startServer(t, t.TempDir())
	edgeAddr := freeAddr(t)
	stack := testStack("cdnch", sample) + fmt.Sprintf(`distributions:
  - name: local-edge
    listen: %q
    origins: [%q]
    memoryMB: 32
`, edgeAddr, s.url(""))
	out, err := s.cli("apply", "-f", writeStack(t, dir, "cdn.yaml", stack))
	if err != nil || !strings.Contains(out, "distribution local-edge") {
		t.Fatalf("apply: %v\n%s", err, out)
	}
	s.waitState("cdnch", resource.StateRunning, 90*time.Second)
	base := "http://" + edgeAddr
	seg := segmentURL(t, base, "cdnch", "hls", "")
	for i, want := range []string{"MISS", "HIT"} {
		code, h, _ := fetch(t, base+seg)
		if code != 200 || h.Get("X-Cache") != want {
			t.Errorf("GET %d %s through the distribution: %d %s", i, seg, code, h.Get("X-Cache"))
		}
	}
	out, err = s.cli("distribution", "list")
	if err != nil || !regexp.MustCompile(`local-edge\s+127\.0\.0\.1:\d+\s+RUNNING`).MatchString(out) {
		t.Errorf("distribution list: %v\n%s", err, out)
	}
	out, err = s.cli("-o", "json", "distribution", "stats", "local-edge")
	var st struct {
		Requests, Hits, OriginRequests int
	}
	if err != nil || json.Unmarshal([]byte(out), &st) != nil || st.Hits < 1 || st.Requests < 3 || st.OriginRequests < 2 {
		t.Errorf("distribution stats: %v\n%s", err, out)
	}
	// The server exports the distribution's metrics.
	if v := metricValue(t, s.url(""), `sluice_edge_requests_total{edge="local-edge",result="hit"}`); v < 1 {
		t.Errorf("sluice_edge_requests_total hit = %v", v)
	}
	// The edge is back after a restart.
	s.stop()
	s.start()
	poll.Until(t, "the distribution's edge serves again", 30*time.Second, func() (bool, string) {
		resp, err := http.Get(base + "/healthz")
		if err != nil {
			return false, err.Error()
		}
		_ = resp.Body.Close()
		return resp.StatusCode == 200, resp.Status
	})
}

// TestSignedURLsAtTheOriginAndTheEdge: the server signs; the origin checks
// signatures on its protected endpoint and an edge started with the same
// key checks them on everything, refusing expired and misdirected ones.
func TestSignedURLsAtTheOriginAndTheEdge(t *testing.T) {
	t.Parallel()
	key, err := signing.NewHMACKey("e2e-1")
	if err != nil {
		t.Fatal(err)
	}
	text, _ := key.Encode()
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "signing.key")
	if err := os.WriteFile(keyFile, []byte(text+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	sample := media.Sample(t, dir, 320, 180, 4)
	s := &server{t: t, bin: sluiceBin.get(t), data: t.TempDir(), addr: freeAddr(t), args: []string{"--signing-key", "@" + keyFile}}
	s.start()
	t.Cleanup(s.stop)
	s.applyStack(dir, "signed", fmt.Sprintf(`name: signed
inputs:
  - name: signed-file
    type: FILE
    url: %s
channels:
  - name: signed
    autoStart: true
    inputAttachments:
      - input: signed-file
        sourceEndBehavior: LOOP
    encoder:
      ladder: test-360p
      preset: ultrafast
    outputs:
      - name: hls
        type: HLS
        requireSignedURLs: true
      - name: open
        type: HLS
`, sample))
	s.waitState("signed", resource.StateRunning, 90*time.Second)

	sign := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(s.bin, append([]string{"--server", s.url(""), "sign"}, args...)...).Output()
		if err != nil {
			t.Fatalf("sign %v: %v", args, err)
		}
		return strings.TrimSpace(strings.Split(string(out), "\n")[0])
	}
	refused := func(where, u, reason string) {
		t.Helper()
		code, h, body := fetch(t, u)
		if code != http.StatusForbidden || !strings.Contains(body, reason) || !strings.HasPrefix(h.Get("Content-Type"), "application/problem+json") {
			t.Errorf("%s %s: %d %s, want 403 %s", where, u, code, body, reason)
		}
		if strings.Contains(body, text[len("hmac:e2e-1:"):]) {
			t.Errorf("%s: the refusal leaks the key", where)
		}
	}

	// expired waits until a short-lived signature has expired, then checks
	// the refusal.
	expired := func(where, u string) {
		t.Helper()
		poll.Until(t, where+" refuses a signature once it has expired", time.Minute, func() (bool, string) {
			code, _, body := fetch(t, u)
			return code == http.StatusForbidden && strings.Contains(body, "expired"), fmt.Sprintf("%d %s", code, body)
		})
		refused(where, u, "expired")
	}

	// At the origin.
	playlist := s.url("/live/signed/hls/index.m3u8")
	refused("origin", playlist, "missing-signature")
	good := sign("--path", "/live/signed/hls/*", "--expires", "10m")
	if code, _, body := fetch(t, playlist+"?"+good); code != 200 || !strings.Contains(body, "#EXTM3U") {
		t.Errorf("origin, signed: %d %s", code, body)
	}
	segPath := segmentURL(t, s.url(""), "signed", "hls", good)
	if code, _, _ := fetch(t, s.url(segPath)+"?"+good); code != 200 {
		t.Errorf("origin, signed segment %s: %d", segPath, code)
	}
	refused("origin", playlist+"?"+sign("--path", "/live/other/*"), "wrong-path")
	// Short-lived signatures for the origin and the edge. The server mints
	// them; the expiry leaves room for a slow start of the CLI, and the
	// checks below wait for it to pass rather than sleep a fixed time.
	short := sign("--path", "/live/signed/*", "--expires", "8s")
	edgeShort := sign("--path", "/live/signed/open/*", "--expires", "8s")
	expired("origin", playlist+"?"+short)
	if code, _, _ := fetch(t, s.url("/live/signed/open/index.m3u8")); code != 200 {
		t.Errorf("the open endpoint: %d", code)
	}

	// At an edge with the same key, in front of the open endpoint.
	e := startEdge(t, "--origin", s.url(""), "--signing-key", "@"+keyFile)
	edgeList := e.url("/live/signed/open/index.m3u8")
	refused("edge", edgeList, "missing-signature")
	edgeGood := sign(e.url("/live/signed/open/index.m3u8"), "--path", "/live/signed/open/*")
	if code, h, body := fetch(t, edgeGood); code != 200 || !strings.Contains(body, "#EXTM3U") {
		t.Errorf("edge, signed: %d %s %s", code, h.Get("X-Cache"), body)
	}
	refused("edge", edgeList+"?"+sign("--path", "/live/signed/hls/*"), "wrong-path")
	expired("edge", edgeList+"?"+edgeShort)
}

// TestShieldCollapsesToOneOriginRequest puts an edge in front of another
// edge in front of the server, and sends many concurrent requests for one
// segment to the outer edge: each tier asks the next exactly once.
func TestShieldCollapsesToOneOriginRequest(t *testing.T) {
	t.Parallel()
	s, _ := runningChannel(t, "shield", 320, 180, 4)
	shield := startEdge(t, "--origin", s.url(""), "--name", "shield")
	outer := startEdge(t, "--origin", shield.url(""), "--name", "outer")
	seg := segmentURL(t, s.url(""), "shield", "hls", "")
	const viewers = 200
	bodies := make([]string, viewers)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range viewers {
		wg.Go(func() {
			<-start
			resp, err := http.Get(outer.url(seg))
			if err != nil {
				t.Errorf("viewer %d: %v", i, err)
				return
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != 200 {
				t.Errorf("viewer %d: %s", i, resp.Status)
			}
			bodies[i] = string(b)
		})
	}
	close(start)
	wg.Wait()
	for i := range bodies {
		if bodies[i] != bodies[0] || bodies[i] == "" {
			t.Fatalf("viewer %d got %d bytes, viewer 0 %d", i, len(bodies[i]), len(bodies[0]))
		}
	}
	for _, e := range []struct {
		p    *edgeProc
		name string
	}{{outer, "outer"}, {shield, "shield"}} {
		n := metricValue(t, e.p.url(""), fmt.Sprintf(`sluice_edge_origin_request_duration_seconds_count{edge=%q}`, e.name))
		if n != 1 {
			t.Errorf("%s edge made %v origin requests for %d viewers, want 1", e.name, n, viewers)
		}
	}
	if via := func() string { _, h, _ := fetch(t, outer.url(seg)); return h.Get("Via") }(); !strings.Contains(via, "shield") || !strings.Contains(via, "outer") {
		t.Errorf("Via %q does not name both tiers", via)
	}
}
