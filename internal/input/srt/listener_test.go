package srt

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	gosrt "github.com/datarhei/gosrt"

	"github.com/sluice-video/sluice/internal/input/live"
	"github.com/sluice-video/sluice/internal/testutil/livetest"
	"github.com/sluice-video/sluice/internal/testutil/media"
	"github.com/sluice-video/sluice/internal/testutil/poll"
)

const passphrase = "correct-horse-battery"

// startListener serves SRT on a free loopback port and returns its address.
func startListener(t *testing.T, reg *live.Registry) (*Listener, string) {
	t.Helper()
	l := &Listener{Registry: reg, Logger: livetest.Logger(t), ReadTimeout: 5 * time.Second}
	done := make(chan error, 1)
	go func() { done <- l.Serve("127.0.0.1:0") }()
	t.Cleanup(func() {
		l.Close(context.Background())
		if err := <-done; !errors.Is(err, ErrListenerClosed) {
			t.Errorf("Serve returned %v", err)
		}
	})
	poll.UntilTrue(t, "the listener to bind", livetest.WaitLong, func() bool { return l.Addr() != nil })
	return l, l.Addr().String()
}

func srtInput(name, key, pass string, allow ...string) live.InputConfig {
	return live.InputConfig{Name: name, Protocol: "srt", StreamKey: key, Passphrase: pass, Allow: livetest.Prefixes(allow...)}
}

func TestFFmpegPublishes(t *testing.T) {
	cases := []struct {
		name            string
		streamID        string
		vcodec, acodec  string
		video, audio    live.Codec
		withPassphrase  bool
		audioSampleRate string
	}{
		{"H264+AAC with passphrase", "k1", "libx264", "aac", live.H264, live.AAC, true, "48000"},
		{"H265+Opus access control syntax", "#!::r=k1,m=publish", "libx265", "libopus", live.H265, live.Opus, false, "48000"},
		{"H264+MP3", "k1", "libx264", "libmp3lame", live.H264, live.MP3, false, "44100"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			reg := live.NewRegistry(nil)
			// ffmpeg passes the stream id as written, without URL decoding.
			pass, query := "", "streamid="+c.streamID
			if c.withPassphrase {
				pass = passphrase
				query += "&passphrase=" + pass + "&pbkeylen=16"
			}
			hub := reg.Set(srtInput("cam", "k1", pass, "127.0.0.0/8"))
			w := livetest.Watch(t, hub)
			_, addr := startListener(t, reg)
			args := []string{
				"-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25",
				"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=" + c.audioSampleRate, "-t", "60",
				"-c:v", c.vcodec, "-preset", "ultrafast", "-g", "25", "-pix_fmt", "yuv420p",
			}
			if c.vcodec == "libx265" {
				args = append(args, "-x265-params", "log-level=error")
			}
			args = append(args, "-c:a", c.acodec, "-f", "mpegts", "srt://"+addr+"?"+query)
			livetest.FFmpegPublish(t, args...)
			livetest.ExpectMedia(t, w, c.video, c.audio, 320, 180)
			if st := hub.Status(); !st.Connected || st.Protocol != "srt" || !strings.HasPrefix(st.Publisher, "127.0.0.1:") {
				t.Errorf("status %+v", st)
			}
		})
	}
}

// TestSRTLiveTransmit pushes a TS file with the reference SRT tool.
func TestSRTLiveTransmit(t *testing.T) {
	slt := media.Tool(t, "srt-live-transmit")
	ff := media.Tool(t, "ffmpeg")
	ts := livetest.TSFile(t, "libx264", "aac", 320, 180, 30)
	reg := live.NewRegistry(nil)
	hub := reg.Set(srtInput("cam", "k1", passphrase, "127.0.0.0/8"))
	w := livetest.Watch(t, hub)
	_, addr := startListener(t, reg)

	// ffmpeg paces the file in real time into srt-live-transmit's stdin.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pace := exec.CommandContext(ctx, ff, "-hide_banner", "-loglevel", "error", "-re", "-i", "pipe:0", "-c", "copy", "-f", "mpegts", "pipe:1")
	pace.Stdin = strings.NewReader(string(ts))
	push := exec.CommandContext(ctx, slt, "-q", "file://con", "srt://"+addr+"?streamid=k1&passphrase="+passphrase+"&pbkeylen=16")
	pipe, err := pace.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	push.Stdin = pipe
	var out strings.Builder
	push.Stdout, push.Stderr = &out, &out
	if err := push.Start(); err != nil {
		t.Fatal(err)
	}
	if err := pace.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cancel()
		_ = pace.Wait()
		_ = push.Wait()
		if t.Failed() {
			t.Logf("srt-live-transmit:\n%s", out.String())
		}
	}()
	livetest.ExpectMedia(t, w, live.H264, live.AAC, 320, 180)
}

