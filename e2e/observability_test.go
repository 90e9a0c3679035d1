package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/testutil/media"
	"github.com/sluice-video/sluice/internal/testutil/poll"
	"github.com/sluice-video/sluice/internal/testutil/syncbuf"
)

// alarmsStack holds alarms over a gauge, a counter and a histogram, with
// each missing-data treatment that changes the exported rule.
const alarmsStack = `name: watch
securityGroups:
  - name: studio
    allow: [127.0.0.2/32, "2001:db8::/32"]
alarms:
  - name: encoder-slow
    metric: sluice_encoder_speed_ratio
    labels: {channel: lilo}
    statistic: avg
    periodSeconds: 30
    evaluationPeriods: 3
    datapointsToAlarm: 2
    threshold: 0.9
    comparison: LessThanThreshold
  - name: frames-dropped
    metric: sluice_encoder_dropped_frames_total
    labels: {channel: lilo}
    statistic: max
    periodSeconds: 60
    evaluationPeriods: 1
    threshold: 5
    comparison: GreaterThanThreshold
  - name: segments-late
    metric: sluice_packager_segment_availability_latency_seconds
    labels: {channel: lilo}
    statistic: p90
    periodSeconds: 60
    evaluationPeriods: 2
    threshold: 4
    comparison: GreaterThanOrEqualToThreshold
    treatMissingData: breaching
`

// TestAutoStartRuleAndEventStream applies the live encoding loop example
// as shipped (its ladder swapped for the small test one): the rule on
// channel.created starts the channel, and the event stream, read both
// directly and through 'sluice events --follow', delivers its state
// changes in order.
func TestAutoStartRuleAndEventStream(t *testing.T) {
	t.Parallel()
	s, _, last := liloServer(t)

	// The rule fired once and says so.
	out, err := s.cli("rules", "get", "lilo-autostart")
	if err != nil || !strings.Contains(out, "channel.created where channel=lilo") || !strings.Contains(out, " 1 times, last ") {
		t.Errorf("rules get: %v\n%s", err, out)
	}
	if ch := s.channel("lilo"); ch.AutoStart {
		t.Errorf("the example channel has autoStart set; the rule should start it")
	}
	out, err = s.cli("events", "--type", "channel.*")
	if err != nil || !strings.Contains(out, "channel lilo created") || !strings.Contains(out, "STARTING → RUNNING") {
		t.Errorf("events: %v\n%s", err, out)
	}

	// Stop and start again while 'sluice events --follow' runs: it prints
	// every transition after the RUNNING event above as it happens.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	follow := exec.CommandContext(ctx, s.bin, "--server", "http://"+s.addr, "events", "--follow",
		"--after", strconv.FormatUint(last, 10), "-o", "json", "--type", "channel.state_changed")
	var followOut syncbuf.Buffer
	follow.Stdout, follow.Stderr = &followOut, &followOut
	if err := follow.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); _ = follow.Wait() }()
	if out, err := s.cli("channel", "stop", "lilo"); err != nil {
		t.Fatalf("stop: %v\n%s", err, out)
	}
	s.waitState("lilo", resource.StateIdle, time.Minute)
	if out, err := s.cli("channel", "start", "lilo"); err != nil {
		t.Fatalf("start: %v\n%s", err, out)
	}
	s.waitState("lilo", resource.StateRunning, 2*time.Minute)
	poll.Until(t, "--follow prints STOPPING, IDLE, STARTING, RUNNING", 30*time.Second, func() (bool, string) {
		var states []string
		sc := bufio.NewScanner(strings.NewReader(followOut.String()))
		for sc.Scan() {
			var e resource.Event
			if json.Unmarshal(sc.Bytes(), &e) == nil && (len(states) == 0 || states[len(states)-1] != e.Detail["to"]) {
				states = append(states, e.Detail["to"])
			}
		}
		got := strings.Join(states, " ")
		return got == "STOPPING IDLE STARTING RUNNING", got
	})
}

