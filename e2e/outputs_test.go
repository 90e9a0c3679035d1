package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image/jpeg"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/output"
	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/testutil/media"
	"github.com/sluice-video/sluice/internal/testutil/poll"
)

// freeRTPPort returns an even UDP port whose successor (RTCP) is free too.
func freeRTPPort(t *testing.T) int {
	t.Helper()
	for range 50 {
		p := freeUDPPort(t) &^ 1
		a, err := net.ListenPacket("udp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			continue
		}
		b, err := net.ListenPacket("udp", "127.0.0.1:"+strconv.Itoa(p+1))
		_ = a.Close()
		if err != nil {
			continue
		}
		_ = b.Close()
		return p
	}
	t.Fatal("no free RTP port pair")
	return 0
}

func deliveriesStack(sample string, udpPort, rtpPort int) string {
	return deliveriesStackWith(sample, udpPort, rtpPort, "{ladder: test-360p, preset: ultrafast}")
}

func deliveriesStackWith(sample string, udpPort, rtpPort int, encoder string) string {
	return fmt.Sprintf(`name: outs
inputs:
  - {name: outs-file, type: FILE, url: %q}
channels:
  - name: outs
    autoStart: true
    inputAttachments: [{input: outs-file, sourceEndBehavior: LOOP}]
    encoder: %s
    outputs:
      - {name: hls, type: HLS}
      - {name: udp, type: UDP, destination: "udp://127.0.0.1:%d"}
      - {name: rtp, type: RTP, destination: "rtp://127.0.0.1:%d"}
      - {name: archive, type: ARCHIVE, rollSeconds: 10}
      - {name: stills, type: FRAME_CAPTURE, intervalSeconds: 1}
      - {name: train, type: DATASET, fps: 2, width: 64, height: 48, format: NPY}
`, sample, encoder, udpPort, rtpPort)
}

// archiveCut is the cut time in an archive file's name.
func archiveCut(t *testing.T, file string) time.Time {
	t.Helper()
	stamp := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(file), "archive-"), filepath.Ext(file))
	at, err := time.Parse("20060102T150405Z", stamp)
	if err != nil {
		t.Fatalf("archive file %s: no time in its name: %v", file, err)
	}
	return at
}

