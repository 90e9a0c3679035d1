package rtmp

import (
	"bytes"
	"errors"
	"io"
	"os/exec"
	"testing"
	"time"

	"github.com/bluenviron/gortmplib"
	"github.com/bluenviron/gortmplib/pkg/amf0"
	"github.com/bluenviron/gortmplib/pkg/bytecounter"
	"github.com/bluenviron/gortmplib/pkg/message"

	"github.com/sluice-video/sluice/internal/input/live"
)

// checkingSink verifies what the demuxer declares and writes.
type checkingSink struct {
	t      testing.TB
	tracks []*live.Track
	frames int
}

func (s *checkingSink) SetTracks(tracks []*live.Track) {
	if len(tracks) == 0 || tracks[0].Kind != live.Video || tracks[0].Width <= 0 || tracks[0].Height <= 0 || tracks[0].Width > maxPictureSide || tracks[0].Height > maxPictureSide {
		s.t.Fatalf("tracks without a decodable video first: %+v", tracks)
	}
	s.tracks = tracks
}

func (s *checkingSink) Write(f live.Frame) {
	if s.tracks == nil {
		s.t.Fatal("a frame before the tracks")
	}
	if f.Kind == live.Video && len(f.NALUs) == 0 || f.Kind == live.Audio && len(f.Data) == 0 {
		s.t.Fatalf("an empty frame %+v", f)
	}
	s.frames++
}

// messageBytes returns what a publisher sends after the handshake: the
// messages of an RTMP writer for a recorded stream.
func messageBytes(tb testing.TB, rec recorded, frames int) []byte {
	var buf bytes.Buffer
	w := message.NewWriter(&buf, bytecounter.NewWriter(&buf), false)
	conn := &writeOnlyConn{w: w}
	video, audio := rtmpTracks(tb, rec.tracks)
	tracks := []*gortmplib.Track{video}
	if audio != nil {
		tracks = append(tracks, audio)
	}
	gw := &gortmplib.Writer{Conn: conn, Tracks: tracks}
	if err := gw.Initialize(); err != nil {
		tb.Fatal(err)
	}
	for i, f := range rec.frames {
		if i >= frames {
			break
		}
		var err error
		switch {
		case f.Kind == live.Video && rec.tracks[0].Codec == live.H265:
			err = gw.WriteH265(video, f.PTS, f.DTS, f.NALUs)
		case f.Kind == live.Video:
			err = gw.WriteH264(video, f.PTS, f.DTS, f.NALUs)
		case rec.tracks[1].Codec == live.Opus:
			err = gw.WriteOpus(audio, f.PTS, f.Data)
		default:
			err = gw.WriteMPEG4Audio(audio, f.PTS, f.Data)
		}
		if err != nil {
			tb.Fatal(err)
		}
	}
	return buf.Bytes()
}

type writeOnlyConn struct{ w *message.Writer }

func (c *writeOnlyConn) BytesReceived() uint64           { return 0 }
func (c *writeOnlyConn) BytesSent() uint64               { return 0 }
func (c *writeOnlyConn) Read() (message.Message, error)  { return nil, io.EOF }
func (c *writeOnlyConn) Write(msg message.Message) error { return c.w.Write(msg) }

func newMessageReader(data []byte) *message.Reader {
	return message.NewReader(bytes.NewReader(data), bytecounter.NewReader(bytes.NewReader(nil)), func(uint32) error { return nil })
}

func TestDemuxRecorded(t *testing.T) {
	for _, c := range []struct{ vcodec, acodec string }{{"libx264", "aac"}, {"libx265", "libopus"}} {
		rec := record(t, c.vcodec, c.acodec, 320, 180, 2)
		data := messageBytes(t, rec, len(rec.frames))
		sink := &checkingSink{t: t}
		d := newDemuxer(sink, func(w string) { t.Log(w) })
		rd := newMessageReader(data)
		for {
			msg, err := rd.Read()
			if err != nil {
				if !errors.Is(err, io.EOF) {
					t.Fatal(err)
				}
				break
			}
			if err := d.handle(msg); err != nil {
				t.Fatal(err)
			}
		}
		if len(sink.tracks) != 2 || sink.frames < len(rec.frames)-5 {
			t.Errorf("%s: tracks %+v, %d of %d frames", c.vcodec, sink.tracks, sink.frames, len(rec.frames))
		}
	}
}

// TestDemuxVideoOnly: without audio, and without metadata saying so, the
// tracks are declared after a second of video and no frame is lost.
func TestDemuxVideoOnly(t *testing.T) {
	rec := record(t, "libx264", "aac", 320, 180, 3)
	rec.tracks = rec.tracks[:1]
	var video []live.Frame
	for _, f := range rec.frames {
		if f.Kind == live.Video {
			video = append(video, f)
		}
	}
	rec.frames = video
	sink := &checkingSink{t: t}
	d := newDemuxer(sink, nil)
	rd := newMessageReader(messageBytes(t, rec, len(rec.frames)))
	for {
		msg, err := rd.Read()
		if err != nil {
			break
		}
		if _, ok := msg.(*message.DataAMF0); ok {
			continue
		}
		if err := d.handle(msg); err != nil {
			t.Fatal(err)
		}
	}
	if len(sink.tracks) != 1 || sink.frames != len(video) {
		t.Errorf("tracks %+v, %d of %d frames", sink.tracks, sink.frames, len(video))
	}
}