// liloServer starts a server, subscribes to its event stream, applies
// examples/lilo.yaml and checks that the stream delivered the channel's
// states CREATING → IDLE → STARTING → RUNNING in order. It returns the
// server, a directory for files and the Seq of the RUNNING event.
func liloServer(t *testing.T) (*server, string, uint64) {
	t.Helper()
	data := t.TempDir()
	if err := os.MkdirAll(filepath.Join(data, "media"), 0o755); err != nil {
		t.Fatal(err)
	}
	sample := media.Sample(t, t.TempDir(), 320, 180, 6)
	if err := os.Rename(sample, filepath.Join(data, "media", "sample.mp4")); err != nil {
		t.Fatal(err)
	}
	example, err := os.ReadFile("../examples/lilo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(example, []byte("ladder: default-720p")) {
		t.Fatalf("examples/lilo.yaml no longer names the default-720p ladder this test swaps out")
	}
	example = bytes.Replace(example, []byte("ladder: default-720p"), []byte("ladder: test-360p"), 1)

	s := startServer(t, data)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	states := make(chan resource.Event, 64)
	subscribed := make(chan struct{})
	go streamEvents(ctx, s.http, s.url("/api/v1/events/stream?type=channel.*"), subscribed, states)
	select {
	case <-subscribed:
	case <-time.After(time.Minute):
		t.Fatal("the event stream did not open")
	}

	dir := t.TempDir()
	stackFile := writeStack(t, dir, "lilo.yaml", string(example))
	if out, err := s.cli("apply", "-f", stackFile); err != nil || !strings.Contains(out, "+ rule lilo-autostart") {
		t.Fatalf("apply: %v\n%s", err, out)
	}
	s.waitState("lilo", resource.StateRunning, 2*time.Minute)

	var (
		seen []string
		last uint64
	)
	deadline := time.After(time.Minute)
	for len(seen) == 0 || seen[len(seen)-1] != "RUNNING" {
		select {
		case e := <-states:
			if e.Type == resource.EventChannelCreated {
				seen = append(seen, "created")
				continue
			}
			if e.Type != resource.EventChannelStateChanged || e.Detail["channel"] != "lilo" {
				continue
			}
			if len(seen) == 0 || seen[len(seen)-1] == "created" {
				seen = append(seen, e.Detail["from"])
			}
			if to := e.Detail["to"]; to != seen[len(seen)-1] {
				seen = append(seen, to)
			}
			last = e.Seq
		case <-deadline:
			t.Fatalf("the event stream delivered %v, not yet RUNNING", seen)
		}
	}
	if got := strings.Join(seen, " → "); got != "created → CREATING → IDLE → STARTING → RUNNING" {
		t.Errorf("channel events in stream order: %s", got)
	}
	return s, dir, last
}

// streamEvents reads a server-sent event stream into out until ctx ends;
// subscribed is closed once the server answered (it subscribes first).
func streamEvents(ctx context.Context, client *http.Client, u string, subscribed chan<- struct{}, out chan<- resource.Event) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, http.NoBody)
	if err != nil {
		return
	}
	resp, err := client.Do(req)
	if err != nil {
		return
	}
	defer func() { _ = resp.Body.Close() }()
	sc := bufio.NewScanner(resp.Body)
	once := sync.OnceFunc(func() { close(subscribed) })
	for sc.Scan() {
		once()
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		var e resource.Event
		if json.Unmarshal([]byte(data), &e) == nil {
			select {
			case out <- e:
			case <-ctx.Done():
				return
			}
		}
	}
}

