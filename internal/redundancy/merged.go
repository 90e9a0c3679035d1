// Package redundancy merges the two pipelines of a STANDARD channel into
// the one timeline the origin serves: each segment number comes from the
// pipeline that completed it first (one whose input is live before one on
// fill), the parts of a segment at the live edge from one pipeline only,
// switching at segment boundaries, and a segment neither pipeline has
// becomes a gap rather than a stall. A pipeline that runs on this node
// feeds the merge from its timeline directly; one on another node from
// that node's feed of its timeline (FeedHandler, over cluster-internal
// HTTP signed with the cluster key), which a follower reads and reads
// again after every failure.
package redundancy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/sluice-video/sluice/internal/packager/cmaf"
	"github.com/sluice-video/sluice/internal/peer"
)

// Pipelines is how many pipelines a STANDARD channel has.
const Pipelines = 2

// Config configures a merged timeline.
type Config struct {
	// Channel is the channel's name, in logs and events; ChannelID its id,
	// in the URL of a peer's feed.
	Channel   string
	ChannelID string
	// Timeline configures the merged timeline: the channel's renditions,
	// grid and counters, as a pipeline's timeline has them.
	Timeline cmaf.Config
	Logger   *slog.Logger
	// Self is this node's id, and Key the cluster key, which sign the
	// requests for a peer's feed; Transport carries them (default
	// peer.NewTransport).
	Self      string
	Key       *peer.Key
	Transport http.RoundTripper
	// OnSwitch hears of every change of the pipeline the merged timeline
	// takes its segments from.
	OnSwitch func(Switch)
	// Grace is how long the merge waits for the pipeline it prefers once
	// another has completed a segment (default: a part or a quarter of a
	// segment, whichever is longer). GapWait is how long a segment that no
	// pipeline has may hold the timeline back once a pipeline has moved
	// past it (default: a segment).
	Grace   time.Duration
	GapWait time.Duration
	// IdleTimeout ends a peer's feed that brings nothing for this long
	// (default 5 s; a feed sends a keep-alive every second).
	IdleTimeout time.Duration
	// MinBackoff and MaxBackoff bound the wait before a failed feed is
	// read again (default 250 ms and 5 s).
	MinBackoff, MaxBackoff time.Duration
}

// Merged is the merged timeline of a channel's pipelines.
type Merged struct {
	cfg    Config
	tl     *cmaf.Timeline
	logger *slog.Logger
	client *http.Client
	// tols is each rendition's alignment tolerance: how far apart two
	// pipelines' segment starts may be and still follow each other
	// without a discontinuity.
	tols []time.Duration
	ids  []string

	mu   sync.Mutex
	src  [Pipelines]*source
	stop [Pipelines]context.CancelFunc
	gen  uint64

	// rep is the merged timeline's current run, started from the inits
	// (and silence) of runInits and runSilent.
	rep       *cmaf.Replica
	runInits  [][]byte
	runSilent bool
	// ended says the merged timeline was ended: the next segment starts a
	// new run.
	ended bool
	// last is the number of the newest merged segment (0: none yet), ends
	// each rendition's end of it as media time, lastSrc the pipeline it
	// came from (-1: none).
	last    uint64
	ends    []time.Duration
	lastSrc int
	// lock and mirror say, for the segment after last, which pipeline's
	// parts the merged timeline shows and how far.
	lock   map[uint64]int
	mirror map[uint64]*mirrored
	// pastSince is when a pipeline was first seen past the next segment
	// without having it.
	pastSince time.Time
	// wake is the earliest instant a decision waits for (zero: none).
	wake    time.Time
	pending []Switch
	closed  bool

	kick chan struct{}
	done chan struct{}
	wg   sync.WaitGroup
}

// mirrored follows the parts of one pipeline's segment that the merged
// timeline shows at its live edge.
type mirrored struct {
	source    int
	tag       uint64
	run       *srcRun
	srcNumber uint64
	starts    []uint64
	opened    []bool
	parts     []int
	closed    []bool
}

