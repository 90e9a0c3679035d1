package pull

import (
	"context"
	"crypto/tls"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bluenviron/gortmplib"
	rcodecs "github.com/bluenviron/gortmplib/pkg/codecs"

	"github.com/sluice-video/sluice/internal/input/live"
	"github.com/sluice-video/sluice/internal/testutil/poll"
)

// rtmpServer serves the clip to RTMP players in real time, once per
// connection, and records the paths they asked for.
type rtmpServer struct {
	addr  string
	conns atomic.Int32
	mu    sync.Mutex
	paths []string
}

func startRTMPServer(t *testing.T, c *clip, tlsConfig *tls.Config) *rtmpServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if tlsConfig != nil {
		ln = tls.NewListener(ln, tlsConfig)
	}
	s := &rtmpServer{addr: ln.Addr().String()}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() {
		cancel()
		_ = ln.Close()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			s.conns.Add(1)
			wg.Go(func() {
				defer conn.Close()
				stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
				defer stop()
				s.serve(ctx, conn, c)
			})
		}
	})
	return s
}

func (s *rtmpServer) serve(ctx context.Context, conn net.Conn, c *clip) {
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	sc := &gortmplib.ServerConn{RW: conn}
	if sc.Initialize() != nil || sc.Accept() != nil || sc.Publish {
		return
	}
	s.mu.Lock()
	s.paths = append(s.paths, sc.URL.Path)
	s.mu.Unlock()
	_ = conn.SetDeadline(time.Time{})
	video := &gortmplib.Track{Codec: &rcodecs.H264{SPS: c.sps, PPS: c.pps}}
	audio := &gortmplib.Track{Codec: &rcodecs.MPEG4Audio{Config: c.aac}}
	w := &gortmplib.Writer{Conn: sc, Tracks: []*gortmplib.Track{video, audio}}
	if w.Initialize() != nil {
		return
	}
	start := time.Now()
	for _, smp := range c.samples {
		if !pace(ctx, start, smp.dts) {
			return
		}
		var err error
		if smp.video {
			err = w.WriteH264(video, smp.pts, smp.dts, smp.au)
		} else {
			err = w.WriteMPEG4Audio(audio, smp.pts, smp.data)
		}
		if err != nil {
			return
		}
	}
}

func (s *rtmpServer) requested() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.paths...)
}

// TestRTMP: the puller plays a stream from an RTMP server, the stream name
// being the last element of the URL's path; when the server ends the
// stream, it connects again.
func TestRTMP(t *testing.T) {
	c := loadClip(t, tsFile(t, 4))
	srv := startRTMPServer(t, c, nil)
	reg := live.NewRegistry(nil)
	hub := reg.Set(live.InputConfig{Name: "relay", Protocol: "pull"})
	w := watch(t, hub)
	p := startRun(t, reg, "relay", "rtmp://"+srv.addr+"/live/x", testOptions())
	expectMedia(t, w, live.H264, live.AAC, 320, 180)
	if st := hub.Status(); !st.Connected || st.Protocol != "rtmp" || st.Publisher != "rtmp://"+srv.addr+"/live/x" {
		t.Errorf("status %+v", st)
	}
	poll.UntilTrue(t, "the end of the stream", waitLong, func() bool { return len(w.endings()) > 0 })
	if got := w.endings()[0]; !strings.Contains(got, "the server closed the connection") {
		t.Errorf("end reason %q", got)
	}
	logsContain(t, p, "ended: the source ended the stream: the server closed the connection; reconnecting in")
	poll.UntilTrue(t, "a second connection", waitLong, func() bool { return srv.conns.Load() >= 2 })
	if paths := srv.requested(); len(paths) == 0 || paths[0] != "/live/x" {
		t.Errorf("the server was asked for %q", paths)
	}
}

// TestRTMPFromFFmpeg: ffmpeg listening as an RTMP server is a source.
func TestRTMPFromFFmpeg(t *testing.T) {
	addr := freePort(t)
	reg := live.NewRegistry(nil)
	hub := reg.Set(live.InputConfig{Name: "cam", Protocol: "pull"})
	w := watch(t, hub)
	ffmpegBackground(t, "-re", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25",
		"-f", "lavfi", "-i", "sine=sample_rate=48000", "-t", "300",
		"-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-pix_fmt", "yuv420p",
		"-c:a", "aac", "-b:a", "64k", "-f", "flv", "-listen", "1", "rtmp://"+addr+"/live/cam")
	// Until ffmpeg listens, connections are refused: the puller retries.
	startRun(t, reg, "cam", "rtmp://"+addr+"/live/cam", testOptions())
	expectMedia(t, w, live.H264, live.AAC, 320, 180)
}

func TestRTMPURL(t *testing.T) {
	cases := []struct{ in, app, key string }{
		{"rtmp://h/live/x", "/live", "x"},
		{"rtmp://h/a/b/stream", "/a/b", "stream"},
		{"rtmp://h/live/x?token=abc", "/live", "x?token=abc"},
		{"rtmp://h/live#explicit", "/live", "explicit"},
		{"rtmp://h/onlyapp", "/onlyapp", ""},
	}
	for _, c := range cases {
		u, _ := url.Parse(c.in)
		got := rtmpURL(u)
		if got.Path != c.app || got.Fragment != c.key || got.RawQuery != "" {
			t.Errorf("%s: path %q, fragment %q, query %q", c.in, got.Path, got.Fragment, got.RawQuery)
		}
	}
}
