package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeArchive writes a DVR archive as the server lays it out: meta.json
// and index.jsonl with the given numbers, two-second segments at 90 kHz.
func writeArchive(t *testing.T, dir string, start time.Time, numbers ...uint64) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	meta := fmt.Sprintf(`{"availabilityStart":%q,"segmentDuration":2000000000,"renditions":[{"ID":"low","Timescale":90000},{"ID":"audio","Timescale":48000}]}`, start.Format(time.RFC3339Nano))
	if err := os.WriteFile(filepath.Join(dir, "meta.json"), []byte(meta), 0o600); err != nil {
		t.Fatal(err)
	}
	var idx strings.Builder
	for _, n := range numbers {
		fmt.Fprintf(&idx, `{"n":%d,"run":1,"disc":0,"p":[{"s":%d,"d":180000,"z":1},{"s":%d,"d":96000,"z":1}]}`+"\n", n, n*180000, n*96000)
	}
	idx.WriteString(`{"n":99,"run":1,"p":[{"s":1`) // a torn last line
	if err := os.WriteFile(filepath.Join(dir, "index.jsonl"), []byte(idx.String()), 0o600); err != nil {
		t.Fatal(err)
	}
}

// Holes in the numbering are found and placed in time; a hole inside a
// fault window is explained, one a segment.gap event came near is
// reported, and the findings name the others.
func TestUnitDVRHoles(t *testing.T) {
	root := t.TempDir()
	start := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	// Holes: 3-4 (at 6 s to 10 s), 21 (at 42 s to 44 s) and 41-42 (at 82 s to 86 s).
	numbers := []uint64{0, 1, 2}
	for n := uint64(5); n <= 43; n++ {
		if n != 21 && n != 41 && n != 42 {
			numbers = append(numbers, n)
		}
	}
	writeArchive(t, filepath.Join(root, "a"), start, numbers...)
	writeArchive(t, filepath.Join(root, "b"), start, 0, 1, 2, 3)
	faults := []faultRecord{{Kind: faultServerKill, Start: start.Add(5 * time.Second)}}
	ws := []window{{from: start.Add(5 * time.Second), to: start.Add(12 * time.Second)}}
	gaps := &gapLog{}
	gaps.note("segment.gap", fmt.Sprintf(`{"at":%q,"type":"segment.gap","detail":{"channel":"a","reason":"x"}}`, start.Add(43*time.Second).Format(time.RFC3339Nano)))
	gaps.note("segment.gap", fmt.Sprintf(`{"at":%q,"detail":{"channel":"b"}}`, start.Add(84*time.Second).Format(time.RFC3339Nano)))
	gaps.note("channel.state_changed", `{"detail":{"channel":"a"}}`)

	res := checkDVR(localArchives(root), []string{"a", "b"}, start.Add(5*time.Second), ws, faults, gaps)
	if res.Error != "" || res.Channels != 2 || res.Segments != len(numbers)+4 || res.GapEvents != 2 {
		t.Fatalf("checkDVR: %+v", res)
	}
	if len(res.Holes) != 3 {
		t.Fatalf("holes %+v, want 3", res.Holes)
	}
	h := res.Holes[0]
	if h.From != 3 || h.Missing != 2 || !h.Start.Equal(start.Add(6*time.Second)) || !h.End.Equal(start.Add(10*time.Second)) ||
		!strings.HasPrefix(h.Fault, faultServerKill) || h.Event {
		t.Errorf("first hole %+v", h)
	}
	if h := res.Holes[1]; h.From != 21 || h.Missing != 1 || h.Fault != "" || !h.Event {
		t.Errorf("second hole %+v", h)
	}
	if h := res.Holes[2]; h.From != 41 || h.Fault != "" || h.Event {
		t.Errorf("third hole %+v (the event near it was of another channel)", h)
	}
	out := (&results{DVR: res}).dvrFindings()
	if len(out) != 3 || !strings.Contains(out[0], "without a segment.gap") || !strings.Contains(out[2], "no segment.gap reported it") {
		t.Errorf("findings %q", out)
	}

	if res := checkDVR(localArchives(root), []string{"missing"}, start, nil, nil, gaps); res.Error == "" {
		t.Error("a channel without an archive went unnoticed")
	}
}
