package whep

import (
	"math/rand/v2"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
)

type mediaKind int

const (
	videoKind mediaKind = iota
	audioKind
)

// rtpMTU leaves room for SRTP, TURN and tunnels on a 1500-byte path.
const rtpMTU = 1200

// packetizer turns samples into RTP packets whose timestamps follow the
// samples' presentation times, so a layer switch or a dropped sample
// keeps audio and video in step; an encoder restart (times going back,
// or far ahead) continues the timestamps a little after the last.
type packetizer struct {
	p       rtp.Packetizer
	clock   int64
	started bool
	base    uint32
	basePTS time.Duration
	lastPTS time.Duration
	last    uint32
}

func newPacketizer(kind mediaKind, clock uint32) *packetizer {
	var payloader rtp.Payloader = &codecs.H264Payloader{}
	if kind == audioKind {
		payloader = &codecs.OpusPayloader{}
	}
	return &packetizer{
		p:     rtp.NewPacketizer(rtpMTU, 0, 0, payloader, rtp.NewRandomSequencer(), clock),
		clock: int64(clock),
	}
}

// packets returns a sample's packets, stamped with its time.
func (p *packetizer) packets(s sample) []*rtp.Packet {
	pts := time.Duration(float64(s.PTS) / float64(s.scale) * float64(time.Second))
	switch {
	case !p.started:
		p.base, p.basePTS, p.started = rand.Uint32(), pts, true //nolint:gosec // an RTP timestamp origin, not a secret
	case pts < p.lastPTS || pts > p.lastPTS+3*time.Second:
		p.base, p.basePTS = p.last+uint32(p.clock/30), pts //nolint:gosec // RTP timestamps wrap by design
	}
	ts := p.base + uint32(int64(pts-p.basePTS)*p.clock/int64(time.Second)) //nolint:gosec // RTP timestamps wrap by design
	p.last, p.lastPTS = ts, pts
	pkts := p.p.Packetize(s.Data, 0)
	for _, k := range pkts {
		k.Timestamp = ts
	}
	return pkts
}
