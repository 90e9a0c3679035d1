package channel

import (
	"io"

	"github.com/sluice-video/sluice/internal/encoder"
	"github.com/sluice-video/sluice/internal/output"
	"github.com/sluice-video/sluice/internal/resource"
)

// webrtcOptions tunes the encoder of a channel with a WebRTC endpoint: no
// B-frames and no look-ahead on any rung, fragments of one picture, and an
// Opus rendition for the viewers' audio.
func webrtcOptions(spec resource.ChannelSpec, opts encoder.Options) encoder.Options {
	if !spec.HasWebRTC() {
		return opts
	}
	opts.WebRTC, opts.LowLatency = true, true
	opts.ChunkDuration = resource.WebRTCChunk
	return opts
}

// tapOnly reports whether an encoder output feeds the outputs' tap only,
// not the packager: the Opus audio of WebRTC viewers.
func tapOnly(out encoder.Output) bool { return out.Rendition == encoder.OpusRendition }

// drain reads a tap-only stream to its end; its bytes reach the tap on the
// way.
func drain(_ string, r io.Reader) error {
	_, err := io.Copy(io.Discard, r)
	return err
}

// WebRTCSource is what a WebRTC endpoint plays of a channel: the tap on
// its encoder's streams, the ladder's rungs from the highest bitrate down,
// and the name of the Opus rendition.
type WebRTCSource struct {
	Hub   *output.Hub
	Rungs []resource.Rung
	Audio string
}

// WebRTC returns the source of a channel's WebRTC endpoint. ok is false
// when the channel does not exist, has no such WebRTC endpoint, or is not
// running.
func (m *Manager) WebRTC(name, endpoint string) (WebRTCSource, bool) {
	rt, err := m.lookup(name)
	if err != nil || rt.name() != name || !rt.state().Active() {
		return WebRTCSource{}, false
	}
	spec := rt.spec()
	found := false
	for _, o := range spec.Outputs {
		found = found || (o.Type.IsWebRTC() && o.Name == endpoint)
	}
	if !found {
		return WebRTCSource{}, false
	}
	l, err := spec.Ladder()
	if err != nil {
		return WebRTCSource{}, false
	}
	return WebRTCSource{Hub: rt.hub, Rungs: l.Rungs, Audio: encoder.OpusRendition}, true
}
