package redundancy

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Eyevinn/mp4ff/mp4"

	"github.com/sluice-video/sluice/internal/packager/cmaf"
	"github.com/sluice-video/sluice/internal/testutil/media"
	"github.com/sluice-video/sluice/internal/testutil/poll"
)

// The tests feed pipeline timelines with real encoder output, fragment by
// fragment, so that they decide what each pipeline has when: two ffmpeg
// runs of the same lavfi source stand for the encoders of two pipelines.

// encode makes a video and an audio rendition as the encoder does for a
// low-latency channel: 1 s key-frame grid, 200 ms fragments.
func encode(t testing.TB, seconds string, extra ...string) map[string]string {
	t.Helper()
	dir := t.TempDir()
	out := map[string]string{"360p": filepath.Join(dir, "360p.mp4"), "audio": filepath.Join(dir, "audio.mp4")}
	args := []string{"-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
		"-t", seconds, "-map", "0:v",
		"-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-b:v", "200k", "-threads", "1"}
	args = append(args, extra...)
	media.FFmpeg(t, append(args,
		"-g", "25", "-keyint_min", "25", "-sc_threshold", "0", "-force_key_frames", "expr:gte(t,n_forced*1)",
		"-video_track_timescale", "90000",
		"-f", "mp4", "-movflags", "+frag_keyframe+empty_moov+default_base_moof+negative_cts_offsets", "-frag_duration", "200000", out["360p"],
		"-map", "1:a", "-t", seconds, "-c:a", "aac", "-b:a", "64k", "-ar", "48000", "-ac", "2",
		"-f", "mp4", "-movflags", "+empty_moov+default_base_moof", "-frag_duration", "200000", out["audio"])...)
	return out
}

// encodeWith is encode with more options for the video.
func encodeWith(t *testing.T, extra ...string) map[string]string {
	t.Helper()
	media.Tool(t, "ffmpeg")
	return encode(t, "8", extra...)
}

var (
	encodeOnce sync.Once
	encoded    [2]map[string]string
	encodeDir  string
)

// twoEncodings returns two independent encodings of the same source,
// shared by the tests of the package.
func twoEncodings(t testing.TB) [2]map[string]string {
	t.Helper()
	media.Tool(t, "ffmpeg")
	encodeOnce.Do(func() {
		dir, err := os.MkdirTemp("", "sluice-redundancy-")
		if err != nil {
			t.Fatal(err)
		}
		encodeDir = dir
		for k := range encoded {
			encoded[k] = encodeInto(t, filepath.Join(dir, string(rune('a'+k))), "8")
		}
	})
	if encoded[0] == nil || encoded[1] == nil {
		t.Fatal("encoding the test media failed")
	}
	return encoded
}