func TestRefusals(t *testing.T) {
	ts := livetest.TSFile(t, "libx264", "aac", 320, 180, 3)
	reg := live.NewRegistry(nil)
	hub := reg.Set(srtInput("cam", "k1", passphrase, "127.0.0.0/8"))
	reg.Set(srtInput("open", "k2", "", "127.0.0.0/8"))
	w := livetest.Watch(t, hub)
	_, addr := startListener(t, reg)

	refused := func(what, streamID, pass string) {
		t.Helper()
		before, frames := hub.Status().Refused, w.Count(live.Video)
		c, err := dialSRT(addr, streamID, pass)
		if err == nil {
			c.Close()
			t.Errorf("%s: connected", what)
		}
		t.Logf("%s: %v", what, err)
		if frames == 0 && (hub.Status().Connected || w.Count(live.Video) != 0) {
			t.Errorf("%s: media flowed", what)
		}
		if strings.Contains(what, "counted") && hub.Status().Refused <= before {
			t.Errorf("%s: not counted on the input", what)
		}
	}
	refused("wrong key", "nope", passphrase)
	refused("wrong passphrase (counted)", "k1", "not-the-passphrase")
	refused("no passphrase (counted)", "k1", "")
	refused("playback request", "#!::r=k1,m=request", passphrase)
	refused("empty stream id", "", passphrase)
	refused("encrypting to an input without passphrase", "k2", passphrase)

	first, err := dialSRT(addr, "#!::r=k1,m=publish", passphrase)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	stop := make(chan struct{})
	defer close(stop)
	go pushTS(first, ts, stop)
	poll.UntilTrue(t, "the first publisher's frames", livetest.WaitLong, func() bool { return w.Count(live.Video) > 5 })
	refused("second publisher (counted)", "k1", passphrase)
	if st := hub.Status(); !st.Connected {
		t.Errorf("the first publisher was dropped: %+v", st)
	}
}

func TestSecurityGroup(t *testing.T) {
	ts := livetest.TSFile(t, "libx264", "aac", 320, 180, 3)
	reg := live.NewRegistry(nil)
	hub := reg.Set(srtInput("cam", "k1", "", "127.0.0.2/32"))
	w := livetest.Watch(t, hub)
	_, addr := startListener(t, reg)

	// No input allows 127.0.0.1: refused before its key is looked at.
	if c, err := dialSRT(addr, "k1", ""); err == nil {
		c.Close()
		t.Error("a caller no security group allows connected")
	}
	if st := hub.Status(); st.Refused != 0 || st.Connected {
		t.Errorf("a refusal before the key counts on no input: %+v", st)
	}

	// Another input allows 127.0.0.1: refused at the key, counted on cam.
	reg.Set(srtInput("other", "k2", "", "127.0.0.1/32"))
	if c, err := dialSRT(addr, "k1", ""); err == nil {
		c.Close()
		t.Error("a caller outside cam's security group connected")
	}
	if st := hub.Status(); st.Refused == 0 || st.FramesReceived != 0 || st.Connected {
		t.Errorf("status after a caller outside the group %+v", st)
	}

	reg.Set(srtInput("cam", "k1", "", "127.0.0.1/32"))
	c, err := dialSRT(addr, "k1", "")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	closed := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, c)
		close(closed)
	}()
	stop := make(chan struct{})
	defer close(stop)
	go pushTS(c, ts, stop)
	poll.UntilTrue(t, "frames from 127.0.0.1", livetest.WaitLong, func() bool { return w.Count(live.Video) >= 10 })

	// A new security group that leaves the publisher out drops it.
	reg.Set(srtInput("cam", "k1", "", "127.0.0.9/32"))
	poll.UntilTrue(t, "the publisher to be dropped", livetest.WaitLong, func() bool { return !hub.Status().Connected })
	poll.UntilTrue(t, "the subscribers to hear why", livetest.WaitLong, func() bool {
		_, _, _, ended := w.Snapshot()
		return len(ended) > 0 && strings.Contains(ended[len(ended)-1], "security group")
	})
	select {
	case <-closed:
	case <-time.After(livetest.WaitLong):
		t.Error("the connection stayed open after the group changed")
	}
}

