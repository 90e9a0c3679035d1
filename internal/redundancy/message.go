package redundancy

import (
	"time"

	"github.com/sluice-video/sluice/internal/packager/cmaf"
)

// kind says what a message of a pipeline's feed carries.
type kind byte

// The messages of a pipeline's feed, in the order a feed sends them: a
// hello first; a run before anything of it, its init segments before its
// media; the parts of a segment in order, then its close; a complete
// segment once every rendition has it.
const (
	// kindHello opens a feed: the pipeline's renditions and grid.
	kindHello kind = 'H'
	// kindRun announces a run of the pipeline (an encoder start).
	kindRun kind = 'R'
	// kindInit carries a rendition's init segment of a run.
	kindInit kind = 'I'
	// kindPart carries a part of a rendition's segment at the live edge,
	// once it has ended.
	kindPart kind = 'P'
	// kindClose says a rendition's segment at the live edge is complete
	// in that rendition.
	kindClose kind = 'C'
	// kindSegment carries a complete segment: every rendition's.
	kindSegment kind = 'S'
	// kindLive says whether the pipeline's input is live (not on fill).
	kindLive kind = 'L'
	// kindEnded says the pipeline's timeline ended (its encoder stopped).
	kindEnded kind = 'E'
	// kindPing keeps a quiet feed alive.
	kindPing kind = 'K'
)

func (k kind) String() string {
	switch k {
	case kindHello:
		return "hello"
	case kindRun:
		return "run"
	case kindInit:
		return "init"
	case kindPart:
		return "part"
	case kindClose:
		return "close"
	case kindSegment:
		return "segment"
	case kindLive:
		return "live"
	case kindEnded:
		return "ended"
	case kindPing:
		return "ping"
	}
	return "unknown"
}

// hello describes the pipeline a feed comes from.
type hello struct {
	Renditions        []string      `json:"renditions"`
	SegmentDuration   time.Duration `json:"segmentDuration"`
	PartDuration      time.Duration `json:"partDuration"`
	AvailabilityStart time.Time     `json:"availabilityStart"`
}

// message is one item of a pipeline's feed, as the tap of a local
// timeline makes it and the wire carries it.
type message struct {
	kind kind
	// hello is set for kindHello.
	hello *hello
	// run names the run of runs, inits, parts, closes and segments.
	run uint64
	// number is the segment number of parts, closes and segments.
	number uint64
	// rendition is the index of the rendition of inits, parts and closes.
	rendition int
	// runStart, silent and disc describe a run.
	runStart time.Duration
	silent   bool
	disc     uint64
	// start is a part's segment decode time (rendition's timescale), and
	// part its index in the segment.
	start uint64
	part  int
	// data is an init segment's or a part's bytes.
	data []byte
	// duration is a part's (with independent) or a closed segment's.
	duration    uint64
	independent bool
	// segs is a complete segment, by rendition; fromParts[i] says that
	// rendition i's bytes were sent as parts in this feed and are not
	// repeated (segs[i].Data is nil until the receiver joins them).
	segs      []*cmaf.Segment
	fromParts []bool
	// sizes are the renditions' sizes in bytes, as a feed announced them.
	sizes []int
	// live is the pipeline's input state (kindLive).
	live bool
}