// New returns a merged timeline without pipelines.
func New(cfg Config) (*Merged, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Timeline.Logger == nil {
		cfg.Timeline.Logger = cfg.Logger
	}
	tl, err := cmaf.NewTimeline(cfg.Timeline)
	if err != nil {
		return nil, err
	}
	if cfg.Grace <= 0 {
		cfg.Grace = max(cfg.Timeline.PartDuration, cfg.Timeline.SegmentDuration/4)
	}
	if cfg.GapWait <= 0 {
		cfg.GapWait = cfg.Timeline.SegmentDuration
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 5 * time.Second
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = 250 * time.Millisecond
	}
	if cfg.MaxBackoff < cfg.MinBackoff {
		cfg.MaxBackoff = max(5*time.Second, cfg.MinBackoff)
	}
	if cfg.Transport == nil {
		cfg.Transport = peer.NewTransport(peer.TransportConfig{ResponseHeaderTimeout: 5 * time.Second})
	}
	m := &Merged{
		cfg: cfg, tl: tl, client: &http.Client{Transport: cfg.Transport},
		logger:  cfg.Logger.With("channel", cfg.Channel),
		lastSrc: -1, lock: map[uint64]int{}, mirror: map[uint64]*mirrored{},
		kick: make(chan struct{}, 1), done: make(chan struct{}),
	}
	for _, r := range cfg.Timeline.Renditions {
		m.ids = append(m.ids, r.ID)
		m.tols = append(m.tols, tolerance(r))
	}
	m.ends = make([]time.Duration, len(m.ids))
	m.wg.Go(m.clock)
	return m, nil
}

// tolerance is how far apart two pipelines' starts of a segment may be in
// a rendition: half a video frame, or about an AAC frame of audio.
func tolerance(r cmaf.RenditionConfig) time.Duration {
	if r.Kind == cmaf.Audio {
		return 24 * time.Millisecond
	}
	if r.FrameRate > 0 {
		return time.Duration(float64(time.Second) / r.FrameRate / 2)
	}
	return 20 * time.Millisecond
}

// Timeline returns the merged timeline, which the origin serves as it
// serves a channel's own.
func (m *Merged) Timeline() *cmaf.Timeline { return m.tl }

// Current returns the pipeline the newest merged segment came from; ok is
// false before the first.
func (m *Merged) Current() (index int, ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.lastSrc, m.lastSrc >= 0
}

// SetLocal makes tl, a timeline of this node, pipeline index of the merge;
// inputLive says whether its input is live (nil: always). A timeline with
// other renditions or another grid than the merged timeline is refused
// and logged. A nil tl removes the pipeline.
func (m *Merged) SetLocal(index int, tl *cmaf.Timeline, inputLive func() bool) {
	if tl == nil {
		m.Remove(index)
		return
	}
	if !m.validIndex(index) {
		return
	}
	if err := m.compatible(tl.Renditions(), tl.SegmentDuration(), tl.PartDuration(), tl.AvailabilityStart()); err != nil {
		m.logger.Error(fmt.Sprintf("channel %s: pipeline %d is not merged: %v", m.cfg.Channel, index, err), "pipeline", index)
		return
	}
	if inputLive == nil {
		inputLive = func() bool { return true }
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return
	}
	if s := m.src[index]; s != nil && !s.remote && s.tl == tl {
		return
	}
	ctx, gen := m.attachLocked(index, false, "")
	m.src[index].tl = tl
	m.wg.Go(func() { m.followLocal(ctx, index, gen, tl, inputLive) })
}

// SetRemote makes the pipeline index of the node at baseURL (its
// advertised URL) a pipeline of the merge, read from that node's feed. ""
// removes a remote pipeline index (a local one stays).
func (m *Merged) SetRemote(index int, baseURL string) {
	if !m.validIndex(index) {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return
	}
	s := m.src[index]
	if baseURL == "" {
		if s != nil && s.remote {
			m.detachLocked(index)
			m.advanceLocked()
		}
		return
	}
	if s != nil && s.remote && s.url == baseURL {
		return
	}
	ctx, gen := m.attachLocked(index, true, baseURL)
	m.wg.Go(func() { m.followRemote(ctx, index, gen, baseURL) })
}

// Remove takes pipeline index out of the merge.
func (m *Merged) Remove(index int) {
	if !m.validIndex(index) {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.src[index] != nil {
		m.detachLocked(index)
		m.advanceLocked()
	}
}

// Close detaches every pipeline and ends the merged timeline.
func (m *Merged) Close() {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return
	}
	m.closed = true
	for i := range m.src {
		if m.src[i] != nil {
			m.detachLocked(i)
		}
	}
	if m.rep != nil && !m.ended {
		m.tl.End()
		m.ended = true
	}
	m.mu.Unlock()
	close(m.done)
	m.wg.Wait()
}

