package channel

import (
	"time"

	"github.com/sluice-video/sluice/internal/resource"
)

// Observer hears what channels do: events for the bus and figures for the
// metrics. Calls must not block.
type Observer interface {
	Event(e resource.Event)
	ChannelState(channel string, state resource.ChannelState)
	EncoderProgress(channel string, speed, fps float64, dropped int64)
	EncoderRestarted(channel string)
	SegmentProduced(channel, rendition string, latency time.Duration)
	// PipelineStage reports how long a frame spent in one stage of the
	// pipeline (see cmaf's stages, and "switcher").
	PipelineStage(stage string, d time.Duration)
	ChannelRemoved(channel string)
	// FrameShares reports the channel's frames API readers and the shared
	// decoders they read from; FramesDropped counts pictures readers lost
	// by falling behind.
	FrameShares(channel string, readers, decoders int)
	FramesDropped(channel string, n int)
	// PipelinesRunning reports how many pipelines of a channel deliver
	// segments, from the node that reports for it; -1 when this node does
	// not (any more).
	PipelinesRunning(channel string, n int)
}

// nopObserver is the observer of a manager configured without one.
type nopObserver struct{}

func (nopObserver) Event(resource.Event)                            {}
func (nopObserver) ChannelState(string, resource.ChannelState)      {}
func (nopObserver) EncoderProgress(string, float64, float64, int64) {}
func (nopObserver) EncoderRestarted(string)                         {}
func (nopObserver) SegmentProduced(string, string, time.Duration)   {}
func (nopObserver) PipelineStage(string, time.Duration)             {}
func (nopObserver) ChannelRemoved(string)                           {}
func (nopObserver) FrameShares(string, int, int)                    {}
func (nopObserver) FramesDropped(string, int)                       {}
func (nopObserver) PipelinesRunning(string, int)                    {}

// channelEvent builds an event about a channel.
func channelEvent(typ, channel, msg string, detail map[string]string) resource.Event {
	d := map[string]string{"channel": channel}
	for k, v := range detail {
		d[k] = v
	}
	return resource.Event{Type: typ, Resource: "channel/" + channel, Detail: d, Message: msg}
}
