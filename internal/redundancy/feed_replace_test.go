package redundancy

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/peer"
	"github.com/sluice-video/sluice/internal/testutil/poll"
)

// TestRemoteFeedFollowsAReplacedTimeline replaces the timeline of the
// pipeline a peer runs, as a new runtime or new settings of the channel
// do: the feed of the old one ends, and the merge follows the new one.
func TestRemoteFeedFollowsAReplacedTimeline(t *testing.T) {
	t.Parallel()
	enc := twoEncodings(t)
	b := newPipeline(t, enc[1], epoch)
	var cur atomic.Pointer[pipeline]
	cur.Store(b)
	node := newPeerNode(t, func(channelID string, index int) (Pipeline, bool) {
		p := cur.Load()
		if channelID != "ch-1" || index != 1 || p == nil {
			return Pipeline{}, false
		}
		return Pipeline{Timeline: p.tl, InputLive: p.inputLive}, true
	})
	m, _ := newMerged(t, Config{ChannelID: "ch-1", Self: "node-a", Key: peer.NewKey(clusterKey, nil)})
	m.SetRemote(1, node.srv.URL)

	b.until(3500 * time.Millisecond)
	b.untilSegments(3)
	untilMerged(t, m, lastNumber(b.tl))

	// The peer's pipeline runs a new timeline; the old one stays in
	// memory, without an end, as a runtime that was let go leaves it.
	c := newPipeline(t, enc[1], epoch)
	c.skip(4 * time.Second)
	cur.Store(c)
	c.until(time.Hour)
	c.stop()
	poll.UntilTrue(t, "a second request for the feed", time.Minute, func() bool { return node.requests.Load() >= 2 })
	untilMerged(t, m, lastNumber(c.tl))
}

// TestRemoteFeedOfAPipelineThatStopsEnds checks that the feed of a
// pipeline the node no longer runs ends: the follower asks again.
func TestRemoteFeedOfAPipelineThatStopsEnds(t *testing.T) {
	t.Parallel()
	enc := twoEncodings(t)
	b := newPipeline(t, enc[1], epoch)
	var runs atomic.Bool
	runs.Store(true)
	node := newPeerNode(t, func(channelID string, index int) (Pipeline, bool) {
		return Pipeline{Timeline: b.tl, InputLive: b.inputLive}, runs.Load() && channelID == "ch-1" && index == 1
	})
	m, _ := newMerged(t, Config{ChannelID: "ch-1", Self: "node-a", Key: peer.NewKey(clusterKey, nil)})
	m.SetRemote(1, node.srv.URL)
	b.until(2500 * time.Millisecond)
	b.untilSegments(2)
	untilMerged(t, m, lastNumber(b.tl))
	runs.Store(false)
	poll.UntilTrue(t, "the follower to ask again", time.Minute, func() bool { return node.requests.Load() >= 2 })
}
