package rtmp

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/bluenviron/gortmplib"
	"github.com/bluenviron/gortmplib/pkg/codecs"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/opus"

	"github.com/sluice-video/sluice/internal/input/live"
	"github.com/sluice-video/sluice/internal/testutil/livetest"
	"github.com/sluice-video/sluice/internal/testutil/media"
)

// startServer serves RTMP on a free loopback port and returns its address.
func startServer(t *testing.T, reg *live.Registry) (*Server, string) {
	t.Helper()
	return startServerWith(t, &Server{Registry: reg, Logger: livetest.Logger(t), HandshakeTimeout: 5 * time.Second, ReadTimeout: 5 * time.Second})
}

// startServerWith serves srv on a free loopback port.
func startServerWith(t *testing.T, srv *Server) (*Server, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		srv.Close(context.Background())
		if err := <-done; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve returned %v", err)
		}
	})
	return srv, ln.Addr().String()
}

// recorded is a short stream demuxed into tracks and frames, to publish
// with the RTMP client.
type recorded struct {
	tracks []*live.Track
	frames []live.Frame
}

// record encodes a test stream with ffmpeg and demuxes it.
func record(t testing.TB, vcodec, acodec string, width, height int, seconds float64) recorded {
	t.Helper()
	p := filepath.Join(t.TempDir(), "in.ts")
	args := []string{"-f", "lavfi", "-i", fmt.Sprintf("testsrc2=size=%dx%d:rate=25", width, height),
		"-f", "lavfi", "-i", "sine=sample_rate=48000", "-t", fmt.Sprint(seconds),
		"-c:v", vcodec, "-g", "25", "-pix_fmt", "yuv420p", "-preset", "ultrafast", "-bf", "0"}
	if vcodec == "libx265" {
		args = append(args, "-x265-params", "log-level=error")
	}
	args = append(args, "-c:a", acodec, "-f", "mpegts", p)
	media.FFmpeg(t, args...)
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	h := live.NewHub("record", nil)
	sub := h.Subscribe(100000)
	s, _ := h.Claim(live.Publisher{Protocol: "file"})
	if err := live.ReadTS(bytes.NewReader(data), s, nil); err != nil {
		t.Fatal(err)
	}
	s.Close("end of file")
	var rec recorded
	for {
		select {
		case e := <-sub.Events():
			switch e.Type {
			case live.EventStarted:
				rec.tracks = e.Tracks
			case live.EventFrame:
				rec.frames = append(rec.frames, e.Frame)
			}
			continue
		default:
		}
		break
	}
	if len(rec.tracks) == 0 || len(rec.frames) == 0 {
		t.Fatal("the recorded stream has no media")
	}
	return rec
}

// client connects an RTMP client from localIP ("" for any).
func client(ctx context.Context, rawURL, localIP string, publish bool) (*gortmplib.Client, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	d := &net.Dialer{Timeout: 10 * time.Second}
	if localIP != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(localIP)}
	}
	c := &gortmplib.Client{URL: u, Publish: publish, DialContext: d.DialContext}
	ictx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := c.Initialize(ictx); err != nil {
		return nil, err
	}
	return c, nil
}

