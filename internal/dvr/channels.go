package dvr

import (
	"context"

	"github.com/sluice-video/sluice/internal/packager/cmaf"
	"github.com/sluice-video/sluice/internal/resource"
)

// Channels is what the DVR service reads of the channel manager: the
// channels, and a channel's timeline and endpoints by name.
type Channels interface {
	ListChannels(ctx context.Context) ([]resource.Channel, error)
	Packaging(name string) (*cmaf.Timeline, []resource.OutputGroup, bool)
}

// SourcesOf lists the channels with a DVR window, for Config.Sources.
func SourcesOf(ch Channels) func(context.Context) []Source {
	return func(ctx context.Context) []Source {
		chans, err := ch.ListChannels(ctx)
		if err != nil {
			return nil
		}
		out := make([]Source, 0, len(chans))
		for _, c := range chans {
			if WindowOf(c.Outputs) == 0 {
				continue
			}
			if tl, outputs, ok := ch.Packaging(c.Name); ok {
				out = append(out, Source{Name: c.Name, Timeline: tl, Outputs: outputs})
			}
		}
		return out
	}
}

// ArchiveFor returns the archive of a channel with these endpoints, or
// nil when none of them has a DVR window (or it cannot be opened).
func (s *Service) ArchiveFor(channel string, outputs []resource.OutputGroup) *Archive {
	w := WindowOf(outputs)
	if w == 0 || s == nil {
		return nil
	}
	a, err := s.Archive(channel, w)
	if err != nil {
		return nil
	}
	return a
}
