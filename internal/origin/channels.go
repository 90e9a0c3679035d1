package origin

import (
	"github.com/sluice-video/sluice/internal/dvr"
	"github.com/sluice-video/sluice/internal/packager/cmaf"
	"github.com/sluice-video/sluice/internal/resource"
)

// Channels is what the origin reads of the channel manager: a channel's
// timeline and endpoints by name.
type Channels interface {
	Packaging(name string) (*cmaf.Timeline, []resource.OutputGroup, bool)
}

// Archives opens the DVR archives of channels; *dvr.Service satisfies it.
type Archives interface {
	ArchiveFor(channel string, outputs []resource.OutputGroup) *dvr.Archive
}

// LookupIn finds channels in ch, each with its DVR archive from archives
// when an endpoint has a DVR window.
func LookupIn(ch Channels, archives Archives) LookupFunc {
	return func(name string) (Channel, bool) {
		tl, outputs, ok := ch.Packaging(name)
		c := Channel{Timeline: tl, Outputs: outputs}
		if a := archives.ArchiveFor(name, outputs); a != nil {
			c.DVR = a
		}
		return c, ok
	}
}
