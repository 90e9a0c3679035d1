package dvr

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/sluice-video/sluice/internal/lifecycle"
	"github.com/sluice-video/sluice/internal/outage"
	"github.com/sluice-video/sluice/internal/packager/cmaf"
	"github.com/sluice-video/sluice/internal/resource"
)

// Source is a channel the service archives.
type Source struct {
	Name string
	// Timeline is nil until the channel first starts.
	Timeline *cmaf.Timeline
	Outputs  []resource.OutputGroup
}

// Config configures a Service.
type Config struct {
	// Root is the directory of the archives (one per channel), inside the
	// media root, when they are on the local disk.
	Root string
	// Shared, when set, keeps the archives on shared storage with their
	// index in the state database, where every node of a cluster finds
	// them (Root is then unused).
	Shared *Shared
	// Holding says whether this node holds a channel, and its lease: the
	// archives of channels it holds are written under the lease (its
	// epoch keys their objects), the others only read. Nil: a single
	// server, which holds every channel (the zero fence, not checked).
	Holding func(channel string) (h Hold, held bool)
	// Sources lists the channels; those without a DVR endpoint are skipped.
	Sources func(ctx context.Context) []Source
	// Interval is how often new segments are copied (DefaultInterval for
	// zero).
	Interval time.Duration
	// Publish, when set, takes the segment.gap events of the holes that
	// an archive sees and no timeline reports (see Archive.OnGap).
	Publish func(resource.Event)
	Now     func() time.Time
	Logger  *slog.Logger
}

// DefaultInterval is how often new segments are copied to the archives:
// well inside the shortest in-memory window, so no segment slides out
// unseen.
const DefaultInterval = 500 * time.Millisecond

// Service archives every channel with a DVR endpoint: it copies new
// segments to disk and enforces retention, on each Tick.
type Service struct {
	cfg  Config
	loop lifecycle.Loop

	mu       sync.RWMutex
	archives map[string]*opened

	// failures follow each channel's failures to open, write and trim
	// its archive (by channel and operation), so that a storage or
	// database outage is logged once per channel, and its end once.
	failuresMu sync.Mutex
	failures   map[string]*outage.Reporter
}

// opened is an archive as the service opened it: the epoch and holding
// it was opened for, and when (read-only archives are read again after a
// while, as their writer adds to them).
type opened struct {
	a     *Archive
	hold  Hold
	held  bool
	at    time.Time
	swept bool
}

// readOnlyFresh is how long the index of an archive another node writes
// is trusted before it is read again.
const readOnlyFresh = time.Second

// holding says whether this node holds the channel, and its lease.
func (s *Service) holding(channel string) (Hold, bool) {
	if s.cfg.Holding == nil {
		return Hold{}, true
	}
	return s.cfg.Holding(channel)
}

// current reports whether an opened archive still fits the channel's
// holding.
func (s *Service) current(o *opened, hold Hold, held bool) bool {
	if s.cfg.Shared == nil {
		return true
	}
	if o.hold != hold || o.held != held {
		return false
	}
	return held || s.cfg.Now().Sub(o.at) < readOnlyFresh
}

// NewService returns a service; Start ticks every Interval until Close
// (or call Tick).
func NewService(cfg Config) *Service {
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{cfg: cfg, archives: map[string]*opened{}, failures: map[string]*outage.Reporter{}}
}

// WindowOf returns a channel's DVR window: the longest of its endpoints'.
func WindowOf(outputs []resource.OutputGroup) time.Duration {
	var w time.Duration
	for _, o := range outputs {
		w = max(w, o.DVRWindow())
	}
	return w
}

// Archive returns the archive of a channel with a DVR window, opening it
// on first use; nil for an invalid name. On shared storage, it is opened
// again when this node takes or loses the channel.
func (s *Service) Archive(channel string, window time.Duration) (*Archive, error) {
	o, err := s.open(channel, window)
	if o == nil || err != nil {
		return nil, err
	}
	return o.a, nil
}

