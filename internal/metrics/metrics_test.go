package metrics

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/sluice-video/sluice/internal/resource"
)

// populate reports a value into every Sluice family.
func populate(m *Metrics) {
	m.ChannelState("news", resource.StateRunning)
	m.ActiveInput("news", "studio-a")
	m.InputLoss("news", 1500*time.Millisecond)
	m.ChannelFill("news", time.Second)
	m.EncoderProgress("news", 1.02, 29.97, 3)
	m.EncoderRestarted("news")
	m.PipelinesRunning("news", 2)
	m.InputBitrate("studio-a", 6e6)
	m.InputBytes("studio-a", 1<<20)
	m.InputRefused("studio-a", RefusedStreamKey)
	m.IngestRefused("rtmp", "address_limit")
	m.SegmentProduced("news", "720p", 700*time.Millisecond)
	m.PipelineStage(StageEncoder, 120*time.Millisecond)
	m.PipelineStage("channel news, rendition 720p", time.Second) // never a label value
	m.OriginRequest("news", KindSegment, 200, 1<<20, 3*time.Millisecond)
	m.OriginRequest("news", KindManifest, 404, 120, time.Millisecond)
	m.EdgeRequest("eu-1", EdgeHit)
	m.EdgeRequest("eu-1", EdgeCollapsed)
	m.EdgeOriginRequest("eu-1", 20*time.Millisecond)
	eo := m.Edge("eu-2")
	eo.CacheResult("miss")
	eo.Response(200, 1<<20)
	eo.Response(403, 200)
	eo.OriginRequest(30*time.Millisecond, true)
	m.JobCounts(map[string]int{"SUBMITTED": 2, "PROGRESSING": 1})
	m.JobFinished("COMPLETE", 95*time.Second)
	m.JobFinished("job-1234 exploded", time.Second) // never a label value of its own
	m.EventPublished(resource.EventChannelStateChanged)
	m.SubscriberDropped(2)
	m.WebhookAttempt(WebhookServerError, 40*time.Millisecond)
	m.WebhookDropped()
	m.AlarmState("news-slow", resource.AlarmOK)
	m.FrameShares("news", 3, 1)
	m.FramesDropped("news", 7)
	m.FrameRefused(FrameRefusedClientLimit)
}

func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s", resp.Status)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(body)
}

func TestExpositionNamesEveryFamily(t *testing.T) {
	m := New(Config{})
	populate(m)
	body := scrape(t, m)
	for _, name := range []string{
		"sluice_channel_state", "sluice_encoder_speed_ratio", "sluice_encoder_frames_per_second",
		"sluice_encoder_dropped_frames_total", "sluice_encoder_restarts_total",
		"sluice_input_loss_seconds_total", "sluice_channel_fill_seconds_total",
		"sluice_channel_active_input", "sluice_input_bytes_per_second", "sluice_input_bytes_total",
		"sluice_input_refused_connections_total", "sluice_ingest_refused_connections_total",
		"sluice_packager_segments_total",
		"sluice_packager_segment_availability_latency_seconds", "sluice_origin_requests_total",
		"sluice_origin_response_bytes_total", "sluice_origin_request_duration_seconds",
		"sluice_edge_requests_total", "sluice_edge_origin_request_duration_seconds",
		"sluice_edge_origin_errors_total", "sluice_edge_responses_total", "sluice_edge_response_bytes_total",
		"sluice_jobs", "sluice_job_duration_seconds", "go_goroutines",
		"sluice_frame_streams", "sluice_frame_decoders", "sluice_frame_stream_dropped_frames_total", "sluice_channel_pipelines_running",
		"sluice_frame_stream_refusals_total", "sluice_pipeline_stage_seconds",
	} {
		if !strings.Contains(body, "\n# TYPE "+name+" ") {
			t.Errorf("/metrics lacks %s", name)
		}
	}
	for _, line := range []string{
		`sluice_channel_state{channel="news",state="RUNNING"} 1`,
		`sluice_channel_state{channel="news",state="IDLE"} 0`,
		`sluice_origin_requests_total{channel="news",kind="manifest",status_class="4xx"} 1`,
		`sluice_encoder_dropped_frames_total{channel="news"} 3`,
		`sluice_input_loss_seconds_total{channel="news"} 1.5`,
		`sluice_edge_requests_total{edge="eu-1",result="collapsed"} 1`,
		`sluice_job_duration_seconds_count{state="other"} 1`,
		`sluice_input_bytes_per_second{input="studio-a"} 750000`,
		`sluice_ingest_refused_connections_total{protocol="rtmp",reason="address_limit"} 1`,
		`sluice_frame_streams{channel="news"} 3`,
		`sluice_frame_decoders{channel="news"} 1`,
		`sluice_frame_stream_dropped_frames_total{channel="news"} 7`,
		`sluice_frame_stream_refusals_total{reason="client_limit"} 1`,
		`sluice_frame_stream_refusals_total{reason="server_limit"} 0`,
		`sluice_pipeline_stage_seconds_bucket{stage="encoder",le="0.15"} 1`,
		`sluice_pipeline_stage_seconds_count{stage="encoder"} 1`,
	} {
		if !strings.Contains(body, line) {
			t.Errorf("/metrics lacks %q", line)
		}
	}
	if strings.Contains(body, `stage="channel news`) {
		t.Error("a stage outside the fixed set became a label value")
	}
}

