package redundancy

import (
	"bufio"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/sluice-video/sluice/internal/packager/cmaf"
	"github.com/sluice-video/sluice/internal/peer"
	"github.com/sluice-video/sluice/internal/problem"
)

// FeedPath is the route of a pipeline's feed, by channel id and pipeline
// index. The query's from asks for the complete segments from that number
// on (default: all in memory).
const FeedPath = "GET /internal/v1/channels/{id}/pipelines/{index}/feed"

// FeedContentType is the Content-Type of a feed.
const FeedContentType = "application/vnd.sluice.pipeline-feed"

// Pipeline is a pipeline this node runs, as its feed reads it.
type Pipeline struct {
	Timeline *cmaf.Timeline
	// InputLive says whether the pipeline's input is live (not on fill);
	// nil: always.
	InputLive func() bool
}

// LookupFunc finds a pipeline this node runs, by channel id and index.
type LookupFunc func(channelID string, index int) (Pipeline, bool)

// FeedServer answers FeedPath for the other nodes of the cluster: a
// pipeline's timeline as it grows, for as long as the reader stays.
type FeedServer struct {
	lookup LookupFunc
	key    *peer.Key
	logger *slog.Logger
	// KeepAlive is how often a quiet feed sends a keep-alive (default 1 s).
	KeepAlive time.Duration
	// WriteTimeout ends a feed whose reader takes no bytes for this long
	// (default 10 s).
	WriteTimeout time.Duration
}

// FeedHandler returns the handler of FeedPath: pipelines found by lookup
// (nil: none, every request is answered 404), for requests signed with
// key (nil: a node outside a cluster, every request is refused).
func FeedHandler(lookup LookupFunc, key *peer.Key, logger *slog.Logger) *FeedServer {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &FeedServer{lookup: lookup, key: key, logger: logger, KeepAlive: time.Second, WriteTimeout: 10 * time.Second}
}

// feedBuffer is how many bytes of a feed wait for the network before a
// write blocks (and, past WriteTimeout, ends the feed).
const feedBuffer = 256 << 10

// ServeHTTP streams a pipeline's feed.
func (f *FeedServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f.key == nil {
		problem.Write(w, r, http.StatusForbidden, "only nodes of a cluster may read a pipeline's feed, and this server is not part of one", 0)
		return
	}
	node, err := f.key.Verify(r)
	if err != nil {
		problem.Write(w, r, http.StatusForbidden, "only nodes of the cluster may read a pipeline's feed: "+err.Error(), 0)
		return
	}
	id := r.PathValue("id")
	index, err := strconv.Atoi(r.PathValue("index"))
	if err != nil || index < 0 || index >= Pipelines {
		problem.Write(w, r, http.StatusNotFound, fmt.Sprintf("no pipeline %q: pipelines are 0 and 1", r.PathValue("index")), 0)
		return
	}
	var from uint64
	if q := r.URL.Query().Get("from"); q != "" {
		if from, err = strconv.ParseUint(q, 10, 64); err != nil {
			problem.Write(w, r, http.StatusBadRequest, fmt.Sprintf("from=%q is not a segment number", q), 0)
			return
		}
	}
	var p Pipeline
	ok := false
	if f.lookup != nil {
		p, ok = f.lookup(id, index)
	}
	if !ok || p.Timeline == nil {
		problem.Write(w, r, http.StatusNotFound, fmt.Sprintf("channel %s runs no pipeline %d on this node", id, index), 0)
		return
	}
	live := p.InputLive
	if live == nil {
		live = func() bool { return true }
	}
	h := w.Header()
	h.Set("Content-Type", FeedContentType)
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	bw := bufio.NewWriterSize(w, feedBuffer)
	tl := p.Timeline
	emit := func(m message) error {
		_ = rc.SetWriteDeadline(time.Now().Add(f.WriteTimeout))
		return writeFrame(bw, m)
	}
	flush := func() error {
		_ = rc.SetWriteDeadline(time.Now().Add(f.WriteTimeout))
		if err := bw.Flush(); err != nil {
			return err
		}
		return rc.Flush()
	}
	ids := make([]string, 0, len(tl.Renditions()))
	for _, rd := range tl.Renditions() {
		ids = append(ids, rd.ID)
	}
	hi := &hello{Renditions: ids, SegmentDuration: tl.SegmentDuration(), PartDuration: tl.PartDuration(), AvailabilityStart: tl.AvailabilityStart()}
	if err := emit(message{kind: kindHello, hello: hi}); err != nil {
		return
	}
	f.logger.Info(fmt.Sprintf("channel %s: node %s follows pipeline %d from segment %d", id, node, index, from), "channel", id, "node", node, "pipeline", index)
	// The feed lasts while the pipeline runs this timeline: once it is
	// gone, or replaced (new settings, a new runtime), or ended, the
	// feed ends, and the follower reads the one the node runs now.
	current := func() error {
		q, ok := f.lookup(id, index)
		switch {
		case !ok || q.Timeline == nil:
			return fmt.Errorf("channel %s runs no pipeline %d on this node any more", id, index)
		case q.Timeline != tl:
			return fmt.Errorf("pipeline %d of channel %s runs a new timeline", index, id)
		}
		return nil
	}
	t := newTap(tl, live, from)
	t.current = current
	err = t.follow(r.Context(), emit, flush, f.KeepAlive)
	f.logger.Info(fmt.Sprintf("channel %s: the feed of pipeline %d to node %s ended: %v", id, index, node, err), "channel", id, "node", node, "pipeline", index)
}
