package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/testutil/pgserver"
	"github.com/sluice-video/sluice/internal/testutil/poll"
	"github.com/sluice-video/sluice/internal/testutil/rtcpeer"
)

// whipClusterStack: a WHIP input feeding a channel, and a spare WHIP
// input no channel uses.
const whipClusterStack = `name: whip-cluster
securityGroups:
  - {name: local, allow: [127.0.0.0/8, "::1/128"]}
inputs:
  - {name: cam-whip, type: WHIP_PUSH, securityGroups: [local]}
  - {name: spare-whip, type: WHIP_PUSH, securityGroups: [local]}
channels:
  - name: ch-whip
    autoStart: true
    inputAttachments: [{input: cam-whip}]
    inputLoss: {fill: BLACK}
    encoder:
      video: [{name: low, width: 256, height: 144, bitrate: 150k, fps: 25, profile: baseline, preset: ultrafast}]
    outputs:
      - {name: hls, type: HLS}
`

// TestClusterWHIP runs two nodes on PostgreSQL and publishes over WHIP to
// the node that does not hold the channel: the input lists a WHIP URL on
// each node, the holder relays the publisher from the other node, and
// the channel plays, through either node. One publisher at a time holds
// across the cluster: a second one is refused on the holder (whose hub
// relays the first) and, for an input no channel uses, on the node the
// first did not connect to; once the first leaves, the second is taken.
func TestClusterWHIP(t *testing.T) {
	t.Parallel()
	pg := pgserver.Start(t)
	a := startClusterNode(t, "node-a", pg.URL, nil)
	b := startClusterNode(t, "node-b", pg.URL, nil)
	byID := map[string]*clusterNode{a.id: a, b.id: b}
	a.applyStack(t.TempDir(), "whip-cluster", whipClusterStack)
	holderID := a.waitHeld("ch-whip")
	holder := byID[holderID]
	other := a
	if holder == a {
		other = b
	}
	t.Logf("ch-whip runs on %s; publishing to %s", holder.id, other.id)

	// Every node lists a WHIP URL on each live node, its own first.
	var in resource.Input
	poll.Until(t, "cam-whip lists a WHIP URL on each node", time.Minute, func() (bool, string) {
		in = other.input("cam-whip")
		want := []string{other.url("/ingest/whip/cam-whip"), holder.url("/ingest/whip/cam-whip")}
		return slices.Equal(in.Endpoints, want), fmt.Sprintf("%v, want %v", in.Endpoints, want)
	})

	m := whipMedia(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pub, err := rtcpeer.Publish(ctx, http.DefaultClient, in.Endpoints[0], in.StreamKey, m)
	if err != nil {
		t.Fatalf("WHIP publish to %s: %v", other.id, err)
	}
	t.Cleanup(func() { _ = pub.Close(context.Background()) })

	// The holder relays the publisher from the other node; the channel
	// goes on air and its segments advance, read through either node.
	poll.Until(t, "the holder relays the WHIP publisher", 2*time.Minute, func() (bool, string) {
		l := holder.input("cam-whip").Live
		if l == nil {
			return false, "no live status"
		}
		return l.Connected && l.Protocol == "whip" && strings.HasSuffix(l.Publisher, "via node "+other.id) && l.Video == "H264" && l.Audio == "OPUS" && l.BitrateIn > 0,
			fmt.Sprintf("%+v", *l)
	})
	holder.waitOnAir("ch-whip", "cam-whip")
	other.waitAdvancing("ch-whip")

	refused := func(n *clusterNode, input string, want int) {
		t.Helper()
		_, err := rtcpeer.Publish(ctx, http.DefaultClient, n.url("/ingest/whip/"+input), n.input(input).StreamKey, m)
		var st *rtcpeer.Status
		if !errors.As(err, &st) || st.Code != want {
			t.Errorf("a second publisher of %s on %s: %v, want %d", input, n.id, err, want)
		}
	}
	refused(holder, "cam-whip", http.StatusConflict)
	refused(other, "cam-whip", http.StatusConflict)

	// An input no channel uses is relayed nowhere: the record of its
	// publisher alone keeps a second one off the other node.
	spareKey := a.input("spare-whip").StreamKey
	first, err := rtcpeer.Publish(ctx, http.DefaultClient, a.url("/ingest/whip/spare-whip"), spareKey, m)
	if err != nil {
		t.Fatalf("WHIP publish of spare-whip to %s: %v", a.id, err)
	}
	refused(b, "spare-whip", http.StatusConflict)
	if err := first.Close(ctx); err != nil {
		t.Errorf("DELETE of the first spare-whip session: %v", err)
	}
	var second *rtcpeer.Publisher
	poll.Until(t, "spare-whip takes a publisher on "+b.id+" once the first left "+a.id, time.Minute, func() (bool, string) {
		p, err := rtcpeer.Publish(ctx, http.DefaultClient, b.url("/ingest/whip/spare-whip"), spareKey, m)
		if err != nil {
			return false, err.Error()
		}
		second = p
		return true, ""
	})
	_ = second.Close(ctx)
}
