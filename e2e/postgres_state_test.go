package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/testutil/pgserver"
	"github.com/sluice-video/sluice/internal/testutil/poll"
	"github.com/sluice-video/sluice/internal/vod"
)

// resourcePaths are the API collections a server on PostgreSQL must find
// again whatever its data directory.
func resourcePaths() []string {
	return []string{"security-groups", "inputs", "channels", "alarms", "rules", "distributions", "presets", "pipelines"}
}

// inventory reads every collection of the API as "collection name id"
// lines (presets and pipelines have no id), sorted.
func (s *server) inventory() []string {
	s.t.Helper()
	var out []string
	for _, p := range resourcePaths() {
		code, _, body := s.get("/api/v1/" + p)
		var items []map[string]any
		if code != 200 || json.Unmarshal(body, &items) != nil {
			s.t.Fatalf("GET /api/v1/%s: %d %s", p, code, body)
		}
		for _, it := range items {
			out = append(out, fmt.Sprintf("%s %v %v", p, it["name"], it["id"]))
		}
	}
	slices.Sort(out)
	return out
}

// streamKey reads an input's stream key.
func (s *server) streamKey(input string) string {
	s.t.Helper()
	code, _, body := s.get("/api/v1/inputs/" + input)
	var in resource.Input
	if code != 200 || json.Unmarshal(body, &in) != nil || in.StreamKey == "" {
		s.t.Fatalf("GET input %s: %d %s", input, code, body)
	}
	return in.StreamKey
}

