package web

import (
	"context"
	"errors"

	"github.com/sluice-video/sluice/internal/resource"
)

// fakeChannels serves a fixed set of channels, looked up by id or name.
type fakeChannels struct {
	channels []resource.Channel
	inputs   []resource.Input
	listErr  error
}

func (f *fakeChannels) ListChannels(context.Context) ([]resource.Channel, error) {
	if f.listErr != nil {
		return nil, f.listErr
	}
	return append([]resource.Channel(nil), f.channels...), nil
}

func (f *fakeChannels) GetChannel(_ context.Context, ref string) (resource.Channel, error) {
	for _, ch := range f.channels {
		if ch.ID == ref || ch.Name == ref {
			return ch, nil
		}
	}
	return resource.Channel{}, resource.NotFound("channel", ref)
}

func (f *fakeChannels) GetInput(_ context.Context, ref string) (resource.Input, error) {
	for _, in := range f.inputs {
		if in.ID == ref || in.Name == ref {
			return in, nil
		}
	}
	return resource.Input{}, resource.NotFound("input", ref)
}

// brokenGet is a control plane whose lookups fail.
type brokenGet struct{ fakeChannels }

func (*brokenGet) GetChannel(context.Context, string) (resource.Channel, error) {
	return resource.Channel{}, errBroken
}

// errBroken is a control-plane failure that is not "not found".
var errBroken = errors.New("store unavailable")

// demoChannel is a running channel with the default HLS and DASH endpoints.
func demoChannel() resource.Channel {
	return resource.Channel{
		ID:          "ch-1",
		ChannelSpec: resource.ChannelSpec{Name: "demo"},
		State:       resource.StateRunning,
		StateReason: "encoder running",
		Endpoints: []resource.EndpointURL{
			{Name: "hls", Type: resource.OutputHLS, URL: "/live/demo/hls/index.m3u8"},
			{Name: "dash", Type: resource.OutputDASH, URL: "/live/demo/dash/manifest.mpd"},
		},
	}
}

// failedChannel is a channel that could not start.
func failedChannel() resource.Channel {
	return resource.Channel{
		ID:          "ch-2",
		ChannelSpec: resource.ChannelSpec{Name: "broken"},
		State:       resource.StateCreateFailed,
		StateReason: "input missing",
		LastError:   "input <cam> does not exist",
	}
}