// encodeInto is encode into a lasting folder.
func encodeInto(t testing.TB, dir, seconds string) map[string]string {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	files := encode(t, seconds)
	out := map[string]string{}
	for id, p := range files {
		data, err := os.ReadFile(p) //nolint:gosec // the test's own files
		if err != nil {
			t.Fatal(err)
		}
		out[id] = filepath.Join(dir, id+".mp4")
		if err := os.WriteFile(out[id], data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func TestMain(m *testing.M) {
	code := m.Run()
	if encodeDir != "" {
		_ = os.RemoveAll(encodeDir)
	}
	os.Exit(code)
}

// renditions are the test channel's.
var renditions = []cmaf.RenditionConfig{
	{ID: "360p", Kind: cmaf.Video, Bitrate: 200000, MaxBitrate: 240000, FrameRate: 25},
	{ID: "audio", Kind: cmaf.Audio, Bitrate: 64000, MaxBitrate: 64000},
}

// epoch is the test channel's clock: every timeline's "now" is fixed, so
// that two pipelines fed the same media place it at the same media time.
var epoch = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

func timelineConfig(now time.Time) cmaf.Config {
	return cmaf.Config{
		SegmentDuration: time.Second, PartDuration: 200 * time.Millisecond, Window: 30 * time.Second,
		AvailabilityStart: epoch.Add(-10 * time.Second), Renditions: renditions,
		Now: func() time.Time { return now },
	}
}

// fragment is one moof+mdat pair of an encoder's output.
type fragment struct {
	start time.Duration
	data  []byte
}

// stream is one rendition's encoder output, fed on demand.
type stream struct {
	init  []byte
	frags []fragment
	w     *io.PipeWriter
	next  int
	sent  bool
}

// pipeline is a pipeline's timeline fed by one encoding, as far as the
// test says.
type pipeline struct {
	t       testing.TB
	tl      *cmaf.Timeline
	feed    *cmaf.Feed
	streams map[string]*stream
	live    atomic.Bool
	placed  bool
	wg      sync.WaitGroup
	once    sync.Once
}

// newPipeline makes a pipeline whose timeline anchors its run at now.
func newPipeline(t testing.TB, files map[string]string, now time.Time) *pipeline {
	t.Helper()
	return startPipeline(t, files, now, false)
}

// newGridPipeline makes a pipeline whose run is on the segment grid, as an
// encoder that stamps media time since the availability start makes it:
// the encodings start at media time zero.
func newGridPipeline(t testing.TB, files map[string]string, now time.Time) *pipeline {
	t.Helper()
	return startPipeline(t, files, now, true)
}

func startPipeline(t testing.TB, files map[string]string, now time.Time, grid bool) *pipeline {
	t.Helper()
	tl, err := cmaf.NewTimeline(timelineConfig(now))
	if err != nil {
		t.Fatal(err)
	}
	p := &pipeline{t: t, tl: tl, feed: tl.StartRun(), streams: map[string]*stream{}}
	if grid {
		p.feed.OnGrid()
	}
	p.live.Store(true)
	for id, path := range files {
		data, err := os.ReadFile(path) //nolint:gosec // the test's own files
		if err != nil {
			t.Fatal(err)
		}
		init, frags := split(t, data)
		pr, pw := io.Pipe()
		p.streams[id] = &stream{init: init, frags: frags, w: pw}
		p.wg.Go(func() {
			if err := p.feed.Ingest(id, pr); err != nil {
				t.Errorf("ingest %s: %v", id, err)
			}
			_ = pr.Close()
		})
	}
	t.Cleanup(p.stop)
	return p
}

// inputLive is the pipeline's input state, for the merge.
func (p *pipeline) inputLive() bool { return p.live.Load() }

// until feeds every rendition's fragments that start before d, the video
// first: the run is placed on the wall clock by the video's first
// fragment, so that two pipelines fed alike place their media alike.
func (p *pipeline) until(d time.Duration) {
	p.t.Helper()
	ids := slices.Sorted(maps.Keys(p.streams))
	for _, id := range ids {
		s := p.streams[id]
		if !s.sent {
			if _, err := s.w.Write(s.init); err != nil {
				p.t.Fatal(err)
			}
			s.sent = true
		}
		for s.next < len(s.frags) && s.frags[s.next].start < d {
			if _, err := s.w.Write(s.frags[s.next].data); err != nil {
				p.t.Fatal(err)
			}
			s.next++
			if !p.placed {
				poll.UntilTrue(p.t, "the run placed on the wall clock", 30*time.Second, func() bool {
					_, ok := p.feed.WallClock(0)
					return ok
				})
				p.placed = true
			}
		}
	}
}

// skip leaves out every rendition's fragments that start before d: an
// encoder that started later.
func (p *pipeline) skip(d time.Duration) {
	for _, s := range p.streams {
		for s.next < len(s.frags) && s.frags[s.next].start < d {
			s.next++
		}
	}
}

// untilSegments waits until the pipeline's timeline has n segments.
func (p *pipeline) untilSegments(n int64) {
	p.t.Helper()
	poll.UntilTrue(p.t, fmt.Sprintf("%d segments of the pipeline", n), 30*time.Second, func() bool { return p.tl.Produced() >= n })
}

// stop ends every rendition's stream, as an encoder that dies does.
func (p *pipeline) stop() {
	p.once.Do(func() {
		for _, s := range p.streams {
			_ = s.w.Close()
		}
		p.wg.Wait()
	})
}

// split cuts an fMP4 file into its init segment and its fragments, each
// with its decode start.
func split(t testing.TB, data []byte) ([]byte, []fragment) {
	t.Helper()
	var init []byte
	var frags []fragment
	var timescale uint32
	off := 0
	for off+8 <= len(data) {
		size := int(binary.BigEndian.Uint32(data[off:]))
		typ := string(data[off+4 : off+8])
		if size < 8 || off+size > len(data) {
			t.Fatalf("box %q at %d has size %d", typ, off, size)
		}
		box := data[off : off+size]
		switch typ {
		case "moov":
			b, err := mp4.DecodeBox(0, bytes.NewReader(box))
			if err != nil {
				t.Fatal(err)
			}
			timescale = b.(*mp4.MoovBox).Trak.Mdia.Mdhd.Timescale
			init = data[:off+size]
		case "moof":
			b, err := mp4.DecodeBox(0, bytes.NewReader(box))
			if err != nil {
				t.Fatal(err)
			}
			dt := b.(*mp4.MoofBox).Traf.Tfdt.BaseMediaDecodeTime()
			frags = append(frags, fragment{start: time.Duration(float64(dt) / float64(timescale) * float64(time.Second)), data: box})
		case "mdat":
			if n := len(frags); n > 0 {
				f := &frags[n-1]
				f.data = append(append([]byte(nil), f.data...), box...)
			}
		}
		off += size
	}
	if init == nil || len(frags) == 0 {
		t.Fatal("not a fragmented MP4 file")
	}
	return init, frags
}