// TestHostileInput throws datagrams at the port, then publishes normally.
func TestHostileInput(t *testing.T) {
	ts := livetest.TSFile(t, "libx264", "aac", 320, 180, 3)
	reg := live.NewRegistry(nil)
	hub := reg.Set(srtInput("cam", "k1", "", "127.0.0.0/8"))
	w := livetest.Watch(t, hub)
	_, addr := startListener(t, reg)

	nc, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	buf := make([]byte, 1500)
	for i := range 2000 {
		n := 1 + i%len(buf)
		_, _ = rand.Read(buf[:n])
		switch i % 4 {
		case 0: // a control packet: handshake type, destination 0
			buf[0] = 0x80
			if n > 2 {
				buf[1] = 0
			}
		case 1: // a data packet to an unknown socket
			buf[0] &= 0x7f
		}
		_, _ = nc.Write(buf[:n])
	}
	// A publisher whose stream is garbage: it is read and survives.
	c := dialRetry(t, addr, "k1")
	for range 200 {
		_, _ = rand.Read(buf[:1316])
		if _, err := c.Write(buf[:1316]); err != nil {
			break
		}
	}
	c.Close()
	poll.UntilTrue(t, "the garbage publisher to be gone", livetest.WaitLong, func() bool { return !hub.Status().Connected })

	good := dialRetry(t, addr, "k1")
	defer good.Close()
	stop := make(chan struct{})
	defer close(stop)
	go pushTS(good, ts, stop)
	poll.UntilTrue(t, "frames after garbage", livetest.WaitLong, func() bool { return w.Count(live.Video) >= 10 })
}

func TestParseStreamID(t *testing.T) {
	cases := []struct {
		id, key string
		err     error
	}{
		{"k1", "k1", nil},
		{"%23%21%3A%3Ar%3Dk1%2Cm%3Dpublish", "k1", nil},
		{"#!::r=k1,m=publish", "k1", nil},
		{"#!::m=publish,u=alice,r=k1", "k1", nil},
		{"#!::r=k1", "k1", nil},
		{"#!::r=k1,m=request", "", errPlayback},
		{"#!::r=k1,m=bidirectional", "", errStreamID},
		{"#!::m=publish", "", errStreamID},
		{"#!::garbage", "", errStreamID},
		{"#!{\"r\":\"k1\"}", "", errStreamID},
		{"", "", errStreamID},
		{"k\x001", "", errStreamID},
		{strings.Repeat("k", 600), "", errStreamID},
	}
	for _, c := range cases {
		key, err := parseStreamID(c.id)
		if key != c.key || !errors.Is(err, c.err) || (c.err == nil) != (err == nil) {
			t.Errorf("parseStreamID(%q) = %q, %v; want %q, %v", c.id, key, err, c.key, c.err)
		}
	}
}

// FuzzParseStreamID: any stream id gives a key or an error, never a panic.
func FuzzParseStreamID(f *testing.F) {
	for _, s := range []string{"k1", "#!::r=k1,m=publish", "#!::r=,m=", "#!::=,=,", "#!:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		key, err := parseStreamID(id)
		if err == nil && (key == "" || len(key) > maxStreamID) {
			t.Fatalf("parseStreamID(%q) = %q", id, key)
		}
	})
}

// dialSRT connects a Go SRT caller.
func dialSRT(addr, streamID, pass string) (gosrt.Conn, error) {
	cfg := gosrt.DefaultConfig()
	cfg.StreamId = streamID
	cfg.Passphrase = pass
	cfg.ConnectionTimeout = 20 * time.Second
	return gosrt.Dial("srt", addr, cfg)
}

// dialRetry connects until it succeeds: gosrt's caller sends its first
// handshake packet once, and a flooded socket may drop it.
func dialRetry(t *testing.T, addr, streamID string) gosrt.Conn {
	t.Helper()
	var c gosrt.Conn
	poll.UntilTrue(t, "a connection", livetest.WaitLong, func() bool {
		cfg := gosrt.DefaultConfig()
		cfg.StreamId = streamID
		var err error
		c, err = gosrt.Dial("srt", addr, cfg)
		return err == nil
	})
	return c
}

// pushTS writes a TS stream in SRT-sized packets, one a millisecond
// (faster than real time for these small streams), and starts over at its
// end until stop is closed or the connection fails, so that the publisher
// stays live however slowly the test proceeds.
func pushTS(c io.Writer, ts []byte, stop <-chan struct{}) {
	const packet = 7 * 188
	for {
		for rest := ts; len(rest) >= packet; rest = rest[packet:] {
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
			if _, err := c.Write(rest[:packet]); err != nil {
				return
			}
		}
		if len(ts) < packet {
			<-stop
			return
		}
	}
}