func TestDemuxerWaitsForVideo(t *testing.T) {
	sink := &checkingSink{t: t}
	d := newDemuxer(sink, nil)
	var err error
	for i := 0; err == nil && i < 1000; i++ {
		err = d.handle(&message.Audio{Codec: message.CodecMPEG1Audio, DTS: time.Duration(i) * 26 * time.Millisecond, AU: []byte{0xff, 0xfb, 0x90, 0x64, 0, 0, 0}})
	}
	if !errors.Is(err, live.ErrNoVideo) {
		t.Errorf("audio only: %v", err)
	}
}

func TestSigned24AndWrap(t *testing.T) {
	if got := signed24(0xffffff * time.Millisecond); got != -time.Millisecond {
		t.Errorf("signed24(-1) = %v", got)
	}
	var c wrapClock
	c.unwrap((1<<32 - 10) * time.Millisecond)
	if got := c.unwrap(5 * time.Millisecond); got != (1<<32+5)*time.Millisecond {
		t.Errorf("after the 32-bit wrap: %v", got)
	}
}

func TestStreamKey(t *testing.T) {
	cases := []struct {
		tcURL, app, name, want string
	}{
		{"rtmp://h:1935/live", "live", "k1", "k1"},
		{"rtmp://h:1935/live", "live", "k1?token=x", "k1"},
		{"rtmp://h/live/k1", "live/k1", "", "k1"},
		{"rtmp://h/app/sub/k1", "app/sub/k1", "", "k1"},
		{"rtmp://h/live", "live", "", ""},
		{"", "", "", ""},
		{"rtmp://h/live", "live", "a/b/k9", "k9"},
	}
	for _, c := range cases {
		got, err := streamKey(c.tcURL, c.app, c.name)
		if got != c.want || (c.want == "") != (err != nil) {
			t.Errorf("streamKey(%q, %q, %q) = %q, %v; want %q", c.tcURL, c.app, c.name, got, err, c.want)
		}
	}
}

// FuzzDemux feeds arbitrary RTMP message bytes (after the handshake) to
// the message reader and the demuxer: errors, never a panic, and nothing
// reaches the session before decodable tracks.
func FuzzDemux(f *testing.F) {
	if _, err := exec.LookPath("ffmpeg"); err == nil {
		for _, c := range []struct{ vcodec, acodec string }{{"libx264", "aac"}, {"libx265", "libopus"}} {
			rec := record(f, c.vcodec, c.acodec, 64, 64, 1)
			seed := messageBytes(f, rec, 12)
			f.Add(seed)
			f.Add(seed[:len(seed)/3])
		}
	}
	f.Add([]byte{0x02, 0, 0, 0, 0, 0, 4, 1, 0, 0, 0, 0, 0, 0, 0x10, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		rd := newMessageReader(data)
		d := newDemuxer(&checkingSink{t: t}, nil)
		for range 10000 {
			msg, err := rd.Read()
			if err != nil {
				return
			}
			if d.handle(msg) != nil {
				return
			}
		}
	})
}

// FuzzNegotiate runs the command exchange on arbitrary client messages.
func FuzzNegotiate(f *testing.F) {
	var buf bytes.Buffer
	w := message.NewWriter(&buf, bytecounter.NewWriter(&buf), false)
	for _, m := range []message.Message{
		&message.CommandAMF0{ChunkStreamID: 3, Name: "connect", CommandID: 1, Arguments: []any{amf0.Object{{Key: "app", Value: "live"}, {Key: "tcUrl", Value: "rtmp://h/live"}}}},
		&message.CommandAMF0{ChunkStreamID: 3, Name: "createStream", CommandID: 2, Arguments: []any{nil}},
		&message.CommandAMF0{ChunkStreamID: 4, Name: "publish", CommandID: 3, Arguments: []any{nil, "k1", "live"}},
	} {
		if err := w.Write(m); err != nil {
			f.Fatal(err)
		}
	}
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		rd := newMessageReader(data)
		var out bytes.Buffer
		c := &fuzzConn{rd: rd, w: message.NewWriter(&out, bytecounter.NewWriter(&out), false)}
		req, err := negotiate(c)
		if err != nil {
			return
		}
		if key, err := streamKey(req.TCURL, req.App, req.Name); err == nil && (key == "" || len(key) > maxKeyLength) {
			t.Fatalf("bad key %q", key)
		}
		_ = refuse(c, req, "NetStream.Publish.Rejected", "no")
	})
}

type fuzzConn struct {
	rd *message.Reader
	w  *message.Writer
}

func (c *fuzzConn) Read() (message.Message, error)  { return c.rd.Read() }
func (c *fuzzConn) Write(msg message.Message) error { return c.w.Write(msg) }
