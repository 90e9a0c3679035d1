package whep

import (
	"testing"

	"github.com/sluice-video/sluice/internal/output"
)

func TestPacketizerFollowsPresentationTimes(t *testing.T) {
	p := newPacketizer(videoKind, 90000)
	at := func(pts int64) uint32 {
		pkts := p.packets(sample{scale: 90000, Sample: output.Sample{PTS: pts, Data: []byte{0, 0, 0, 1, 0x65, 1, 2, 3}}})
		if len(pkts) == 0 || !pkts[len(pkts)-1].Marker {
			t.Fatalf("no packets, or no marker on the last")
		}
		return pkts[0].Timestamp
	}
	base := at(9000)
	if d := at(12600) - base; d != 3600 {
		t.Errorf("40 ms later: +%d ticks, want 3600", d)
	}
	// A dropped sample leaves its gap in the timestamps.
	if d := at(19800) - base; d != 10800 {
		t.Errorf("after a gap: +%d ticks, want 10800", d)
	}
	// An encoder restart (times back to zero) continues a little after.
	restart := at(0)
	if d := restart - base; d <= 10800 || d > 10800+9000 {
		t.Errorf("after a restart: +%d ticks", d)
	}
	if d := at(3600) - restart; d != 3600 {
		t.Errorf("after a restart, 40 ms later: +%d ticks", d)
	}
}
