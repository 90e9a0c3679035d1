package cmaf

import (
	"fmt"
	"hash/fnv"
	"log/slog"
	"sync"
	"time"
)

// RenditionConfig declares one rendition a channel's timeline expects.
type RenditionConfig struct {
	ID   string
	Kind TrackKind
	// Bitrate and MaxBitrate are the configured rates, used for manifest
	// bandwidths until segments have been measured.
	Bitrate    int64
	MaxBitrate int64
	FrameRate  float64
	// Passthrough marks a video rendition copied from the input: its key
	// frames are the input's, so its segments are cut at each boundary
	// whether a key frame falls there or not (the grid holds for every
	// rendition), and what its key frames do is reported (OnKeyFrames).
	Passthrough bool
}

// KeyFrames is what the packager saw of a passthrough rendition's key
// frames.
type KeyFrames struct {
	Rendition string
	// Interval is the time between its last two key frames, and Frames
	// the number of frames from one to the next.
	Interval time.Duration
	Frames   int
	// Aligned is false when a segment had to start without a key frame:
	// the input's key frames do not fall on the segment grid.
	Aligned bool
}

// Config configures a Timeline.
type Config struct {
	SegmentDuration time.Duration
	// PartDuration, when positive, cuts every segment into parts of at most
	// this length (LL-HLS partial segments, LL-DASH chunks) and keeps the
	// segment being written available at the live edge. The encoder should
	// emit fragments of this length.
	PartDuration time.Duration
	// Window is how much media the timeline keeps in memory: the longest
	// endpoint window. One more segment is kept for clients that fetched a
	// playlist just before it slid.
	Window time.Duration
	// AvailabilityStart is the wall-clock instant of media time zero; it is
	// kept across server restarts so media times and numbers keep growing.
	AvailabilityStart time.Time
	// MinNumber is a lower bound for the first segment number, as persisted
	// by earlier processes.
	MinNumber uint64
	// FirstDiscontinuity is the discontinuity sequence of the first run;
	// every later run adds one.
	FirstDiscontinuity uint64
	Renditions         []RenditionConfig
	// KeepFinalSegment keeps the shorter segment a stream ends with (a
	// file transcoded on demand); a live run that stops drops it, since
	// the next run starts a new one.
	KeepFinalSegment bool
	Now              func() time.Time
	Logger           *slog.Logger
	// OnSegment hears of every rendition's new segment with its
	// availability latency: the wall clock now minus the segment's end in
	// media time. OnGap hears of segments dropped from the timeline, and
	// of the numbers a run on the grid leaves out after the previous one.
	OnSegment func(rendition string, latency time.Duration)
	OnGap     func(reason string)
	// OnStage hears how long media spent in a stage of the pipeline the
	// timeline sees (StageEncoder, StagePackager, StageOrigin), for the
	// pipeline's stage figures.
	OnStage func(stage string, d time.Duration)
	// OnKeyFrames hears when a passthrough rendition's key frames start or
	// stop falling on the segment grid, or come at another interval.
	OnKeyFrames func(KeyFrames)
}

// Stages the timeline reports through Config.OnStage, each measured on the
// first video rendition.
const (
	// StageEncoder is from a frame being handed to the encoder to the
	// packager reading the fragment that ends with it (runs with a Clock).
	StageEncoder = "encoder"
	// StagePackager is from reading the fragment that ends a part (or,
	// without parts, a segment) to that part or segment being listed:
	// cutting it, and waiting for the other renditions to cut theirs.
	StagePackager = "packager"
	// StageOrigin is from a part being listed to the first response of a
	// blocking playlist reload that lists it (see Listed).
	StageOrigin = "origin"
)

// notice is news for the hooks, told after the lock is released.
type notice struct {
	rendition string
	latency   time.Duration
	gap       string
	stage     string
}

// tell calls the hooks; t.mu must not be held.
func (t *Timeline) tell(news []notice) {
	for _, n := range news {
		switch {
		case n.stage != "":
			if t.cfg.OnStage != nil {
				t.cfg.OnStage(n.stage, n.latency)
			}
		case n.gap != "" && t.cfg.OnGap != nil:
			t.cfg.OnGap(n.gap)
		case n.gap == "" && t.cfg.OnSegment != nil:
			t.cfg.OnSegment(n.rendition, n.latency)
		}
	}
}