// clientTLS publishes over RTMPS to a server with a self-signed certificate.
func clientTLS(rawURL string) (*gortmplib.Client, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	c := &gortmplib.Client{URL: u, Publish: true, TLSConfig: &tls.Config{InsecureSkipVerify: true}} //nolint:gosec // a test certificate
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := c.Initialize(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

// rtmpTracks maps live tracks to the RTMP writer's.
func rtmpTracks(t testing.TB, tracks []*live.Track) (video, audio *gortmplib.Track) {
	t.Helper()
	for _, tr := range tracks {
		switch tr.Codec {
		case live.H264:
			video = &gortmplib.Track{Codec: &codecs.H264{SPS: tr.ParamSets[0], PPS: tr.ParamSets[1]}}
		case live.H265:
			video = &gortmplib.Track{Codec: &codecs.H265{VPS: tr.ParamSets[0], SPS: tr.ParamSets[1], PPS: tr.ParamSets[2]}}
		case live.AAC:
			var cfg mpeg4audio.AudioSpecificConfig
			if err := cfg.Unmarshal(tr.AACConfig); err != nil {
				t.Fatal(err)
			}
			audio = &gortmplib.Track{Codec: &codecs.MPEG4Audio{Config: &cfg}}
		case live.Opus:
			audio = &gortmplib.Track{Codec: &codecs.Opus{IDHeader: &opus.IDHeader{Version: 1, ChannelCount: uint8(tr.Channels), InputSampleRate: 48000}}}
		}
	}
	return video, audio
}

// sendRecorded publishes rec once on c in about real time, its timestamps
// shifted by offset; it stops early when stop is closed.
func sendRecorded(c *gortmplib.Client, rec recorded, offset time.Duration, t testing.TB, stop <-chan struct{}) error {
	w, err := newRecordedWriter(c, rec, t)
	if err != nil {
		return err
	}
	_, err = w.send(offset, time.Now(), stop)
	return err
}

// loopRecorded publishes rec on c in about real time over and over, its
// timestamps running on, until stop is closed or the connection fails: a
// publisher that stays live however slowly the test proceeds.
func loopRecorded(c *gortmplib.Client, rec recorded, t testing.TB, stop <-chan struct{}) error {
	w, err := newRecordedWriter(c, rec, t)
	if err != nil {
		return err
	}
	lo, hi := rec.frames[0].DTS, rec.frames[0].DTS
	for _, f := range rec.frames {
		lo, hi = min(lo, f.DTS), max(hi, f.DTS)
	}
	span := hi - lo + 40*time.Millisecond // one frame at 25 fps past the last
	start := time.Now()
	for offset := time.Duration(0); ; offset += span {
		stopped, err := w.send(offset, start.Add(offset), stop)
		if stopped || err != nil {
			return err
		}
	}
}

// recordedWriter writes a recorded stream's frames to an RTMP client.
type recordedWriter struct {
	w            *gortmplib.Writer
	video, audio *gortmplib.Track
	rec          recorded
}

// newRecordedWriter announces rec's tracks on c.
func newRecordedWriter(c *gortmplib.Client, rec recorded, t testing.TB) (*recordedWriter, error) {
	video, audio := rtmpTracks(t, rec.tracks)
	tracks := []*gortmplib.Track{video}
	if audio != nil {
		tracks = append(tracks, audio)
	}
	w := &gortmplib.Writer{Conn: c, Tracks: tracks}
	if err := w.Initialize(); err != nil {
		return nil, err
	}
	return &recordedWriter{w: w, video: video, audio: audio, rec: rec}, nil
}

// send writes every frame, timestamps shifted by offset, the first at
// start and the others as far after it as their timestamps say. It
// reports whether stop was closed before the end.
func (rw *recordedWriter) send(offset time.Duration, start time.Time, stop <-chan struct{}) (bool, error) {
	rec, w, video, audio := rw.rec, rw.w, rw.video, rw.audio
	first := rec.frames[0].DTS
	for _, f := range rec.frames {
		at := f.DTS - first
		if wait := at - time.Since(start); wait > 0 {
			select {
			case <-time.After(wait):
			case <-stop:
				return true, nil
			}
		}
		select {
		case <-stop:
			return true, nil
		default:
		}
		var err error
		switch {
		case f.Kind == live.Video && rec.tracks[0].Codec == live.H265:
			err = w.WriteH265(video, f.PTS+offset, f.DTS+offset, f.NALUs)
		case f.Kind == live.Video:
			err = w.WriteH264(video, f.PTS+offset, f.DTS+offset, f.NALUs)
		case audio != nil && rec.tracks[1].Codec == live.Opus:
			err = w.WriteOpus(audio, f.PTS+offset, f.Data)
		case audio != nil:
			err = w.WriteMPEG4Audio(audio, f.PTS+offset, f.Data)
		}
		if err != nil {
			return false, err
		}
	}
	return false, nil
}