// TestPrometheusScrapesSluice runs a real Prometheus against a running
// Sluice: promtool accepts /metrics and the exported alarms, Prometheus
// loads the exported rules and its query API returns the channel's
// metrics.
func TestPrometheusScrapesSluice(t *testing.T) {
	t.Parallel()
	promtool := media.Tool(t, "promtool")
	prom := media.Tool(t, "prometheus")
	s, dir, _ := liloServer(t)
	s.applyStack(dir, "watch", alarmsStack)

	// Some origin traffic, so that the request families have series.
	if code, _, body := s.get("/live/lilo/hls/index.m3u8"); code != http.StatusOK {
		t.Fatalf("playlist: %d %s", code, body)
	}

	// promtool check metrics on the classic text format.
	req, _ := http.NewRequest(http.MethodGet, s.url("/metrics"), http.NoBody)
	req.Header.Set("Accept", "text/plain; version=0.0.4")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var metricsText bytes.Buffer
	_, _ = metricsText.ReadFrom(resp.Body)
	_ = resp.Body.Close()
	for _, fam := range []string{"sluice_channel_state", "sluice_encoder_speed_ratio", "sluice_packager_segments_total", "sluice_origin_requests_total"} {
		if !strings.Contains(metricsText.String(), "# TYPE "+fam+" ") {
			t.Errorf("/metrics lacks %s", fam)
		}
	}
	check := exec.Command(promtool, "check", "metrics")
	check.Stdin = &metricsText
	if out, err := check.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}

	// The CLI shows the group and the alarms, and exports the alarms.
	out, err := s.cli("security-group", "get", "studio")
	if err != nil || !strings.Contains(out, "127.0.0.2/32") || !strings.Contains(out, "2001:db8::/32") {
		t.Errorf("security-group get: %v\n%s", err, out)
	}
	out, err = s.cli("alarms", "list")
	if err != nil || !strings.Contains(out, "encoder-slow") || !strings.Contains(out, "segments-late") {
		t.Errorf("alarms list: %v\n%s", err, out)
	}
	if out, err := s.cli("alarms", "history", "encoder-slow"); err != nil || !strings.Contains(out, "REASON") {
		t.Errorf("alarms history: %v\n%s", err, out)
	}
	rules := filepath.Join(dir, "sluice-rules.yml")
	if out, err := s.cli("alarms", "export", "--format", "prometheus", "--file", rules); err != nil {
		t.Fatalf("alarms export: %v\n%s", err, out)
	}
	if out, err := exec.Command(promtool, "check", "rules", rules).CombinedOutput(); err != nil || !strings.Contains(string(out), "SUCCESS: 3 rules found") {
		t.Errorf("promtool check rules: %v\n%s", err, out)
	}
	if out, err := s.cli("alarms", "export", "--format", "nagios"); err == nil || !strings.Contains(out, "the only export format is prometheus") {
		t.Errorf("export --format nagios: %v\n%s", err, out)
	}

	// A real Prometheus scrapes Sluice every second with the exported rules.
	promAddr := freeAddr(t)
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: [%q]
scrape_configs:
  - job_name: sluice
    static_configs:
      - targets: [%q]
`, rules, s.addr)
	cfgFile := writeStack(t, dir, "prometheus.yml", cfg)
	var promLog syncbuf.Buffer
	cmd := exec.Command(prom, "--config.file="+cfgFile, "--storage.tsdb.path="+filepath.Join(dir, "tsdb"),
		"--web.listen-address="+promAddr, "--log.level=warn")
	cmd.Stdout, cmd.Stderr = &promLog, &promLog
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		wg.Wait()
		if t.Failed() {
			t.Logf("prometheus log:\n%s", promLog.String())
		}
	})

	query := func(q string) (string, []promSample) {
		resp, err := http.Get("http://" + promAddr + "/api/v1/query?query=" + url.QueryEscape(q))
		if err != nil {
			return err.Error(), nil
		}
		defer func() { _ = resp.Body.Close() }()
		var r struct {
			Status string `json:"status"`
			Data   struct {
				Result []promSample `json:"result"`
			} `json:"data"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
			return err.Error(), nil
		}
		return r.Status, r.Data.Result
	}
	poll.Until(t, "Prometheus has the channel's RUNNING state from Sluice", 2*time.Minute, func() (bool, string) {
		status, res := query(`sluice_channel_state{channel="lilo",state="RUNNING"}`)
		return len(res) == 1 && res[0].Value[1] == "1" && res[0].Metric["job"] == "sluice", fmt.Sprint(status, res)
	})
	poll.Until(t, "Prometheus sees segments being produced", 2*time.Minute, func() (bool, string) {
		status, res := query(`sum(increase(sluice_packager_segments_total{channel="lilo"}[1m]))`)
		return len(res) == 1 && res[0].Value[1] != "0", fmt.Sprint(status, res)
	})
	poll.Until(t, "Prometheus loaded the exported alerting rules", time.Minute, func() (bool, string) {
		resp, err := http.Get("http://" + promAddr + "/api/v1/rules?type=alert")
		if err != nil {
			return false, err.Error()
		}
		defer func() { _ = resp.Body.Close() }()
		var b bytes.Buffer
		_, _ = b.ReadFrom(resp.Body)
		return strings.Contains(b.String(), `"name":"SluiceEncoderSlow"`) && strings.Contains(b.String(), `"health":"ok"`) && !strings.Contains(b.String(), `"health":"err"`), b.String()
	})
}

// promSample is one series of a Prometheus instant query.
type promSample struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
}
