package redundancy

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/peer"
	"github.com/sluice-video/sluice/internal/testutil/poll"
)

var clusterKey = []byte("the cluster key of the test nodes")

// peerNode is another node of the cluster: it runs pipelines and serves
// their feeds.
type peerNode struct {
	srv      *httptest.Server
	requests atomic.Int64
}

func newPeerNode(t *testing.T, lookup LookupFunc) *peerNode {
	t.Helper()
	n := &peerNode{}
	mux := http.NewServeMux()
	h := FeedHandler(lookup, peer.NewKey(clusterKey, nil), nil)
	mux.Handle(FeedPath, h)
	n.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.requests.Add(1)
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(n.srv.Close)
	return n
}

func TestRemotePipelineIsMergedAndSurvivesAReconnection(t *testing.T) {
	t.Parallel()
	enc := twoEncodings(t)
	b := newPipeline(t, enc[1], epoch)
	node := newPeerNode(t, func(channelID string, index int) (Pipeline, bool) {
		if channelID != "ch-1" || index != 1 {
			return Pipeline{}, false
		}
		return Pipeline{Timeline: b.tl, InputLive: b.inputLive}, true
	})
	m, sw := newMerged(t, Config{ChannelID: "ch-1", Self: "node-a", Key: peer.NewKey(clusterKey, nil)})
	m.SetRemote(1, node.srv.URL)
	watch := watchPlaylists(t, m.Timeline(), 3*time.Second)

	b.until(3500 * time.Millisecond)
	b.untilSegments(3)
	untilMerged(t, m, lastNumber(b.tl))
	poll.Until(t, "parts of the segment in progress, over the feed", 30*time.Second, func() (bool, string) {
		n, parts := edgeParts(m)
		return parts >= 2, fmt.Sprintf("segment %d with %d parts", n, parts)
	})

	// The connection breaks; the follower reads the feed again from
	// where it left off.
	node.srv.CloseClientConnections()
	b.until(6 * time.Second)
	poll.UntilTrue(t, "a second request for the feed", 30*time.Second, func() bool { return node.requests.Load() >= 2 })
	b.until(time.Hour)
	b.stop()
	untilMerged(t, m, lastNumber(b.tl))
	watch.check(t)

	segs := complete(m)
	withParts := 0
	for i, s := range segs {
		if i > 0 && s.Number != segs[i-1].Number+1 {
			t.Fatalf("segment %d follows segment %d", s.Number, segs[i-1].Number)
		}
		for _, id := range []string{"360p", "audio"} {
			got, _ := m.Timeline().Segment(id, s.Number)
			want, ok := b.tl.Segment(id, s.Number)
			if !ok || !bytes.Equal(got.Data, want.Data) {
				t.Errorf("%s segment %d is not the peer's", id, s.Number)
			}
			if len(got.Parts) > 0 {
				withParts++
			}
		}
	}
	if withParts == 0 {
		t.Error("no merged segment kept the parts the feed carried")
	}
	checkParts(t, m)
	if got := sw.all(); len(got) != 0 {
		t.Errorf("switch events with one pipeline: %+v", got)
	}

	// Detaching stops the follower: no more requests reach the node.
	m.SetRemote(1, "")
	before := node.requests.Load()
	time.Sleep(3 * m.cfg.MinBackoff)
	if after := node.requests.Load(); after != before {
		t.Errorf("%d requests for the feed after the pipeline was detached", after-before)
	}
}

func TestFeedIsForNodesOfTheClusterOnly(t *testing.T) {
	t.Parallel()
	enc := twoEncodings(t)
	b := newPipeline(t, enc[1], epoch)
	lookup := func(channelID string, index int) (Pipeline, bool) {
		return Pipeline{Timeline: b.tl}, channelID == "ch-1" && index == 0
	}
	node := newPeerNode(t, lookup)
	get := func(t *testing.T, srv *httptest.Server, path string, key *peer.Key) (int, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if key != nil {
			key.Sign(req, "node-a")
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = resp.Body.Close() }()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return resp.StatusCode, string(body)
	}
	key := peer.NewKey(clusterKey, nil)
	for _, tc := range []struct {
		name   string
		path   string
		key    *peer.Key
		status int
		says   string
	}{
		{"unsigned", "/internal/v1/channels/ch-1/pipelines/0/feed", nil, http.StatusForbidden, "only nodes of the cluster may read a pipeline's feed: not a cluster-internal request"},
		{"another cluster's key", "/internal/v1/channels/ch-1/pipelines/0/feed", peer.NewKey([]byte("another cluster's key, 32 bytes!"), nil), http.StatusForbidden, "the cluster signature does not verify"},
		{"another channel", "/internal/v1/channels/ch-2/pipelines/0/feed", key, http.StatusNotFound, "channel ch-2 runs no pipeline 0 on this node"},
		{"a third pipeline", "/internal/v1/channels/ch-1/pipelines/2/feed", key, http.StatusNotFound, "pipelines are 0 and 1"},
		{"a bad position", "/internal/v1/channels/ch-1/pipelines/0/feed?from=x", key, http.StatusBadRequest, "is not a segment number"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := get(t, node.srv, tc.path, tc.key)
			if status != tc.status || !strings.Contains(body, tc.says) {
				t.Errorf("%d %s; want %d saying %q", status, body, tc.status, tc.says)
			}
		})
	}

	// A node that runs no STANDARD pipeline yet, and a server outside a
	// cluster.
	for _, tc := range []struct {
		name   string
		h      *FeedServer
		status int
		says   string
	}{
		{"no pipelines", FeedHandler(nil, key, nil), http.StatusNotFound, "runs no pipeline"},
		{"no cluster", FeedHandler(lookup, nil, nil), http.StatusForbidden, "this server is not part of one"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mux := http.NewServeMux()
			mux.Handle(FeedPath, tc.h)
			srv := httptest.NewServer(mux)
			defer srv.Close()
			status, body := get(t, srv, "/internal/v1/channels/ch-1/pipelines/0/feed", key)
			if status != tc.status || !strings.Contains(body, tc.says) {
				t.Errorf("%d %s; want %d saying %q", status, body, tc.status, tc.says)
			}
		})
	}

	// A follower with the wrong key says why in its log and merges nothing.
	m, _ := newMerged(t, Config{ChannelID: "ch-1", Self: "node-a", Key: peer.NewKey([]byte("another cluster's key, 32 bytes!"), nil)})
	before := node.requests.Load()
	m.SetRemote(0, node.srv.URL)
	b.until(2500 * time.Millisecond)
	poll.UntilTrue(t, "two refused requests", 30*time.Second, func() bool { return node.requests.Load() >= before+2 })
	if segs := complete(m); len(segs) != 0 {
		t.Errorf("%d segments merged from a refused feed", len(segs))
	}
}
