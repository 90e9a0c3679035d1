package redundancy

import (
	"strings"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/packager/cmaf"
)

// boundedSource is a source of one rendition with run 1 announced and its
// timescale read.
func boundedSource(t *testing.T) *source {
	t.Helper()
	s := newSource(0, 1, 1)
	if err := s.apply(message{kind: kindRun, run: 1}, epoch); err != nil {
		t.Fatal(err)
	}
	s.runs[1].timescales[0] = 90000
	return s
}

func edgePart(number uint64, part int, data []byte) message {
	return message{kind: kindPart, run: 1, number: number, start: number * 90000, part: part, data: data, duration: 90000 / 5}
}

// TestSourceRefusesEdgesFarAhead checks that a feed announcing segment
// numbers far ahead of its complete segments neither evicts the live edge
// nor leaves entries no pruning removes.
func TestSourceRefusesEdgesFarAhead(t *testing.T) {
	s := boundedSource(t)
	// Before any complete segment, far numbers are taken, then dropped
	// once a segment completes.
	if err := s.apply(edgePart(1000, 0, []byte{1}), epoch); err != nil {
		t.Fatal(err)
	}
	seg := message{kind: kindSegment, run: 1, number: 10, segs: []*cmaf.Segment{{Start: 10 * 90000, Data: []byte{1}}}}
	if err := s.apply(seg, epoch); err != nil {
		t.Fatal(err)
	}
	if s.edges[1000] != nil {
		t.Error("an edge segment far ahead of the complete ones stayed")
	}
	if err := s.apply(edgePart(11, 0, []byte{1}), epoch); err != nil {
		t.Fatal(err)
	}
	for n := uint64(100); n < 100+2*maxSourceEdges; n++ {
		err := s.apply(edgePart(n, 0, []byte{1}), epoch)
		if err == nil || !strings.Contains(err.Error(), "ahead") {
			t.Fatalf("segment %d, newest complete 10: %v", n, err)
		}
	}
	if s.edges[11] == nil || len(s.edges) != 1 {
		t.Errorf("the live edge is %d numbers, segment 11 among them: %v", len(s.edges), s.edges[11] != nil)
	}
}

// TestSourceBoundsPartsOfASegment checks that the parts of one segment at
// the live edge are bounded, and that a part after the segment closed is
// refused as such.
func TestSourceBoundsPartsOfASegment(t *testing.T) {
	s := boundedSource(t)
	for j := range maxEdgeParts {
		if err := s.apply(edgePart(1, j, []byte{1}), epoch); err != nil {
			t.Fatal(err)
		}
	}
	err := s.apply(edgePart(1, maxEdgeParts, []byte{1}), epoch)
	if err == nil || !strings.Contains(err.Error(), "parts") {
		t.Errorf("part %d of a segment: %v", maxEdgeParts, err)
	}
	if n := s.edges[1].parts(); n != maxEdgeParts {
		t.Errorf("segment 1 kept %d parts", n)
	}

	if err := s.apply(edgePart(2, 0, []byte{1}), epoch); err != nil {
		t.Fatal(err)
	}
	if err := s.apply(message{kind: kindClose, run: 1, number: 2, start: 2 * 90000, duration: 90000}, epoch.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	err = s.apply(edgePart(2, 1, []byte{1}), epoch)
	if err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("a part after its segment closed: %v", err)
	}
}
