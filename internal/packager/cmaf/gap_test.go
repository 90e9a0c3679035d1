package cmaf

import (
	"bytes"
	"encoding/binary"
	"os"
	"sync"
	"testing"
	"time"
)

// withoutFragments returns a fragmented MP4 stream with the fragments
// (moof and its mdat) numbered from..to-1, counting from 0, left out.
func withoutFragments(t *testing.T, data []byte, from, to int) []byte {
	t.Helper()
	var out []byte
	frag := -1
	for off := 0; off < len(data); {
		if len(data)-off < 8 {
			t.Fatalf("a box header is cut at byte %d", off)
		}
		size := int(binary.BigEndian.Uint32(data[off:]))
		if size < 8 || off+size > len(data) {
			t.Fatalf("box at byte %d has size %d", off, size)
		}
		if string(data[off+4:off+8]) == "moof" {
			frag++
		}
		if frag < from || frag >= to {
			out = append(out, data[off:off+size]...)
		}
		off += size
	}
	if frag < to {
		t.Fatalf("the stream has %d fragments, fewer than %d", frag+1, to)
	}
	return out
}

func TestMissingSegmentIsReportedAsGap(t *testing.T) {
	files := encodeRenditions(t, "9")
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	tl := newTestTimeline(t, now)
	var (
		mu       sync.Mutex
		gaps     []string
		produced = map[string]int{}
	)
	tl.cfg.OnGap = func(reason string) {
		mu.Lock()
		defer mu.Unlock()
		gaps = append(gaps, reason)
	}
	tl.cfg.OnSegment = func(rendition string, _ time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		produced[rendition]++
	}
	// The 180p rung loses its second segment (2–4 s: fragments of 0.5 s
	// numbered 4 to 7), as when an encoder rung stalls.
	data, err := os.ReadFile(files["180p"])
	if err != nil {
		t.Fatal(err)
	}
	lossy := withoutFragments(t, data, 4, 8)
	feed := tl.StartRun()
	for _, id := range []string{"360p", "audio"} {
		whole, err := os.ReadFile(files[id])
		if err != nil {
			t.Fatal(err)
		}
		if err := feed.Ingest(id, bytes.NewReader(whole)); err != nil {
			t.Fatalf("ingest %s: %v", id, err)
		}
	}
	if err := feed.Ingest("180p", bytes.NewReader(lossy)); err != nil {
		t.Fatalf("ingest 180p with a segment missing: %v", err)
	}

	mu.Lock()
	defer mu.Unlock()
	if len(gaps) != 1 || gaps[0] != "a segment was dropped: not every rendition produced it" {
		t.Fatalf("gaps %q, want one dropped segment", gaps)
	}
	// The other three boundaries are whole in every rendition, with
	// consecutive numbers and aligned starts.
	snap := tl.Snapshot(time.Minute)
	for _, r := range snap.Renditions {
		if len(r.Segments) != 3 || produced[r.ID] != 3 {
			t.Fatalf("%s: %d segments listed, %d produced, want 3", r.ID, len(r.Segments), produced[r.ID])
		}
		for i := 1; i < len(r.Segments); i++ {
			if r.Segments[i].Number != r.Segments[i-1].Number+1 {
				t.Errorf("%s: numbers %d then %d", r.ID, r.Segments[i-1].Number, r.Segments[i].Number)
			}
		}
	}
	v0, v1 := snap.Renditions[0].Segments, snap.Renditions[1].Segments
	for i := range v0 {
		if v0[i].Start != v1[i].Start {
			t.Errorf("segment %d starts at %d in 360p and %d in 180p", i, v0[i].Start, v1[i].Start)
		}
	}
}

func TestRenditionFallingBehindIsBounded(t *testing.T) {
	files := encodeRenditions(t, "4")
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	tl := newTestTimeline(t, now)
	var gaps []string
	tl.cfg.OnGap = func(reason string) { gaps = append(gaps, reason) }
	feed := tl.StartRun()
	for id, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := feed.Ingest(id, bytes.NewReader(data)); err != nil {
			t.Fatalf("ingest %s: %v", id, err)
		}
	}
	base := len(tl.Snapshot(time.Minute).Renditions[0].Segments)
	// One rung runs far ahead of the others: what it holds waiting for
	// them stays bounded, and each boundary given up on is a gap.
	ahead := make([]cutSegment, maxPending+5)
	for i := range ahead {
		ahead[i] = cutSegment{index: uint64(100 + i), data: []byte{0}}
	}
	feed.add(0, ahead)
	if len(feed.pending) != maxPending {
		t.Fatalf("%d boundaries pending, want at most %d", len(feed.pending), maxPending)
	}
	if len(gaps) != 5 {
		t.Fatalf("gaps %q, want 5", gaps)
	}
	for _, g := range gaps {
		if g != "a segment was dropped: a rendition fell behind" {
			t.Fatalf("gap reason %q", g)
		}
	}
	if n := len(tl.Snapshot(time.Minute).Renditions[0].Segments); n != base {
		t.Fatalf("%d segments after the gaps, want %d", n, base)
	}
}
