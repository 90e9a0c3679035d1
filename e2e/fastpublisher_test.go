package e2e

import (
	"fmt"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/testutil/media"
	"github.com/sluice-video/sluice/internal/testutil/poll"
)

// A publisher that sends at twice real time does not carry the channel's
// segments and date-times ahead of the wall clock: the frames that come
// too early are dropped and counted. When a publisher at real time takes
// its place, the channel goes on with it, still on the clock.
func TestPublisherFasterThanRealTime(t *testing.T) {
	t.Parallel()
	s := startServer(t, t.TempDir())
	s.applyStack(t.TempDir(), "fast", `name: fast
securityGroups:
  - name: local
    allow: [127.0.0.0/8, "::1/128"]
inputs:
  - {name: cam, type: RTMP_PUSH, securityGroups: [local]}
channels:
  - name: ch-fast
    autoStart: true
    inputAttachments: [{input: cam}]
    inputLoss: {inputLossMs: 1000}
    encoder:
      video: [{name: low, width: 256, height: 144, bitrate: 150k, fps: 25, profile: baseline, preset: ultrafast}]
`)
	url := s.input("cam").Endpoints[0]
	// -readrate 2: two seconds of picture and tone every second.
	fast := exec.Command(media.Tool(t, "ffmpeg"), "-hide_banner", "-loglevel", "error", "-nostdin", "-readrate", "2",
		"-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25", "-f", "lavfi", "-i", "sine=frequency=500:sample_rate=48000",
		"-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "25", "-pix_fmt", "yuv420p",
		"-c:a", "aac", "-ar", "48000", "-ac", "2", "-f", "flv", url)
	fast.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := fast.Start(); err != nil {
		t.Fatal(err)
	}
	stopFast := func() {
		if fast.Process != nil {
			_ = syscall.Kill(-fast.Process.Pid, syscall.SIGKILL)
			_ = fast.Wait()
			fast.Process = nil
		}
	}
	t.Cleanup(stopFast)
	s.waitOnAir("ch-fast", "cam")

	// The newest segment never ends more than a segment and a half after
	// now: the machine's load can only make the output late, never early.
	playlist := "/live/ch-fast/hls/low/index.m3u8"
	onClock := func(d time.Duration) {
		t.Helper()
		for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(500 * time.Millisecond) {
			pl, _, ok := s.media(playlist)
			if !ok {
				continue
			}
			segs := segmentsOf(pl)
			last := segs[len(segs)-1]
			ends := last.ProgramDateTime.Add(time.Duration(last.Duration * float64(time.Second)))
			if ahead := time.Until(ends); ahead > 3*time.Second {
				t.Fatalf("segment %d ends at %s, %v ahead of the wall clock", last.SeqId, ends.Format("15:04:05.000"), ahead.Round(time.Millisecond))
			}
		}
	}
	onClock(20 * time.Second)
	poll.Until(t, "the frames that came too early to be counted", 30*time.Second, func() (bool, string) {
		p := s.channel("ch-fast").Pipeline
		if p == nil {
			return false, "no pipeline"
		}
		return p.InputDroppedFrames > 0, fmt.Sprintf("%d input frames dropped", p.InputDroppedFrames)
	})

	stopFast()
	startPublisher(t, "320x180", "-f", "flv", url)
	s.waitOnAir("ch-fast", "cam")
	onClock(10 * time.Second)
}
