package dvr

import (
	"context"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/sluice-video/sluice/internal/lifecycle"
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
	// media root.
	Root string
	// Sources lists the channels; those without a DVR endpoint are skipped.
	Sources func(ctx context.Context) []Source
	// Interval is how often new segments are copied (DefaultInterval for
	// zero).
	Interval time.Duration
	Now      func() time.Time
	Logger   *slog.Logger
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
	archives map[string]*Archive
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
	return &Service{cfg: cfg, archives: map[string]*Archive{}}
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
// on first use; nil for an invalid name.
func (s *Service) Archive(channel string, window time.Duration) (*Archive, error) {
	if !resource.ValidName(channel) {
		return nil, nil
	}
	// Every origin request of a DVR channel asks: an open archive is found
	// under the read lock, and its window is an atomic.
	s.mu.RLock()
	a, ok := s.archives[channel]
	s.mu.RUnlock()
	if !ok {
		s.mu.Lock()
		defer s.mu.Unlock()
		a, ok = s.archives[channel]
	}
	if ok {
		if window > 0 {
			a.SetWindow(window)
		}
		return a, nil
	}
	a, err := OpenArchive(filepath.Join(s.cfg.Root, channel), window, s.cfg.Logger.With("channel", channel))
	if err != nil {
		return nil, err
	}
	s.archives[channel] = a
	return a, nil
}

// Tick archives new segments of every channel with a DVR window and
// deletes what left the window.
func (s *Service) Tick(ctx context.Context) {
	for _, src := range s.cfg.Sources(ctx) {
		w := WindowOf(src.Outputs)
		if w == 0 || src.Timeline == nil {
			continue
		}
		a, err := s.Archive(src.Name, w)
		if err != nil || a == nil {
			s.cfg.Logger.Error("opening the DVR archive failed", "channel", src.Name, "error", err)
			continue
		}
		if _, err := a.Sync(src.Timeline); err != nil {
			s.cfg.Logger.Error("archiving segments for DVR failed", "channel", src.Name, "error", err)
		}
		if n, err := a.Trim(s.cfg.Now()); err != nil {
			s.cfg.Logger.Error("deleting segments past the DVR window failed", "channel", src.Name, "error", err)
		} else if n > 0 {
			s.cfg.Logger.Debug("deleted segments past the DVR window", "channel", src.Name, "segments", n)
		}
	}
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
