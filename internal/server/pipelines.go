package server

import (
	"log/slog"

	"github.com/sluice-video/sluice/internal/channel"
	"github.com/sluice-video/sluice/internal/peer"
	"github.com/sluice-video/sluice/internal/redundancy"
)

// The pieces of a node between the channels' pipelines and the merged
// timelines of STANDARD channels: each node that runs a pipeline of such
// a channel merges its pipelines, its own read directly, the other node's
// from that node's feed, and serves the feeds of the pipelines it runs.

// merger makes the merged timeline of a STANDARD channel, reading the
// other node's pipeline with the cluster key (none on a single server,
// which runs both pipelines itself); its switches are events.
func (c *components) merger(logger *slog.Logger) func(channel.MergeConfig) (channel.Merger, error) {
	var key *peer.Key
	if c.media != nil {
		key = c.media.key
	}
	self := c.cluster.SelfID()
	return func(mc channel.MergeConfig) (channel.Merger, error) {
		if mc.Logger == nil {
			mc.Logger = logger
		}
		return redundancy.New(redundancy.Config{
			Channel: mc.Channel, ChannelID: mc.ChannelID, Timeline: mc.Timeline,
			Logger: mc.Logger.With("part", "merged timeline"), Self: self, Key: key,
			OnSwitch: func(s redundancy.Switch) { c.bus.Publish(s.Event()) },
		})
	}
}

// pipelineFeeds finds the pipelines this node runs for their feeds to the
// other nodes.
func pipelineFeeds(m *channel.Manager) redundancy.LookupFunc {
	return func(channelID string, index int) (redundancy.Pipeline, bool) {
		tl, live, ok := m.PipelineTimeline(channelID, index)
		if !ok {
			return redundancy.Pipeline{}, false
		}
		return redundancy.Pipeline{Timeline: tl, InputLive: live}, true
	}
}