// TestServeKeepsAllStateInPostgres runs `sluice serve --database
// postgres://…`, creates every kind of resource through a stack and the
// API and runs an encrypted channel; then stops the server (SIGTERM) and
// starts it again on the same database with an empty data directory:
// every resource is back, the channel runs again with numbers and the
// discontinuity sequence that only grew, and the encryption keys are the
// same. A second server process on the database, with its own empty data
// directory, lists the same resources.
func TestServeKeepsAllStateInPostgres(t *testing.T) {
	t.Parallel()
	pg := pgserver.Start(t)
	dir := t.TempDir()
	flags := []string{"--database", pg.URL, "--vod-workers", "0"}
	first := startServerWith(t, t.TempDir(), flags)
	first.applyStack(dir, "pgstate", fmt.Sprintf(`name: pgstate
securityGroups:
  - name: studio
    allow: [127.0.0.0/8]
inputs:
  - {name: cam, type: RTMP_PUSH, securityGroups: [studio]}
  - {name: bars, type: TEST_PATTERN}
channels:
  - name: pgch
    autoStart: true
    inputAttachments:
      - input: bars
    encoder:
      ladder: test-360p
      preset: ultrafast
    outputs:
      - {name: hls, type: HLS, encryption: {method: AES_128}}
alarms:
  - name: slow
    metric: sluice_encoder_speed_ratio
    labels: {channel: pgch}
    statistic: avg
    periodSeconds: 30
    evaluationPeriods: 3
    threshold: 0.5
    comparison: LessThanThreshold
rules:
  - name: hook
    event: channel.created
    actions:
      - {type: START_CHANNEL, channel: pgch}
distributions:
  - name: edge
    listen: %q
    origins: [%q]
    memoryMB: 16
`, freeAddr(t), first.url("")))
	if code := first.post("/api/v1/presets", vod.Preset{Name: "tiny", Kind: vod.KindMP4, FPS: 10, X264Preset: "ultrafast", AudioBitrate: 32000,
		Rungs: []vod.Rung{{Name: "tiny", Width: 96, Height: 54, Bitrate: 60000}}}, nil); code != 201 {
		t.Fatalf("creating a preset: %d", code)
	}
	if code := first.post("/api/v1/pipelines", vod.Pipeline{Name: "clips", Input: t.TempDir(), Output: t.TempDir(), Presets: []string{"tiny"}}, nil); code != 201 {
		t.Fatalf("creating a pipeline: %d", code)
	}
	first.waitState("pgch", resource.StateRunning, 90*time.Second)
	const playlist = "/live/pgch/hls/360p/index.m3u8"
	var body []byte
	poll.Until(t, "two segments", 60*time.Second, func() (bool, string) {
		pl, b, _ := first.media(playlist)
		body = b
		return pl != nil && len(segmentsOf(pl)) >= 2, "fewer than two segments"
	})
	keyURI := regexp.MustCompile(`#EXT-X-KEY:METHOD=AES-128,URI="\.\./(keys/[0-9]+\.key)"`).FindSubmatch(body)
	if keyURI == nil {
		t.Fatalf("no key in:\n%s", body)
	}
	_, _, key := first.get("/live/pgch/hls/" + string(keyURI[1]))
	seqBefore, discBefore := first.lastSegment(playlist)
	resources := first.inventory()
	for _, want := range []string{"security-groups studio", "inputs cam", "inputs bars", "channels pgch", "alarms slow", "rules hook",
		"distributions edge", "presets tiny", "pipelines clips"} {
		if !slices.ContainsFunc(resources, func(r string) bool { return strings.HasPrefix(r, want+" ") }) {
			t.Fatalf("no %s among the resources made: %v", want, resources)
		}
	}
	streamKey := first.streamKey("cam")
	first.stop()

	// The same database, an empty data directory.
	again := startServerWith(t, t.TempDir(), flags)
	if got := again.inventory(); !slices.Equal(got, resources) {
		t.Errorf("after a restart with an empty data directory:\n%v\nwant\n%v", got, resources)
	}
	if got := again.streamKey("cam"); got != streamKey {
		t.Errorf("the stream key changed: %s, was %s", got, streamKey)
	}
	again.waitState("pgch", resource.StateRunning, 90*time.Second)
	poll.Until(t, "a segment after the restart", 60*time.Second, func() (bool, string) {
		pl, _, _ := again.media(playlist)
		return pl != nil && len(segmentsOf(pl)) >= 1, "no segment yet"
	})
	if seq, disc := again.lastSegment(playlist); seq <= seqBefore || disc <= discBefore {
		t.Errorf("media sequence %d → %d, discontinuity sequence %d → %d: both must grow across the restart", seqBefore, seq, discBefore, disc)
	}
	if code, _, got := again.get("/live/pgch/hls/" + string(keyURI[1])); code != 200 || !bytes.Equal(got, key) {
		t.Errorf("%s after the restart: %d, another key: the encryption secret was not kept", keyURI[1], code)
	}
	if out, err := again.cli("channel", "history", "pgch"); err != nil || !strings.Contains(out, "took the channel (epoch") || !strings.Contains(out, "channel created") {
		t.Errorf("the history from before the restart is not there: %v\n%s", err, out)
	}

	// A second server on the database sees the same resources.
	if code := again.post("/api/v1/channels/pgch/stop", nil, nil); code >= 300 {
		t.Fatalf("stopping the channel: %d", code)
	}
	again.waitState("pgch", resource.StateIdle, 60*time.Second)
	second := startServerWith(t, t.TempDir(), flags)
	if got := second.inventory(); !slices.Equal(got, resources) {
		t.Errorf("a second server on the database lists:\n%v\nwant\n%v", got, resources)
	}
	if got := second.streamKey("cam"); got != streamKey {
		t.Errorf("the second server shows another stream key: %s", got)
	}
	if ch := second.channel("pgch"); ch.State != resource.StateIdle {
		t.Errorf("the second server runs the channel: %s", ch.State)
	}
	// A change on one is read by the other.
	if code := second.post("/api/v1/inputs", resource.InputSpec{Name: "cam2", Type: resource.InputRTMPPush, SecurityGroups: []string{"studio"}}, nil); code != 201 {
		t.Fatalf("creating an input on the second server: %d", code)
	}
	if code, _, body := again.get("/api/v1/inputs/cam2"); code != 200 {
		t.Errorf("the first server does not find the input the second made: %d %s", code, body)
	}
}
