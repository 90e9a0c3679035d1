package redundancy

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os/exec"
	"reflect"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/packager/cmaf"
)

// seedFrames are one frame of every kind, as a feed sends them.
func seedFrames(t testing.TB) [][]byte {
	t.Helper()
	msgs := []message{
		{kind: kindHello, hello: &hello{Renditions: []string{"360p", "audio"}, SegmentDuration: time.Second, PartDuration: 200 * time.Millisecond, AvailabilityStart: epoch}},
		{kind: kindRun, run: 7, runStart: 1500 * time.Millisecond, silent: true, disc: 3},
		{kind: kindInit, run: 7, rendition: 1, data: []byte("\x00\x00\x00\x08moov")},
		{kind: kindPart, run: 7, number: 12, rendition: 0, start: 90000, part: 1, data: []byte("part"), duration: 18000, independent: true},
		{kind: kindClose, run: 7, number: 12, rendition: 0, start: 90000, duration: 90000},
		{kind: kindSegment, run: 7, number: 12, segs: []*cmaf.Segment{
			{Start: 90000, Duration: 90000, Data: []byte("segment"), Parts: []cmaf.Part{{Offset: 0, Size: 3, Duration: 45000, Independent: true}, {Offset: 3, Size: 4, Duration: 45000}}},
			{Start: 48000, Duration: 48000, Data: []byte("audio"), Parts: []cmaf.Part{{Offset: 0, Size: 5, Duration: 48000, Independent: true}}},
		}, fromParts: []bool{false, true}},
		{kind: kindLive, live: true},
		{kind: kindEnded},
		{kind: kindPing},
	}
	var out [][]byte
	for _, m := range msgs {
		var b bytes.Buffer
		w := bufio.NewWriter(&b)
		if err := writeFrame(w, m); err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		out = append(out, b.Bytes())
	}
	return out
}

// FuzzReadFrame reads arbitrary bytes as a feed: nothing may panic or
// allocate beyond what the bytes announce and carry, and every frame read
// writes back to one that reads the same.
func FuzzReadFrame(f *testing.F) {
	seeds := seedFrames(f)
	for _, s := range seeds {
		f.Add(s)
	}
	f.Add(bytes.Join(seeds, nil))
	f.Add([]byte{'S', 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bufio.NewReader(bytes.NewReader(data))
		for {
			m, err := readFrame(r)
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, ErrFeed) {
					t.Fatalf("an error that is neither the end nor ErrFeed: %v", err)
				}
				return
			}
			var b bytes.Buffer
			w := bufio.NewWriter(&b)
			if err := writeFrame(w, m); err != nil {
				t.Fatalf("a frame read does not write back: %v", err)
			}
			_ = w.Flush()
			again, err := readFrame(bufio.NewReader(&b))
			if err != nil {
				t.Fatalf("a frame written back does not read: %v", err)
			}
			if !reflect.DeepEqual(again, m) {
				t.Fatalf("a frame read back differs:\n%+v\n%+v", again, m)
			}
		}
	})
}

// FuzzFeedMerges feeds arbitrary frames to a pipeline of a merge after a
// valid beginning: whatever they say, the merge must not panic, and what
// it merges must render.
func FuzzFeedMerges(f *testing.F) {
	seeds := seedFrames(f)
	f.Add(bytes.Join(seeds[1:], nil))
	f.Add(seeds[5])
	if _, err := exec.LookPath("ffmpeg"); err == nil {
		f.Add(realFeed(f))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := New(Config{Channel: "news", Timeline: timelineConfig(epoch)})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		m.mu.Lock()
		_, gen := m.attachLocked(0, true, "http://peer.invalid")
		m.src[0].up = true
		m.mu.Unlock()
		r := bufio.NewReader(bytes.NewReader(data))
		for {
			msg, err := readFrame(r)
			if err != nil {
				break
			}
			if err := m.apply(0, gen, msg); err != nil {
				break
			}
		}
		snap := m.Timeline().Snapshot(time.Hour)
		for _, r := range snap.Renditions {
			for _, s := range r.Segments {
				if _, ok := m.Timeline().Segment(r.ID, s.Number); !ok {
					t.Fatalf("segment %d of %s is listed and missing", s.Number, r.ID)
				}
			}
		}
	})
}

// realFeed is the feed of a pipeline fed real encoder output: its runs,
// inits, segments and the parts of the segment in progress.
func realFeed(f *testing.F) []byte {
	enc := twoEncodings(f)
	p := newPipeline(f, enc[0], epoch)
	p.until(3300 * time.Millisecond)
	p.untilSegments(3)
	var b bytes.Buffer
	w := bufio.NewWriter(&b)
	if err := newTap(p.tl, nil, 0).step(func(m message) error { return writeFrame(w, m) }); err != nil {
		f.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		f.Fatal(err)
	}
	return b.Bytes()
}