// probeStreams runs ffprobe on a URL until it reports streams.
func probeStreams(t *testing.T, url string) []map[string]any {
	t.Helper()
	v := ffprobeJSON(t, "-show_entries", "stream=codec_name,codec_type,width,height", url)
	raw, _ := v["streams"].([]any)
	var out []map[string]any
	for _, s := range raw {
		if m, ok := s.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

func codecNames(streams []map[string]any) []string {
	var out []string
	for _, s := range streams {
		out = append(out, fmt.Sprint(s["codec_name"]))
	}
	slices.Sort(out)
	return out
}

func TestDeliveryOutputs(t *testing.T) {
	t.Parallel()
	media.Tool(t, "ffprobe")
	dir := t.TempDir()
	sample := media.Sample(t, dir, 640, 360, 6)
	data := t.TempDir()
	s := startServer(t, data)
	udpPort, rtpPort := freeUDPPort(t), freeRTPPort(t)
	s.applyStack(dir, "outs", deliveriesStack(sample, udpPort, rtpPort))
	s.waitState("outs", resource.StateRunning, 90*time.Second)
	outDir := filepath.Join(data, "media", "outputs", "outs")

	t.Run("udp", func(t *testing.T) {
		got := codecNames(probeStreams(t, fmt.Sprintf("udp://127.0.0.1:%d?timeout=30000000", udpPort)))
		if !slices.Equal(got, []string{"aac", "h264"}) {
			t.Errorf("UDP output streams %v, want aac and h264", got)
		}
	})
	t.Run("rtp", func(t *testing.T) {
		streams := probeStreams(t, fmt.Sprintf("rtp://127.0.0.1:%d?timeout=30000000", rtpPort))
		if got := codecNames(streams); !slices.Equal(got, []string{"aac", "h264"}) {
			t.Errorf("RTP output streams %v, want aac and h264", got)
		}
		for _, st := range streams {
			if st["codec_type"] == "video" && (st["width"] != float64(640) || st["height"] != float64(360)) {
				t.Errorf("RTP video %vx%v, want the first rung's 640x360", st["width"], st["height"])
			}
		}
	})
	t.Run("archive", func(t *testing.T) {
		// Files roll at every 10 s mark of the wall clock, on the next key
		// frame, and are named after the moment of the cut. Once three
		// exist, the middle one is complete and lies between two marks.
		var files []string
		poll.Until(t, "three archive files", 2*time.Minute, func() (bool, string) {
			files, _ = filepath.Glob(filepath.Join(outDir, "archive", "archive-*.ts"))
			slices.Sort(files)
			return len(files) >= 3, fmt.Sprint(files)
		})
		// The cuts that open files[1] and files[2] fall after successive
		// marks; a delivery stall may push a cut later, so allow a mark to
		// be skipped but no more.
		from, to := archiveCut(t, files[1]), archiveCut(t, files[2])
		if marks := to.Unix()/10 - from.Unix()/10; marks < 1 || marks > 2 {
			t.Errorf("archive files cut at %s and %s; want cuts after successive 10 s marks", from.Format(time.TimeOnly), to.Format(time.TimeOnly))
		}
		v := ffprobeJSON(t, "-show_entries", "format=duration:stream=codec_name", files[1])
		format, _ := v["format"].(map[string]any)
		d, _ := strconv.ParseFloat(fmt.Sprint(format["duration"]), 64)
		// The media in a file depends on how fast the encoder ran between
		// the cuts; on a loaded machine that is not the wall-clock time,
		// but it is several key frames and not much over two rolls.
		if d < 3 || d > 20 {
			t.Errorf("archive file %s lasts %.2f s, want about 10", filepath.Base(files[1]), d)
		}
		if got := codecNames(ffprobeStreams(v)); !slices.Equal(got, []string{"aac", "h264"}) {
			t.Errorf("archive streams %v", got)
		}
	})
	t.Run("frame capture", func(t *testing.T) {
		var shots []string
		poll.Until(t, "three frame captures", time.Minute, func() (bool, string) {
			shots, _ = filepath.Glob(filepath.Join(outDir, "stills", "stills-2*.jpg"))
			return len(shots) >= 3, fmt.Sprint(shots)
		})
		f, err := os.Open(shots[0])
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = f.Close() }()
		img, err := jpeg.Decode(f)
		if err != nil || img.Bounds().Dx() != 640 || img.Bounds().Dy() != 360 {
			t.Errorf("capture %s: %v %v", shots[0], img.Bounds(), err)
		}
		if _, err := os.Stat(filepath.Join(outDir, "stills", "stills-latest.jpg")); err != nil {
			t.Error(err)
		}
	})
	t.Run("dataset", func(t *testing.T) {
		var recs []output.DatasetRecord
		poll.Until(t, "six dataset records", time.Minute, func() (bool, string) {
			recs = readIndex(t, filepath.Join(outDir, "train", "index.jsonl"))
			return len(recs) >= 6, strconv.Itoa(len(recs))
		})
		for i, r := range recs {
			st, err := os.Stat(filepath.Join(outDir, "train", r.File))
			if err != nil || st.Size() != 128+64*48*3 || r.Width != 64 || r.Height != 48 || r.Channel != "outs" || r.Rendition != "360p" {
				t.Fatalf("record %d %+v: %v", i, r, err)
			}
			if i > 0 && (r.Seq != recs[i-1].Seq+1 || math.Abs(r.PTS-recs[i-1].PTS-0.5) > 1e-6) {
				t.Errorf("record %d follows %+v with %+v; want the next 1/2 s", i, recs[i-1], r)
			}
		}
		if py := numpyPython(t); py != "" {
			code := "import numpy, sys; a = numpy.load(sys.argv[1]); print(a.shape, a.dtype)"
			out, err := exec.Command(py, "-c", code, filepath.Join(outDir, "train", recs[0].File)).CombinedOutput()
			if err != nil || strings.TrimSpace(string(out)) != "(48, 64, 3) uint8" {
				t.Errorf("numpy.load: %v %s", err, out)
			}
		}
	})
	t.Run("frames API", func(t *testing.T) {
		testFramesAPI(t, s, "outs")
	})
	t.Run("status", func(t *testing.T) {
		poll.Until(t, "every delivery active", time.Minute, func() (bool, string) {
			ch := s.channel("outs")
			ok := len(ch.Deliveries) == 5
			for _, d := range ch.Deliveries {
				ok = ok && d.State == resource.DeliveryActive && d.Failures == 0
			}
			return ok, fmt.Sprintf("%+v", ch.Deliveries)
		})
	})
	t.Run("frames across a ladder change", func(t *testing.T) {
		newLadder := "{video: [{name: small, width: 320, height: 180, bitrate: 300k, fps: 25}], preset: ultrafast}"
		testFramesAcrossRestart(t, s, "outs", func() {
			s.applyStack(dir, "outs", deliveriesStackWith(sample, udpPort, rtpPort, newLadder))
		})
	})
}

// testFramesAcrossRestart reads a frames stream while change restarts the
// channel's encoder on another ladder: the size, the sequence and the PTS
// grid hold, the gap is filled and marked, and the stream follows the new
// first rung.
func testFramesAcrossRestart(t *testing.T, s *server, channel string, change func()) {
	const fps, w, h = 5, 96, 64
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	url := s.url(fmt.Sprintf("/api/v1/channels/%s/frames?width=%d&height=%d&fps=%d&format=rgb24", channel, w, h, fps))
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := s.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	r := output.NewFrameReader(resp.Body)
	var hdrs []output.FrameHeader
	before, after := "", 0
	for after < 10 {
		hd, payload, err := r.Next()
		if err != nil {
			t.Fatalf("after %d frames: %v", len(hdrs), err)
		}
		if hd.Width != w || hd.Height != h || len(payload) != w*h*3 {
			t.Fatalf("frame %+v with %d bytes", hd, len(payload))
		}
		if n := len(hdrs); n > 0 {
			if hd.Seq != hdrs[n-1].Seq+1 || math.Abs(hd.PTS-hdrs[n-1].PTS-1.0/fps) > 1e-6 {
				t.Fatalf("frame %+v follows %+v", hd, hdrs[n-1])
			}
		}
		hdrs = append(hdrs, hd)
		switch {
		case len(hdrs) == 1:
			before = hd.Rendition
		case len(hdrs) == 5:
			change()
		case hd.Rendition != before:
			after++
		}
	}
	disc := 0
	for _, hd := range hdrs {
		if hd.Discontinuity {
			disc++
		}
	}
	last := hdrs[len(hdrs)-1]
	if before != "360p" || last.Rendition != "small" || disc != 1 {
		t.Errorf("rendition %s then %s, %d discontinuities; want 360p, small, 1", before, last.Rendition, disc)
	}
}

func ffprobeStreams(v map[string]any) []map[string]any {
	raw, _ := v["streams"].([]any)
	var out []map[string]any
	for _, s := range raw {
		if m, ok := s.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

func readIndex(t *testing.T, path string) []output.DatasetRecord {
	t.Helper()
	f, err := os.Open(path) //nolint:gosec // a test's own temporary directory
	if err != nil {
		return nil
	}
	defer func() { _ = f.Close() }()
	var recs []output.DatasetRecord
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r output.DatasetRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("index line %q: %v", sc.Text(), err)
		}
		recs = append(recs, r)
	}
	return recs
}

// numpyPython returns a Python 3 that has NumPy; "" (or a failure with
// SLUICE_REQUIRE_TOOLS=1) when there is none.
func numpyPython(t *testing.T) string {
	t.Helper()
	for _, py := range []string{"python3", "/usr/bin/python3"} {
		if exec.Command(py, "-c", "import numpy").Run() == nil {
			return py
		}
	}
	if os.Getenv(media.RequireEnv) == "1" {
		t.Fatal("Python 3 with NumPy is required for this test (Debian: python3-numpy)")
	}
	t.Log("no Python 3 with NumPy: the Python consumer is not run")
	return ""
}

// testFramesAPI reads frames at a fixed size and rate and checks them by
// their timestamps, then runs the documented Python consumer.
func testFramesAPI(t *testing.T, s *server, channel string) {
	const n, fps, w, h = 12, 5, 96, 64
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	url := s.url(fmt.Sprintf("/api/v1/channels/%s/frames?width=%d&height=%d&fps=%d&format=rgb24&count=%d", channel, w, h, fps, n))
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := s.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != output.FramesContentType {
		t.Fatalf("frames: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	r := output.NewFrameReader(resp.Body)
	var hdrs []output.FrameHeader
	for {
		hd, payload, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if hd.Width != w || hd.Height != h || len(payload) != w*h*3 || hd.Format != "rgb24" || hd.Channel != channel {
			t.Fatalf("frame %+v with %d bytes", hd, len(payload))
		}
		hdrs = append(hdrs, hd)
	}
	if len(hdrs) != n {
		t.Fatalf("%d frames, want %d", len(hdrs), n)
	}
	// Count by timestamps: n frames span (n-1)/fps seconds of channel time.
	if span := hdrs[n-1].PTS - hdrs[0].PTS; math.Abs(span-float64(n-1)/fps) > 1e-6 {
		t.Errorf("%d frames span %.4f s of PTS, want %.4f", n, span, float64(n-1)/fps)
	}
	for i := 1; i < n; i++ {
		if hdrs[i].Seq != hdrs[i-1].Seq+1 {
			t.Errorf("frame %d has seq %d after %d", i, hdrs[i].Seq, hdrs[i-1].Seq)
		}
		if d := hdrs[i].Time.Sub(hdrs[i-1].Time); d < 150*time.Millisecond || d > 250*time.Millisecond {
			t.Errorf("frame %d taken %v after the one before, want 200ms", i, d)
		}
	}
	py := numpyPython(t)
	if py == "" {
		return
	}
	script, err := filepath.Abs("../docs/examples/frames_consumer.py")
	if err != nil {
		t.Fatal(err)
	}
	// docs/frames.md shows the script: the two must not drift apart.
	body, err1 := os.ReadFile(script)
	doc, err2 := os.ReadFile("../docs/frames.md")
	if err1 != nil || err2 != nil || !strings.Contains(string(doc), string(body)) {
		t.Errorf("docs/frames.md does not show docs/examples/frames_consumer.py as it is (%v, %v)", err1, err2)
	}
	cmd := exec.CommandContext(ctx, py, script, "http://"+s.addr, channel, "--width", "48", "--height", "32", "--fps", "4", "--count", "6")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the documented consumer: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 6 {
		t.Fatalf("the documented consumer printed %d lines:\n%s", len(lines), out)
	}
	var first, last struct {
		Seq   int     `json:"seq"`
		PTS   float64 `json:"pts"`
		Shape []int   `json:"shape"`
	}
	if json.Unmarshal([]byte(lines[0]), &first) != nil || json.Unmarshal([]byte(lines[5]), &last) != nil {
		t.Fatalf("consumer output:\n%s", out)
	}
	if !slices.Equal(first.Shape, []int{32, 48, 3}) || math.Abs(last.PTS-first.PTS-1.25) > 1e-6 || last.Seq != 5 {
		t.Errorf("consumer frames %+v … %+v", first, last)
	}
}

// startServerRTMP runs a server whose RTMP listener is on a fixed address,
// so that it listens there again after a restart.
func startServerRTMP(t *testing.T, data, rtmp string) *server {
	t.Helper()
	s := &server{t: t, bin: sluiceBin.get(t), data: data, addr: freeAddr(t), args: []string{"--rtmp", rtmp}}
	s.start()
	t.Cleanup(func() {
		s.stop()
		if t.Failed() {
			t.Logf("receiver log:\n%s", s.log.String())
		}
	})
	return s
}

const receiverStack = `name: rx
securityGroups:
  - {name: local, allow: [127.0.0.0/8]}
inputs:
  - {name: rx-in, type: RTMP_PUSH, securityGroups: [local]}
channels:
  - name: rx
    autoStart: true
    inputAttachments: [{input: rx-in}]
    encoder: {ladder: test-360p, preset: ultrafast}
`

// TestRTMPOutputSurvivesTheReceiver pushes a channel over RTMP into a
// second Sluice's RTMP input, takes the receiver away and brings it back:
// the push resumes and the sending channel never stops.
func TestRTMPOutputSurvivesTheReceiver(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	rx := startServerRTMP(t, t.TempDir(), freeAddr(t))
	rx.applyStack(dir, "rx", receiverStack)
	in := rx.input("rx-in")
	if len(in.Endpoints) == 0 || !strings.HasPrefix(in.Endpoints[0], "rtmp://") {
		t.Fatalf("receiver endpoints %v", in.Endpoints)
	}
	sample := media.Sample(t, dir, 640, 360, 6)
	tx := startServer(t, t.TempDir())
	tx.applyStack(dir, "tx", fmt.Sprintf(`name: tx
inputs:
  - {name: tx-file, type: FILE, url: %q}
channels:
  - name: tx
    autoStart: true
    inputAttachments: [{input: tx-file, sourceEndBehavior: LOOP}]
    encoder: {ladder: test-360p, preset: ultrafast}
    outputs:
      - {name: hls, type: HLS}
      - {name: restream, type: RTMP, destination: %q}
`, sample, in.Endpoints[0]))
	tx.waitState("tx", resource.StateRunning, 90*time.Second)
	rx.waitState("rx", resource.StateRunning, 2*time.Minute)
	restream := func() resource.DeliveryStatus {
		for _, d := range tx.channel("tx").Deliveries {
			if d.Name == "restream" {
				return d
			}
		}
		t.Fatal("no restream delivery in the channel status")
		return resource.DeliveryStatus{}
	}
	receiving := func(what string) {
		t.Helper()
		var frames uint64
		poll.Until(t, what, time.Minute, func() (bool, string) {
			live := rx.input("rx-in").Live
			if live == nil || !live.Connected || !strings.EqualFold(live.Video, "h264") || live.Width != 640 {
				return false, fmt.Sprintf("%+v", live)
			}
			if frames == 0 {
				frames = live.FramesReceived
			}
			return live.FramesReceived > frames+25, fmt.Sprintf("%+v", live)
		})
	}
	receiving("the receiver gets the push: 640x360 H.264, frames flowing")
	poll.Until(t, "the restream reports itself active", time.Minute, func() (bool, string) {
		d := restream()
		return d.State == resource.DeliveryActive, fmt.Sprintf("%+v", d)
	})

	rx.stop()
	poll.Until(t, "the push notices the receiver is gone", time.Minute, func() (bool, string) {
		d := restream()
		return d.Failures > 0 && d.LastError != "", fmt.Sprintf("%+v", d)
	})
	segments := tx.channel("tx").Pipeline.Segments
	poll.Until(t, "the sending channel goes on", time.Minute, func() (bool, string) {
		ch := tx.channel("tx")
		return ch.State == resource.StateRunning && ch.Pipeline != nil && ch.Pipeline.Segments > segments+2, fmt.Sprintf("%s %+v", ch.State, ch.Pipeline)
	})

	firstLog := rx.log
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("receiver log before its restart:\n%s", firstLog.String())
		}
	})
	rx.start()
	receiving("the push reaches the receiver again")
	rx.waitState("rx", resource.StateRunning, 2*time.Minute)
	poll.Until(t, "the push is back", time.Minute, func() (bool, string) {
		d := restream()
		return d.State == resource.DeliveryActive, fmt.Sprintf("%+v", d)
	})
	if ch := tx.channel("tx"); ch.State != resource.StateRunning || ch.Pipeline.Restarts != 0 {
		t.Errorf("the sending channel was disturbed: %s, %d restarts", ch.State, ch.Pipeline.Restarts)
	}

	// Frames of the receiving channel keep their rate when its input is
	// lost: the fill is decoded like any picture.
	testFramesThroughInputLoss(t, rx, "rx", tx.stop)
}

