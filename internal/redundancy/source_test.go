package redundancy

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/packager/cmaf"
)

// A pipeline that lags the other sends a segment's parts, then the
// segment as made of them; meanwhile the merged timeline took that
// segment from the other pipeline and pruned the parts. The late
// segment is not needed any more: it must not end the feed.
func TestSegmentOfPartsPrunedMeanwhileIsNotAnError(t *testing.T) {
	t.Parallel()
	enc := twoEncodings(t)[0]
	inits := make([][]byte, len(renditions))
	frags := make([][]fragment, len(renditions))
	timescales := make([]uint32, len(renditions))
	for i, rd := range renditions {
		data, err := os.ReadFile(enc[rd.ID])
		if err != nil {
			t.Fatal(err)
		}
		inits[i], frags[i] = split(t, data)
		tr, err := cmaf.NewReader(bytes.NewReader(inits[i])).ReadInit()
		if err != nil {
			t.Fatal(err)
		}
		timescales[i] = tr.Timescale
	}
	const number = 5
	feed := func(s *source, pruneFirst bool) error {
		now := time.Now()
		msgs := []message{{kind: kindRun, run: 1}}
		for i := range renditions {
			msgs = append(msgs, message{kind: kindInit, run: 1, rendition: i, data: inits[i]})
		}
		start := uint64(number) * uint64(timescales[0])
		part := frags[0][0].data
		msgs = append(msgs, message{kind: kindPart, run: 1, number: number, rendition: 0, start: start, part: 0, data: part, duration: uint64(timescales[0])})
		for _, m := range msgs {
			if err := s.apply(m, now); err != nil {
				t.Fatalf("%s: %v", m.kind, err)
			}
		}
		if pruneFirst {
			// The merged timeline ends segment 5 (from the other
			// pipeline) at 6 s.
			s.prune(time.Duration(number+1)*time.Second, 10*time.Millisecond)
		}
		seg := message{kind: kindSegment, run: 1, number: number,
			segs: []*cmaf.Segment{
				{Number: number, Run: 1, Start: start, Duration: uint64(timescales[0]), Parts: []cmaf.Part{{Size: len(part), Duration: uint64(timescales[0]), Independent: true}}},
				{Number: number, Run: 1, Start: uint64(number) * uint64(timescales[1]), Duration: uint64(timescales[1]), Data: frags[1][0].data},
			},
			fromParts: []bool{true, false}, sizes: []int{len(part), len(frags[1][0].data)}}
		return s.apply(seg, now)
	}

	s := newSource(1, len(renditions), 1)
	if err := feed(s, true); err != nil {
		t.Fatalf("a segment whose parts were pruned ended the feed: %v", err)
	}
	if s.last != number || len(s.edges) != 0 {
		t.Errorf("after the pruned segment: last %d, %d edges; want %d and none", s.last, len(s.edges), number)
	}
	if from := s.last + 1; from != number+1 {
		t.Errorf("the feed would resume from %d", from)
	}

	// Without the prune, the parts arrived and make the segment.
	s = newSource(1, len(renditions), 1)
	if err := feed(s, false); err != nil {
		t.Fatalf("a segment made of the parts it was sent: %v", err)
	}
	if len(s.segs) != 1 || !bytes.Equal(s.segs[0].segs[0].Data, frags[0][0].data) {
		t.Error("the segment was not joined from its parts")
	}

	// Parts never sent and not pruned are still a broken feed.
	s = newSource(1, len(renditions), 1)
	s.prune(time.Second, 0)
	err := s.apply(message{kind: kindRun, run: 1}, time.Now())
	for i := range renditions {
		if err == nil {
			err = s.apply(message{kind: kindInit, run: 1, rendition: i, data: inits[i]}, time.Now())
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	err = s.apply(message{kind: kindSegment, run: 1, number: number,
		segs: []*cmaf.Segment{
			{Number: number, Run: 1, Start: uint64(number) * uint64(timescales[0]), Duration: uint64(timescales[0]), Parts: []cmaf.Part{{Size: 10, Duration: 1}}},
			{Number: number, Run: 1, Start: uint64(number) * uint64(timescales[1]), Duration: uint64(timescales[1]), Data: frags[1][0].data},
		},
		fromParts: []bool{true, false}, sizes: []int{10, len(frags[1][0].data)}}, time.Now())
	if err == nil || !strings.Contains(err.Error(), "did not carry") {
		t.Errorf("a segment of parts never sent: %v", err)
	}
}