func (m *Merged) validIndex(index int) bool {
	if index < 0 || index >= Pipelines {
		m.logger.Error(fmt.Sprintf("channel %s: there is no pipeline %d: pipelines are 0 and 1", m.cfg.Channel, index))
		return false
	}
	return true
}

// compatible checks a pipeline's renditions, grid and media time origin
// against the merged timeline's.
func (m *Merged) compatible(rs []cmaf.RenditionConfig, segment, part time.Duration, start time.Time) error {
	ids := make([]string, len(rs))
	for i, r := range rs {
		ids[i] = r.ID
	}
	switch {
	case !slices.Equal(ids, m.ids):
		return fmt.Errorf("its renditions are %v, the channel's %v", ids, m.ids)
	case segment != m.cfg.Timeline.SegmentDuration:
		return fmt.Errorf("its segments last %v, the channel's %v", segment, m.cfg.Timeline.SegmentDuration)
	case part != m.cfg.Timeline.PartDuration:
		return fmt.Errorf("its parts last %v, the channel's %v", part, m.cfg.Timeline.PartDuration)
	case !start.Equal(m.cfg.Timeline.AvailabilityStart):
		return fmt.Errorf("its media time starts at %s, the channel's at %s",
			start.UTC().Format(time.RFC3339Nano), m.cfg.Timeline.AvailabilityStart.UTC().Format(time.RFC3339Nano))
	}
	return nil
}

// attachLocked replaces pipeline index with a new source; m.mu must be
// held.
func (m *Merged) attachLocked(index int, remote bool, url string) (context.Context, uint64) {
	if m.src[index] != nil {
		m.detachLocked(index)
	}
	m.gen++
	s := newSource(index, len(m.ids), m.gen)
	s.remote, s.url = remote, url
	m.src[index] = s
	ctx, cancel := context.WithCancel(context.Background())
	m.stop[index] = cancel
	return ctx, m.gen
}

// detachLocked removes pipeline index; m.mu must be held.
func (m *Merged) detachLocked(index int) {
	if m.stop[index] != nil {
		m.stop[index]()
		m.stop[index] = nil
	}
	m.src[index] = nil
}

// errDetached stops the reading of a pipeline that was removed or
// replaced.
var errDetached = errors.New("the pipeline was detached from the merge")

// sourceOf returns pipeline index when it is still attachment gen; m.mu
// must be held.
func (m *Merged) sourceOf(index int, gen uint64) *source {
	if s := m.src[index]; s != nil && s.gen == gen {
		return s
	}
	return nil
}

// apply takes a message of pipeline index (attachment gen) and merges what
// it makes possible.
func (m *Merged) apply(index int, gen uint64, msg message) error {
	m.mu.Lock()
	s := m.sourceOf(index, gen)
	if s == nil {
		m.mu.Unlock()
		return errDetached
	}
	err := s.apply(msg, time.Now())
	if err == nil {
		m.advanceLocked()
	}
	events := m.takeEvents()
	m.mu.Unlock()
	m.tell(events)
	return err
}

// setUp marks pipeline index (attachment gen) as reachable or not.
func (m *Merged) setUp(index int, gen uint64, up bool) {
	m.mu.Lock()
	if s := m.sourceOf(index, gen); s != nil && s.up != up {
		s.up = up
		if !up {
			s.reset()
		}
		m.advanceLocked()
	}
	events := m.takeEvents()
	m.mu.Unlock()
	m.tell(events)
}

// resumeFrom is the segment number a pipeline's feed starts from: after
// the newest it told, else the merged timeline's next.
func (m *Merged) resumeFrom(index int, gen uint64) uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s := m.sourceOf(index, gen); s != nil && s.last > 0 {
		return s.last + 1
	}
	if m.last > 0 {
		return m.last + 1
	}
	return 0
}

func (m *Merged) takeEvents() []Switch {
	ev := m.pending
	m.pending = nil
	return ev
}

func (m *Merged) tell(events []Switch) {
	for _, e := range events {
		if m.cfg.OnSwitch != nil {
			m.cfg.OnSwitch(e)
		}
	}
}

// clock merges what waited for a deadline when it passes.
func (m *Merged) clock() {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		select {
		case <-m.done:
			return
		case <-m.kick:
		case <-timer.C:
			m.mu.Lock()
			m.advanceLocked()
			events := m.takeEvents()
			m.mu.Unlock()
			m.tell(events)
		}
		m.mu.Lock()
		wake := m.wake
		m.mu.Unlock()
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		if !wake.IsZero() {
			timer.Reset(max(time.Until(wake), time.Millisecond))
		}
	}
}