func TestLint(t *testing.T) {
	m := New(Config{})
	populate(m)
	problems, err := testutil.GatherAndLint(m.Registry())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		if strings.HasPrefix(p.Metric, "sluice_") {
			t.Errorf("%s: %s", p.Metric, p.Text)
		}
	}
}

func TestPromtoolCheckMetrics(t *testing.T) {
	promtool := lookTool(t, "promtool")
	m := New(Config{})
	populate(m)
	// promtool reads the classic text format.
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, srv.URL, http.NoBody)
	req.Header.Set("Accept", "text/plain; version=0.0.4")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(body)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
}

// lookTool finds a binary on PATH, skipping the test without it unless
// SLUICE_REQUIRE_TOOLS=1.
func lookTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("SLUICE_REQUIRE_TOOLS") == "1" {
			t.Fatalf("%s is required (SLUICE_REQUIRE_TOOLS=1): %v", name, err)
		}
		t.Skipf("%s not found", name)
	}
	return p
}

func TestOriginRequestsForUnknownChannelsAreBounded(t *testing.T) {
	m := New(Config{})
	m.ChannelState("news", resource.StateRunning)
	for i := range 5000 {
		m.OriginRequest(fmt.Sprintf("made-up-%d", i), RequestKind(fmt.Sprintf("k%d", i)), 100+i%600, 10, time.Millisecond)
	}
	m.OriginRequest("news", KindSegment, 200, 10, time.Millisecond)
	n := testutil.CollectAndCount(m.f.originReqs)
	// channel "" and "news" × 6 kinds × 6 status classes at most.
	if n > 2*6*6 {
		t.Fatalf("sluice_origin_requests_total has %d series", n)
	}
	if got := testutil.ToFloat64(m.f.originReqs.WithLabelValues("news", "segment", "2xx")); got != 1 {
		t.Fatalf("news segment 2xx = %v", got)
	}
}

func TestRemoveChannel(t *testing.T) {
	m := New(Config{})
	populate(m)
	m.ChannelState("sports", resource.StateIdle)
	m.SampleNow(time.Unix(1000, 0))
	m.RemoveChannel("news")
	// The last frames reader of a deleted channel leaving does not bring
	// its series back.
	m.FrameShares("news", 0, 0)
	body := scrape(t, m)
	if strings.Contains(body, `channel="news"`) {
		t.Fatal("series of the deleted channel are still exported")
	}
	if !strings.Contains(body, `channel="sports"`) {
		t.Fatal("series of another channel went too")
	}
	res, err := m.Query(Query{Name: "sluice_channel_state", Labels: map[string]string{"channel": "news"}, From: time.Unix(0, 0), To: time.Unix(2000, 0), Period: 1000 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Series) != 0 {
		t.Fatalf("history still holds %d series of the deleted channel", len(res.Series))
	}
	// Origin requests for a deleted channel no longer count under its name.
	m.OriginRequest("news", KindSegment, 200, 1, time.Millisecond)
	if strings.Contains(scrape(t, m), `channel="news"`) {
		t.Fatal("a deleted channel came back through an origin request")
	}
}

func TestChannelStateAndActiveInput(t *testing.T) {
	m := New(Config{})
	m.ChannelState("news", resource.StateStarting)
	m.ChannelState("news", resource.StateRunning)
	m.ActiveInput("news", "main")
	m.ActiveInput("news", "backup")
	g := m.f.channelState
	if v := testutil.ToFloat64(g.WithLabelValues("news", "RUNNING")); v != 1 {
		t.Errorf("RUNNING = %v", v)
	}
	if v := testutil.ToFloat64(g.WithLabelValues("news", "STARTING")); v != 0 {
		t.Errorf("STARTING = %v", v)
	}
	if v := testutil.ToFloat64(m.f.activeInput.WithLabelValues("news", "main")); v != 0 {
		t.Errorf("main = %v", v)
	}
	if v := testutil.ToFloat64(m.f.activeInput.WithLabelValues("news", "backup")); v != 1 {
		t.Errorf("backup = %v", v)
	}
}

func TestDroppedFramesAcrossEncoderProcesses(t *testing.T) {
	m := New(Config{})
	m.EncoderProgress("news", 1, 30, 5)
	m.EncoderProgress("news", 1, 30, 8)
	m.EncoderProgress("news", 1, 30, 2) // a new process counts from zero
	m.EncoderRestarted("news")
	m.EncoderProgress("news", 1, 30, 4)
	if v := testutil.ToFloat64(m.f.dropped.WithLabelValues("news")); v != 14 {
		t.Fatalf("dropped frames = %v, want 8+2+4", v)
	}
}

func TestStatusClass(t *testing.T) {
	for status, want := range map[int]string{200: "2xx", 206: "2xx", 304: "3xx", 404: "4xx", 503: "5xx", 0: "other", 600: "other", 101: "1xx"} {
		if got := StatusClass(status); got != want {
			t.Errorf("StatusClass(%d) = %q, want %q", status, got, want)
		}
	}
}

func TestIsHistogramKnowsEveryHistogram(t *testing.T) {
	m := New(Config{})
	populate(m)
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, mf := range mfs {
		name := mf.GetName()
		if !strings.HasPrefix(name, "sluice_") {
			continue
		}
		hist := mf.GetType().String() == "HISTOGRAM"
		if IsHistogram(name) != hist {
			t.Errorf("IsHistogram(%s) = %v", name, !hist)
		}
		if hist {
			seen++
		}
	}
	if seen != 6 {
		t.Errorf("%d histograms exported", seen)
	}
}
