package e2e

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/testutil/media"
	"github.com/sluice-video/sluice/internal/testutil/poll"
)

// liveStack: one security group, push inputs of every kind, a pull, and a
// channel per input on a small single-rung ladder.
func liveStack(udpPort int, pullURL string) string {
	ch := func(name, in, extra string) string {
		return fmt.Sprintf(`  - name: %s
    autoStart: true
    inputAttachments: [{input: %s%s}]
    inputLoss: {inputLossMs: 1000}
    encoder:
      video: [{name: low, width: 256, height: 144, bitrate: 150k, fps: 25, profile: baseline, preset: ultrafast}]
`, name, in, extra)
	}
	s := fmt.Sprintf(`name: studio
securityGroups:
  - name: local
    allow: [127.0.0.0/8, "::1/128"]
inputs:
  - {name: cam-rtmp, type: RTMP_PUSH, securityGroups: [local]}
  - {name: backup-rtmp, type: RTMP_PUSH, securityGroups: [local]}
  - {name: cam-srt, type: SRT_LISTENER, securityGroups: [local], srt: {passphrase: "s3cret-passphrase"}}
  - {name: cam-slt, type: SRT_LISTENER, securityGroups: [local]}
  - {name: cam-udp, type: UDP_PUSH, securityGroups: [local], port: %d}
`, udpPort)
	if pullURL != "" {
		s += fmt.Sprintf("  - {name: relay, type: URL_PULL, url: %q}\n", pullURL)
	}
	s += "channels:\n"
	s += ch("ch-rtmp", "cam-rtmp", ", secondaryInput: backup-rtmp, failover: {policy: PRIMARY_INPUT_PREFERRED, errorClearMs: 3000}")
	s += ch("ch-srt", "cam-srt", "")
	s += ch("ch-slt", "cam-slt", "")
	s += ch("ch-udp", "cam-udp", "")
	if pullURL != "" {
		s += ch("ch-pull", "relay", "")
	}
	return s
}

func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	return c.LocalAddr().(*net.UDPAddr).Port
}

func (s *server) input(name string) resource.Input {
	s.t.Helper()
	code, _, body := s.get("/api/v1/inputs/" + name)
	var in resource.Input
	if code != 200 || json.Unmarshal(body, &in) != nil {
		s.t.Fatalf("GET input %s: %d %s", name, code, body)
	}
	return in
}

// publisher is an ffmpeg sending a test picture and a tone in real time.
type publisher struct {
	cmd *exec.Cmd
}

// startPublisher runs ffmpeg with the output options given (format and URL).
func startPublisher(t *testing.T, size string, out ...string) *publisher {
	t.Helper()
	args := []string{"-hide_banner", "-loglevel", "error", "-nostdin", "-re",
		"-f", "lavfi", "-i", "testsrc2=size=" + size + ":rate=25", "-f", "lavfi", "-i", "sine=frequency=500:sample_rate=48000",
		"-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "25", "-pix_fmt", "yuv420p",
		"-c:a", "aac", "-ar", "48000", "-ac", "2"}
	p := &publisher{cmd: exec.Command(media.Tool(t, "ffmpeg"), append(args, out...)...)}
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.kill)
	return p
}

func (p *publisher) kill() {
	if p.cmd.Process != nil {
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		_ = p.cmd.Wait()
	}
}

// waitOnAir waits until a channel encodes its input (not fill) and its
// playlist advances, then checks a segment decodes.
func (s *server) waitOnAir(channel, input string) {
	s.t.Helper()
	poll.Until(s.t, channel+" shows "+input, 90*time.Second, func() (bool, string) {
		ch := s.channel(channel)
		p := ch.Pipeline
		if ch.State != resource.StateRunning || p == nil {
			return false, string(ch.State) + " " + ch.StateReason
		}
		return p.ActiveInput == input && !p.Filling, fmt.Sprintf("active %q, filling %v", p.ActiveInput, p.Filling)
	})
	s.waitAdvancing(channel)
}