// Segment is one rendition's complete media segment.
type Segment struct {
	Number   uint64
	Run      uint64
	Start    uint64 // decode time in the rendition's timescale, from AvailabilityStart
	Duration uint64
	Data     []byte
	ETag     string
	// Dependent is true when the segment does not start with a key frame
	// (a passthrough rendition whose input's key frames are off the grid).
	Dependent bool
	// Parts are the segment's parts, when the timeline cuts parts.
	Parts []Part
	// Aligned is true for a segment of an aligned run (see Alignment) that
	// starts on its boundary of the grid with a key frame in every video
	// rendition: the media between two boundaries, as every aligned run
	// of the channel cuts it.
	Aligned bool
	// Source names where the bytes come from in a timeline fed by
	// several (see Replica): 0 in a timeline fed by its encoder. Bytes of
	// one number with another Source are other media, not more of it.
	Source uint64
}

// Timeline is a channel's packaged media: the runs of its encoder, and the
// segments of every rendition inside the window, numbered identically across
// renditions. It is safe for concurrent use: encoder readers add segments
// while the origin renders manifests and serves segments.
type Timeline struct {
	cfg    Config
	byID   map[string]int
	logger *slog.Logger

	mu     sync.RWMutex
	tracks []*Track // latest init of each rendition
	runs   []*Feed  // runs with segments in memory, and the current run
	rows   []row    // complete segments, oldest first, consecutive numbers
	next   uint64   // next segment number; 0 until the first segment
	first  uint64   // number of the first segment; 0 until it
	// nextDisc is the discontinuity sequence of the next run to complete a
	// segment: runs that never do are not discontinuities anyone sees.
	nextDisc uint64
	lastDisc uint64 // of the latest run with segments; valid when discs > 0
	discs    int
	ended    bool
	produced int64
	updated  time.Time
	changed  chan struct{}
	edge     chan struct{} // closed at every change of the live edge
	// listing follows each rendition's parts for StageOrigin.
	listing []listing
	// version counts the changes a Snapshot shows (segments, runs, inits,
	// the end), so that renderings can be reused until it moves.
	version uint64
	// shift raises the numbers of runs on the grid (see gridNumber);
	// shiftSet says it was fixed.
	shift    uint64
	shiftSet bool
}

// row is one segment number: a segment from every rendition.
type row struct {
	run  *Feed
	segs []*Segment
}

// NewTimeline returns an empty timeline.
func NewTimeline(cfg Config) (*Timeline, error) {
	if cfg.SegmentDuration <= 0 {
		return nil, fmt.Errorf("cmaf: segment duration must be positive")
	}
	if len(cfg.Renditions) == 0 {
		return nil, fmt.Errorf("cmaf: a timeline needs at least one rendition")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Window < 3*cfg.SegmentDuration {
		cfg.Window = 3 * cfg.SegmentDuration
	}
	t := &Timeline{
		cfg:      cfg,
		byID:     make(map[string]int, len(cfg.Renditions)),
		logger:   cfg.Logger,
		tracks:   make([]*Track, len(cfg.Renditions)),
		listing:  make([]listing, len(cfg.Renditions)),
		nextDisc: cfg.FirstDiscontinuity,
		changed:  make(chan struct{}),
		edge:     make(chan struct{}),
	}
	if cfg.PartDuration < 0 || cfg.PartDuration > cfg.SegmentDuration {
		return nil, fmt.Errorf("cmaf: part duration %v must be between 0 and the segment duration %v", cfg.PartDuration, cfg.SegmentDuration)
	}
	for i, r := range cfg.Renditions {
		if _, dup := t.byID[r.ID]; dup {
			return nil, fmt.Errorf("cmaf: rendition %q declared twice", r.ID)
		}
		t.byID[r.ID] = i
	}
	return t, nil
}

// Changed returns a channel that is closed at the next change of the
// timeline (a new segment, a new run, the end).
func (t *Timeline) Changed() <-chan struct{} {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.changed
}

// Version is a number that changes whenever a Snapshot of the timeline
// would: a manifest rendered from a snapshot of version v stays correct for
// as long as Version returns v.
func (t *Timeline) Version() uint64 {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.version
}

// notify wakes every waiter; t.mu must be held for writing.
func (t *Timeline) notify() {
	t.version++
	t.updated = t.cfg.Now()
	close(t.changed)
	t.changed = make(chan struct{})
	t.edgeNotify()
}

// StartRun begins a new encoder run. The first run continues the numbering;
// every later one is a discontinuity.
func (t *Timeline) StartRun() *Feed {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.startRunLocked(0)
}

// startRunLocked begins a run named id, or, when id is 0 or names a run
// the timeline holds, after the clock (and after the newest run); t.mu
// must be held for writing.
func (t *Timeline) startRunLocked(id uint64) *Feed {
	taken := id == 0
	for _, r := range t.runs {
		taken = taken || r.id == id
	}
	if taken {
		id = uint64(t.cfg.Now().UnixMilli())
		if n := len(t.runs); n > 0 && id <= t.runs[n-1].id {
			id = t.runs[n-1].id + 1
		}
	}
	// A run that never completed a segment is of no use to anyone: drop it,
	// so an encoder failing again and again does not pile up runs.
	for n := len(t.runs); n > 0 && t.runs[n-1].segments == 0; n-- {
		t.runs[n-1] = nil
		t.runs = t.runs[:n-1]
	}
	r := &Feed{
		tl:      t,
		id:      id,
		tracks:  make([]*Track, len(t.cfg.Renditions)),
		pending: map[uint64][]*cutSegment{},
		readAt:  make([]time.Time, len(t.cfg.Renditions)),
	}
	t.runs = append(t.runs, r)
	t.ended = false
	t.notify()
	return r
}

// End marks the timeline as finished: manifests say no segment follows.
func (t *Timeline) End() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.ended = true
	t.notify()
}

