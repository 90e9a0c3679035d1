package server

import (
	"context"
	"path/filepath"
	"time"

	"github.com/sluice-video/sluice/internal/channel"
	"github.com/sluice-video/sluice/internal/dvr"
	"github.com/sluice-video/sluice/internal/origin"
)

// dvrTick is how often new segments are copied to the DVR archives: well
// inside the shortest in-memory window, so no segment slides out unseen.
const dvrTick = 500 * time.Millisecond

// startDVR archives the segments of channels with a DVR window under
// <media root>/dvr and enforces their retention.
func (s *Server) startDVR(mediaRoot string) {
	s.dvr = dvr.NewService(dvr.Config{
		Root:    filepath.Join(mediaRoot, "dvr"),
		Sources: s.dvrSources,
		Logger:  s.logger,
	})
	s.start(func(ctx context.Context) { s.dvr.Run(ctx, dvrTick) })
}

// dvrSources lists the channels for the DVR service.
func (s *Server) dvrSources(ctx context.Context) []dvr.Source {
	chans, err := s.manager.ListChannels(ctx)
	if err != nil {
		return nil
	}
	out := make([]dvr.Source, 0, len(chans))
	for _, c := range chans {
		if dvr.WindowOf(c.Outputs) == 0 {
			continue
		}
		if sv, ok := s.manager.Lookup(c.Name); ok {
			out = append(out, dvr.Source{Name: c.Name, Timeline: sv.Timeline, Outputs: sv.Outputs})
		}
	}
	return out
}

// dvrArchive returns the archive of a channel the origin serves, or nil
// when none of its endpoints has a DVR window.
func (s *Server) dvrArchive(c channel.Served) origin.Archive {
	w := dvr.WindowOf(c.Outputs)
	if w == 0 || s.dvr == nil {
		return nil
	}
	a, err := s.dvr.Archive(c.Name, w)
	if err != nil || a == nil {
		return nil
	}
	return a
}