// waitAdvancing waits for two new segments and decodes the last one.
func (s *server) waitAdvancing(channel string) {
	s.t.Helper()
	playlist := "/live/" + channel + "/hls/low/index.m3u8"
	var first uint64
	poll.Until(s.t, channel+" has a playlist", 60*time.Second, func() (bool, string) {
		pl, _, ok := s.media(playlist)
		if !ok {
			return false, "no playlist yet"
		}
		segs := segmentsOf(pl)
		first = segs[len(segs)-1].SeqId
		return true, ""
	})
	poll.Until(s.t, channel+" advances", 60*time.Second, func() (bool, string) {
		last, _ := s.lastSegment(playlist)
		return last >= first+2, fmt.Sprintf("segment %d, was %d", last, first)
	})
	pl, _, _ := s.media(playlist)
	segs := segmentsOf(pl)
	file, _ := s.segmentFile(s.t.TempDir(), playlist, segs[len(segs)-1])
	probe := ffprobeJSON(s.t, "-select_streams", "v:0", "-show_entries", "stream=width,height", file)
	st := probe["streams"].([]any)[0].(map[string]any)
	if st["width"] != float64(256) || st["height"] != float64(144) {
		s.t.Errorf("%s segment decodes as %v", channel, st)
	}
}

func TestLiveInputs(t *testing.T) {
	t.Parallel()
	media.Tool(t, "srt-live-transmit")
	s := startServer(t, t.TempDir())
	udpPort := freeUDPPort(t)
	dir := t.TempDir()
	s.applyStack(dir, "studio", liveStack(udpPort, ""))
	// The pull comes from the server's own HLS output of the UDP channel.
	s.applyStack(dir, "studio", liveStack(udpPort, s.url("/live/ch-udp/hls/index.m3u8")))

	endpoint := func(input string) string {
		in := s.input(input)
		if len(in.Endpoints) == 0 {
			t.Fatalf("input %s has no endpoint: %+v", input, in)
		}
		return in.Endpoints[0]
	}
	rtmpURL := endpoint("cam-rtmp")
	if !strings.HasPrefix(rtmpURL, "rtmp://") || !strings.HasSuffix(rtmpURL, s.input("cam-rtmp").StreamKey) {
		t.Fatalf("RTMP endpoint %q", rtmpURL)
	}
	camRTMP := startPublisher(t, "320x180", "-f", "flv", rtmpURL)
	startPublisher(t, "384x216", "-f", "flv", endpoint("backup-rtmp"))
	startPublisher(t, "320x180", "-f", "mpegts", endpoint("cam-srt")+"&pkt_size=1316")
	udp := startPublisher(t, "320x180", "-f", "mpegts", fmt.Sprintf("udp://127.0.0.1:%d?pkt_size=1316", udpPort))
	slt := exec.Command("bash", "-c", fmt.Sprintf(
		"ffmpeg -hide_banner -loglevel error -nostdin -re -f lavfi -i testsrc2=size=320x180:rate=25 -f lavfi -i sine -c:v libx264 -preset ultrafast -g 25 -c:a aac -f mpegts - | srt-live-transmit -q file://con '%s'",
		endpoint("cam-slt")))
	slt.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := slt.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(-slt.Process.Pid, syscall.SIGKILL); _ = slt.Wait() })

	t.Run("every protocol plays", func(t *testing.T) {
		s.waitOnAir("ch-rtmp", "cam-rtmp")
		s.waitOnAir("ch-srt", "cam-srt")
		s.waitOnAir("ch-slt", "cam-slt")
		s.waitOnAir("ch-udp", "cam-udp")
		s.waitOnAir("ch-pull", "relay")
		in := s.input("cam-rtmp")
		if l := in.Live; l == nil || !l.Connected || l.Video != "H264" || l.Width != 320 || l.BitrateIn <= 0 || l.FramesReceived == 0 {
			t.Errorf("cam-rtmp live status %+v", in.Live)
		}
		out, err := s.cli("input", "get", "cam-srt")
		if err != nil || !strings.Contains(out, "srt://") || !strings.Contains(out, "connected") {
			t.Errorf("input get: %v\n%s", err, out)
		}
		// The channel page lists where to publish, ready to copy.
		_, _, page := s.get("/play/ch-rtmp")
		server, key, _ := strings.Cut(rtmpURL, "/live/")
		for _, want := range []string{`data-copy="` + rtmpURL + `"`, `data-copy="` + server + `/live"`, `data-copy="` + key + `"`, "receiving from 127.0.0.1:"} {
			if !strings.Contains(string(page), want) {
				t.Errorf("the channel page lacks %s", want)
			}
		}
	})

	t.Run("input loss fills and the picture comes back", func(t *testing.T) {
		udp.kill()
		poll.Until(t, "ch-udp fills", 30*time.Second, func() (bool, string) {
			p := s.channel("ch-udp").Pipeline
			return p != nil && p.Filling, fmt.Sprintf("%+v", p)
		})
		s.waitAdvancing("ch-udp") // playlists keep advancing on fill
		if st := s.channel("ch-udp").State; st != resource.StateRunning {
			t.Errorf("a lost input leaves the channel RUNNING, got %s", st)
		}
		startPublisher(t, "320x180", "-f", "mpegts", fmt.Sprintf("udp://127.0.0.1:%d?pkt_size=1316", udpPort))
		s.waitOnAir("ch-udp", "cam-udp")
	})

	t.Run("failover to the secondary and back", func(t *testing.T) {
		camRTMP.kill()
		poll.Until(t, "ch-rtmp on backup-rtmp", 30*time.Second, func() (bool, string) {
			p := s.channel("ch-rtmp").Pipeline
			return p != nil && p.ActiveInput == "backup-rtmp" && !p.Filling, fmt.Sprintf("%+v", p)
		})
		out, _ := s.cli("channel", "history", "ch-rtmp")
		if !strings.Contains(out, "switched from input cam-rtmp to backup-rtmp") {
			t.Errorf("the switch must be in the history with its reason:\n%s", out)
		}
		startPublisher(t, "320x180", "-f", "flv", rtmpURL)
		poll.Until(t, "ch-rtmp back on cam-rtmp", 60*time.Second, func() (bool, string) {
			p := s.channel("ch-rtmp").Pipeline
			return p != nil && p.ActiveInput == "cam-rtmp", fmt.Sprintf("%+v", p)
		})
		code, _, body := s.get("/api/v1/events?type=input.*&limit=100")
		if code != 200 || !strings.Contains(string(body), `"input.switched"`) || !strings.Contains(string(body), `"input.lost"`) {
			t.Errorf("events: %d %s", code, body)
		}
	})

	t.Run("hostile bytes at every port", func(t *testing.T) {
		junk := make([]byte, 64<<10)
		_, _ = rand.Read(junk)
		rtmpHost := strings.SplitN(strings.TrimPrefix(rtmpURL, "rtmp://"), "/", 2)[0]
		if c, err := net.DialTimeout("tcp", rtmpHost, 5*time.Second); err == nil {
			_, _ = c.Write(junk)
			_ = c.Close()
		}
		srtHost := strings.SplitN(strings.TrimPrefix(endpoint("cam-slt"), "srt://"), "?", 2)[0]
		for _, addr := range []string{srtHost, fmt.Sprintf("127.0.0.1:%d", udpPort)} {
			if c, err := net.Dial("udp", addr); err == nil {
				for i := 0; i < len(junk); i += 1316 {
					_, _ = c.Write(junk[i:min(i+1316, len(junk))])
				}
				_ = c.Close()
			}
		}
		s.waitAdvancing("ch-srt")
		s.waitAdvancing("ch-udp")
		if code, _, _ := s.get("/healthz"); code != 200 {
			t.Errorf("server unhealthy after junk: %d", code)
		}
	})

	t.Run("a narrower security group drops the publisher", func(t *testing.T) {
		body := `{"name": "local", "allow": ["127.0.0.2/32"]}`
		code := s.put("/api/v1/security-groups/local", body)
		if code != 200 {
			t.Fatalf("narrowing the group: %d", code)
		}
		poll.Until(t, "cam-srt disconnected", 30*time.Second, func() (bool, string) {
			l := s.input("cam-srt").Live
			return l != nil && !l.Connected, fmt.Sprintf("%+v", l)
		})
		poll.Until(t, "ch-srt fills", 30*time.Second, func() (bool, string) {
			p := s.channel("ch-srt").Pipeline
			return p != nil && p.Filling, fmt.Sprintf("%+v", p)
		})
	})
}