// testFramesThroughInputLoss reads a live channel's frames while lose
// takes its publisher away: the sequence and the PTS grid go on without a
// discontinuity, and the channel shows its fill.
func testFramesThroughInputLoss(t *testing.T, s *server, channel string, lose func()) {
	const fps, w, h = 5, 64, 36
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	url := s.url(fmt.Sprintf("/api/v1/channels/%s/frames?width=%d&height=%d&fps=%d&format=rgb24&count=40", channel, w, h, fps))
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := s.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	r := output.NewFrameReader(resp.Body)
	var prev output.FrameHeader
	for i := 0; ; i++ {
		hd, payload, err := r.Next()
		if errors.Is(err, io.EOF) {
			if i != 40 {
				t.Fatalf("the stream ended after %d frames", i)
			}
			break
		}
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if hd.Width != w || hd.Height != h || len(payload) != w*h*3 || hd.Discontinuity || hd.Fill {
			t.Fatalf("frame %d: %+v with %d bytes", i, hd, len(payload))
		}
		if i > 0 && (hd.Seq != prev.Seq+1 || math.Abs(hd.PTS-prev.PTS-1.0/fps) > 1e-6) {
			t.Fatalf("frame %+v follows %+v", hd, prev)
		}
		prev = hd
		if i == 5 {
			lose()
		}
	}
	if p := s.channel(channel).Pipeline; p == nil || !p.Filling {
		t.Errorf("the channel should be showing its fill: %+v", p)
	}
}
