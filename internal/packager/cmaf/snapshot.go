package cmaf

import "time"

// TrackKind says whether a rendition carries video or audio.
type TrackKind string

// Track kinds.
const (
	Video TrackKind = "video"
	Audio TrackKind = "audio"
)

// Snapshot is a consistent view of a channel's timeline, trimmed to one
// endpoint's window, from which the manifest renderers work. It holds no
// media bytes; renderers are pure functions of it.
type Snapshot struct {
	// AvailabilityStart is the wall-clock instant of media time zero.
	AvailabilityStart time.Time
	// SegmentDuration is the configured (target) segment length.
	SegmentDuration time.Duration
	// PartDuration is the configured part length; 0 when the timeline cuts
	// no parts.
	PartDuration time.Duration
	// Window is the endpoint's window (time-shift buffer depth).
	Window time.Duration
	// Ended is true once the channel has stopped: no segment will follow.
	Ended bool
	// Updated is when the timeline last changed (a segment, a run, the
	// end): the DASH publishTime, stable while nothing changes.
	Updated time.Time
	// Version is the timeline's Version when the snapshot was taken.
	Version uint64
	// Runs lists the encoder runs that have segments in the window, oldest
	// first. A new run starts after every encoder (re)start and is a
	// discontinuity.
	Runs []Run
	// Renditions are the video rungs (in ladder order) and then the audio.
	Renditions []Rendition
}

// Run is one uninterrupted encoder run.
type Run struct {
	// ID names the run's init segments (init-<ID>.mp4); unique per channel.
	ID uint64
	// Start is the media time (since AvailabilityStart) at which the run's
	// first segment starts. It does not change while the run is in the window.
	// For a run on the grid it is its first segment's boundary.
	Start time.Duration
	// Discontinuity is the HLS discontinuity sequence number of the run.
	Discontinuity uint64
	// Silent is true when the run's audio is generated silence (its source
	// had none): manifests leave the audio out of the run.
	Silent bool
	// Grid says the run is on the segment grid (see cmaf.Feed.OnGrid):
	// its segment FirstNumber+i starts at Start + i × SegmentDuration
	// (its first may start later in that segment). Aligned says it is
	// also aligned with the channel's other runs on the grid (Alignment).
	Grid        bool
	FirstNumber uint64
	Aligned     bool
}

// Silent reports whether the newest run in the snapshot has silent audio.
func (s *Snapshot) Silent() bool { return len(s.Runs) > 0 && s.Runs[len(s.Runs)-1].Silent }

// runSilent reports whether run id of the snapshot has silent audio.
func (s *Snapshot) runSilent(id uint64) bool {
	for _, r := range s.Runs {
		if r.ID == id {
			return r.Silent
		}
	}
	return false
}

// Rendition is one track of the ladder with its segments in the window.
type Rendition struct {
	ID        string // path element and DASH Representation id: "360p", "audio"
	Kind      TrackKind
	Codec     string // RFC 6381 codec string: "avc1.64001f", "mp4a.40.2"
	Width     int
	Height    int
	FrameRate float64
	// SampleRate and Channels describe audio renditions.
	SampleRate int
	Channels   int
	// Bandwidth is the peak and AverageBandwidth the mean bit rate over the
	// segments in the window (the configured rates before any segment exists).
	Bandwidth        int64
	AverageBandwidth int64
	Timescale        uint32
	Segments         []SegmentInfo
	// Edge lists, when the timeline cuts parts, the rendition's segments
	// after Segments: complete in this rendition but not yet in every
	// other, and last the segment being written (Partial). Numbers follow
	// on from Segments. Only low-latency renderers use it.
	Edge []SegmentInfo
}

// SegmentInfo describes one complete segment. Number, Run and the start in
// seconds are identical across the renditions of a snapshot.
type SegmentInfo struct {
	// Number is the media sequence number; it names the segment
	// (<Number>.m4s) and only grows, even across server restarts.
	Number uint64
	// Run is the ID of the encoder run that produced the segment.
	Run uint64
	// Discontinuity is the discontinuity sequence number of the segment.
	Discontinuity uint64
	// Start is the decode time of the first sample in Timescale units,
	// counted from AvailabilityStart; Duration is in the same units.
	Start    uint64
	Duration uint64
	Size     int
	// Parts are the segment's parts (when the timeline cuts parts); a
	// Partial segment lists those that have ended.
	Parts []PartInfo
	// Partial is true for the segment being written: Duration and Size are
	// what has been written so far.
	Partial bool
	// Dependent is true when the segment does not start with a key frame,
	// so a player cannot start decoding there.
	Dependent bool
}

// StartTime returns the segment's start as a duration since AvailabilityStart.
func (s SegmentInfo) StartTime(timescale uint32) time.Duration {
	return ticksToDuration(s.Start, timescale)
}

// DurationTime returns the segment's length.
func (s SegmentInfo) DurationTime(timescale uint32) time.Duration {
	return ticksToDuration(s.Duration, timescale)
}

func ticksToDuration(ticks uint64, timescale uint32) time.Duration {
	sec := min(ticks/uint64(timescale), maxSeconds)
	rem := ticks % uint64(timescale)
	return time.Duration(sec)*time.Second + time.Duration(rem*uint64(time.Second)/uint64(timescale)) //nolint:gosec // both terms are bounded above
}

// maxSeconds keeps tick conversions inside time.Duration (292 years).
const maxSeconds = uint64(1<<63-1) / uint64(time.Second)