// Discontinuity returns the discontinuity sequence of the latest run that
// produced segments, for persisting across restarts.
func (t *Timeline) Discontinuity() uint64 {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.discs == 0 {
		return t.cfg.FirstDiscontinuity
	}
	return t.lastDisc
}

// NextNumber returns the number the next segment will get (0 before the first).
func (t *Timeline) NextNumber() uint64 {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.next
}

// FirstNumber returns the number of the timeline's first segment (0
// before it): what came before it, the timeline never had, and its gap
// hook never told of the numbers left out there.
func (t *Timeline) FirstNumber() uint64 {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.first
}

// Produced returns how many complete segments the timeline has made.
func (t *Timeline) Produced() int64 {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.produced
}

// HasSegmentOf reports whether the run has completed at least one segment.
func (t *Timeline) HasSegmentOf(r *Feed) bool {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return r.segments > 0
}

// Segment returns a rendition's segment by number.
func (t *Timeline) Segment(rendition string, number uint64) (*Segment, bool) {
	i, ok := t.byID[rendition]
	if !ok {
		return nil, false
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	seg := t.segmentLocked(i, number)
	return seg, seg != nil
}

// Init returns a rendition's init segment for a run still in memory.
func (t *Timeline) Init(rendition string, runID uint64) ([]byte, bool) {
	i, ok := t.byID[rendition]
	if !ok {
		return nil, false
	}
	t.mu.RLock()
	defer t.mu.RUnlock()
	for _, r := range t.runs {
		if r.id == runID && r.tracks[i] != nil {
			return r.tracks[i].Init, true
		}
	}
	return nil, false
}

// complete is called by a run, with t.mu held, when every rendition has cut
// the segment at boundary index idx.
func (t *Timeline) complete(r *Feed, segs []*cutSegment) []notice {
	aligned := false
	var gap []notice
	if r.grid {
		n := t.gridNumber(segs[0].index)
		if n < t.next {
			// Media the timeline already has numbers for (a run that
			// started before the previous one's last segment ended).
			t.logger.Debug("segment skipped: its number is taken", "run", r.id, "number", n)
			return nil
		}
		if r.segments == 0 && startsLate(t, segs) {
			// A run's media before its first boundary: shorter than a
			// segment, and not what another run cuts there.
			t.logger.Debug("segment skipped: the run started after its boundary", "run", r.id, "number", n)
			return nil
		}
		if t.next > 0 && n > t.next {
			// The grid went on while no run cut segments (an encoder
			// restarting, a process paused): the numbers between are a
			// hole in the archive and gaps in the playlists.
			gap = append(gap, notice{gap: fmt.Sprintf("%d segments are missing (numbers %d to %d): no run cut them", n-t.next, t.next, n-1)})
		}
		t.next = n
		aligned = r.alignment().Aligned && onGrid(t, segs)
		if r.segments == 0 {
			r.gridStart, r.gridFirst = time.Duration(segs[0].index)*t.cfg.SegmentDuration, n //nolint:gosec // an index of the grid, far below the overflow
		}
	}
	if t.next == 0 {
		// The first segment of this process: number it after the wall-clock
		// position of its start, so numbers keep growing across restarts.
		start := t.cfg.AvailabilityStart.Add(r.offset)
		epoch := uint64(max(0, start.UnixMilli())) / uint64(max(1, t.cfg.SegmentDuration.Milliseconds()))
		t.next = max(epoch+2, t.cfg.MinNumber)
	}
	rw := row{run: r, segs: make([]*Segment, len(segs))}
	for i, c := range segs {
		h := fnv.New64a()
		_, _ = h.Write(c.data)
		rw.segs[i] = &Segment{
			Number: t.next, Run: r.id, Start: c.start, Duration: c.duration, Data: c.data, Dependent: c.dependent,
			ETag: fmt.Sprintf(`"%x"`, h.Sum64()), Parts: c.parts, Aligned: aligned,
		}
	}
	news, now := t.addRow(rw, t.next)
	if t.cfg.PartDuration == 0 && !segs[0].readAt.IsZero() {
		news = append(news, notice{stage: StagePackager, latency: now.Sub(segs[0].readAt)})
	}
	return append(news, gap...)
}

// addRow appends rw, the complete segment numbered number of every
// rendition of the run rw.run, with t.mu held: a run's first row takes
// the next discontinuity, the numbering goes on after number and the
// waiters wake. It returns, by rendition, how long after its end the
// segment was complete, and the time it judged that at.
func (t *Timeline) addRow(rw row, number uint64) ([]notice, time.Time) {
	r := rw.run
	if r.segments == 0 {
		r.disc = t.nextDisc
		t.lastDisc, t.nextDisc = t.nextDisc, t.nextDisc+1
		t.discs++
	}
	if t.first == 0 {
		t.first = number
	}
	t.next = number + 1
	t.produced++
	r.segments++
	t.rows = append(t.rows, rw)
	t.trim()
	t.notify()
	now := t.cfg.Now()
	news := make([]notice, len(rw.segs), len(rw.segs)+1)
	for i, seg := range rw.segs {
		tr := t.tracks[i]
		end := t.cfg.AvailabilityStart.Add(seg.StartTimeOf(tr.Timescale) + seg.DurationOf(tr.Timescale))
		news[i] = notice{rendition: t.cfg.Renditions[i].ID, latency: now.Sub(end)}
	}
	return news, now
}

// onGrid reports whether every video segment of a row of a run on the
// grid starts on its boundary with a key frame.
func onGrid(t *Timeline, segs []*cutSegment) bool {
	for i, c := range segs {
		if t.cfg.Renditions[i].Kind == Video && (!c.onGrid || c.dependent) {
			return false
		}
	}
	return true
}

// startsLate reports whether an encoded video segment of a row of a run on
// the grid starts after its boundary (a passthrough rendition's key frames
// are the input's).
func startsLate(t *Timeline, segs []*cutSegment) bool {
	for i, c := range segs {
		if rc := t.cfg.Renditions[i]; rc.Kind == Video && !rc.Passthrough && !c.onGrid {
			return true
		}
	}
	return false
}

// trim drops segments that have slid out of the window and runs left without
// segments (except the newest run).
func (t *Timeline) trim() {
	if len(t.rows) == 0 {
		return
	}
	last := t.rows[len(t.rows)-1].segs[0]
	ts := t.tracks[0].Timescale
	end := last.StartTimeOf(ts) + last.DurationOf(ts)
	keep := t.cfg.Window + t.cfg.SegmentDuration
	drop := 0
	for drop < len(t.rows)-1 {
		s := t.rows[drop].segs[0]
		if end-s.StartTimeOf(ts) <= keep {
			break
		}
		drop++
	}
	if drop > 0 {
		clear(t.rows[:drop])
		t.rows = t.rows[drop:]
	}
	firstRun := t.rows[0].run
	for len(t.runs) > 1 && t.runs[0] != firstRun {
		t.runs[0] = nil
		t.runs = t.runs[1:]
	}
}

// StartTimeOf returns the segment start as a duration since AvailabilityStart.
func (s *Segment) StartTimeOf(timescale uint32) time.Duration {
	return ticksToDuration(s.Start, timescale)
}

// DurationOf returns the segment length.
func (s *Segment) DurationOf(timescale uint32) time.Duration {
	return ticksToDuration(s.Duration, timescale)
}