func (s *Service) open(channel string, window time.Duration) (*opened, error) {
	if !resource.ValidName(channel) {
		return nil, nil
	}
	hold, held := s.holding(channel)
	// Every origin request of a DVR channel asks: an open archive is found
	// under the read lock, and its window is an atomic.
	s.mu.RLock()
	o, ok := s.archives[channel]
	s.mu.RUnlock()
	if !ok || !s.current(o, hold, held) {
		s.mu.Lock()
		defer s.mu.Unlock()
		o, ok = s.archives[channel]
		ok = ok && s.current(o, hold, held)
	}
	if ok {
		if window > 0 {
			o.a.SetWindow(window)
		}
		return o, nil
	}
	logger := s.cfg.Logger.With("channel", channel)
	var a *Archive
	var err error
	if sh := s.cfg.Shared; sh != nil {
		a, err = OpenShared(*sh, channel, hold, !held, window, logger)
	} else {
		a, err = OpenArchive(filepath.Join(s.cfg.Root, channel), window, logger)
	}
	if err != nil {
		return nil, err
	}
	if pub := s.cfg.Publish; pub != nil {
		a.OnGap(func(reason string) { pub(gapEvent(channel, reason)) })
	}
	o = &opened{a: a, hold: hold, held: held, at: s.cfg.Now()}
	s.archives[channel] = o
	return o, nil
}

// gapEvent is the segment.gap event of a hole in a channel's archive,
// shaped as the channel's own segment.gap events.
func gapEvent(channel, reason string) resource.Event {
	return resource.Event{
		Type: resource.EventSegmentGap, Resource: "channel/" + channel,
		Detail:  map[string]string{"channel": channel, "reason": reason},
		Message: "channel " + channel + ": " + reason,
	}
}

// Tick archives new segments of every channel with a DVR window and
// deletes what left the window.
func (s *Service) Tick(ctx context.Context) {
	seen := map[string]bool{}
	for _, src := range s.cfg.Sources(ctx) {
		w := WindowOf(src.Outputs)
		if w == 0 || src.Timeline == nil {
			continue
		}
		seen[src.Name] = true
		o, err := s.open(src.Name, w)
		if err != nil || o == nil {
			s.failing(src.Name, "open").Fail("opening the DVR archive failed", err, "channel", src.Name)
			continue
		}
		s.failing(src.Name, "open").Recover("opening the DVR archive works again", "channel", src.Name)
		a := o.a
		if !o.swept && s.cfg.Shared != nil && o.held {
			if n := a.Sweep(ctx); n > 0 {
				s.cfg.Logger.Info("deleted objects of the DVR archive that earlier holders stored and never listed", "channel", src.Name, "objects", n)
			}
			o.swept = true
		}
		if _, err := a.Sync(src.Timeline); errors.Is(err, ErrLost) {
			s.cfg.Logger.Warn("this node no longer holds the channel; its DVR archive is written by the new holder", "channel", src.Name, "error", err)
		} else {
			s.failing(src.Name, "sync").Report(err, "archiving segments for DVR failed", "archiving segments for DVR works again", "channel", src.Name)
		}
		n, err := a.Trim(s.cfg.Now())
		if !s.failing(src.Name, "trim").Report(err, "deleting segments past the DVR window failed", "deleting segments past the DVR window works again", "channel", src.Name) && n > 0 {
			s.cfg.Logger.Debug("deleted segments past the DVR window", "channel", src.Name, "segments", n)
		}
	}
	s.failuresMu.Lock()
	defer s.failuresMu.Unlock()
	for k := range s.failures {
		if channel, _, _ := strings.Cut(k, "\x00"); !seen[channel] {
			delete(s.failures, k)
		}
	}
}

// failing is the reporter of a channel's failures of one operation.
func (s *Service) failing(channel, op string) *outage.Reporter {
	k := channel + "\x00" + op
	s.failuresMu.Lock()
	defer s.failuresMu.Unlock()
	r, ok := s.failures[k]
	if !ok {
		r = outage.New(s.cfg.Logger, slog.LevelError, s.cfg.Now)
		s.failures[k] = r
	}
	return r
}

// Start ticks every Interval, from now until Close.
func (s *Service) Start(ctx context.Context) error {
	s.loop.Go(ctx, s.run)
	return nil
}

// Close stops the ticks and waits for the one in progress.
func (s *Service) Close(ctx context.Context) error { return s.loop.Stop(ctx) }

func (s *Service) run(ctx context.Context) {
	t := time.NewTicker(s.cfg.Interval)
	defer t.Stop()
	for {
		s.Tick(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
