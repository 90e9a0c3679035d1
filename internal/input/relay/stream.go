// Package relay carries a push input's media from the node its publisher
// connected to, to the node that holds the channel the input feeds. The
// publisher's node records the publisher in the state database (Recorder)
// and serves the input's live hub as MPEG-TS over an internal HTTP stream
// signed with the cluster key (Stream); the holder, when its own hub has
// no publisher, finds where the input is published and pulls that stream
// into its hub (Puller), so its switcher sees a publisher as if it were
// connected there: fill, failover, status and bitrate behave alike.
package relay

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/sluice-video/sluice/internal/input/live"
	"github.com/sluice-video/sluice/internal/peer"
	"github.com/sluice-video/sluice/internal/problem"
)

// StreamPath is the route of the internal stream of an input's publisher,
// by input id.
const StreamPath = "GET /internal/v1/inputs/{id}/stream"

// Headers of the stream's answer: who publishes.
const (
	HeaderProtocol = "Sluice-Publisher-Protocol"
	HeaderRemote   = "Sluice-Publisher-Remote"
)

// Published finds the hub of an input, by id, whose publisher is
// connected to this node (not relayed from another).
type Published interface {
	Published(id string) (*live.Hub, bool)
}

// Stream answers StreamPath for other nodes of the cluster: the input's
// live hub as MPEG-TS, from the last key frame, for as long as the
// publisher stays.
type Stream struct {
	Key    *peer.Key
	Inputs Published
	Logger *slog.Logger
	// StartTimeout bounds the wait for the publisher's tracks (default 10 s).
	StartTimeout time.Duration
}

// subscriptionBuffer is how many frames may wait for the network before
// frames are dropped: about ten seconds of video and audio.
const subscriptionBuffer = 1024

func (s *Stream) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}

// ServeHTTP streams the input's media.
func (s *Stream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	node, err := s.Key.Verify(r)
	if err != nil {
		problem.Write(w, r, http.StatusForbidden, "only nodes of the cluster may read an input's stream: "+err.Error(), 0)
		return
	}
	id := r.PathValue("id")
	hub, ok := s.Inputs.Published(id)
	if !ok {
		problem.Write(w, r, http.StatusNotFound, fmt.Sprintf("input %s has no publisher connected to this node", id), 0)
		return
	}
	sub := hub.Subscribe(subscriptionBuffer)
	defer sub.Close()
	pub, _ := hub.Live()
	h := w.Header()
	h.Set("Content-Type", "video/mp2t")
	h.Set("Cache-Control", "no-store")
	h.Set(HeaderProtocol, pub.Protocol)
	h.Set(HeaderRemote, pub.Remote)
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	bw := bufio.NewWriterSize(w, 64<<10)
	start := s.StartTimeout
	if start <= 0 {
		start = 10 * time.Second
	}
	s.logger().Info(fmt.Sprintf("input %s: relaying its publisher to node %s", hub.Name(), node), "input", hub.Name(), "node", node, "publisher", pub.Remote)
	err = s.copy(r, sub, bw, rc, start)
	s.logger().Info(fmt.Sprintf("input %s: relay to node %s ended: %v", hub.Name(), node, err), "input", hub.Name(), "node", node, "dropped", sub.Dropped())
}

// errEnded, errTracksChanged and errNoStart end a stream; the puller
// connects again when the publisher is still there.
var (
	errEnded         = errors.New("the publisher left")
	errTracksChanged = errors.New("the publisher changed its tracks")
	errNoStart       = errors.New("the publisher sent no tracks in time")
)

// copy writes the subscription's frames until the publisher leaves, its
// tracks change, or the reader goes away.
func (s *Stream) copy(r *http.Request, sub *live.Subscription, bw *bufio.Writer, rc *http.ResponseController, start time.Duration) error {
	var ts *tsWriter
	var tracks []*live.Track
	timer := time.NewTimer(start)
	defer timer.Stop()
	for {
		var ev live.Event
		var ok bool
		select {
		case <-r.Context().Done():
			return r.Context().Err()
		case <-timer.C:
			if ts == nil {
				return errNoStart
			}
			continue
		case ev, ok = <-sub.Events():
		}
		if !ok {
			return errEnded
		}
		switch ev.Type {
		case live.EventStarted:
			if ts != nil {
				if sameTracks(tracks, ev.Tracks) {
					// A new picture size: its parameter sets travel in band.
					ts.retrack(ev.Tracks)
					tracks = ev.Tracks
					continue
				}
				return errTracksChanged
			}
			var err error
			if ts, err = newTSWriter(bw, ev.Tracks); err != nil {
				return err
			}
			tracks = ev.Tracks
		case live.EventFrame:
			if ts == nil {
				continue
			}
			if err := ts.write(ev.Frame); err != nil {
				return err
			}
			if len(sub.Events()) == 0 {
				// Caught up: send what is buffered now.
				if err := bw.Flush(); err != nil {
					return err
				}
				if err := rc.Flush(); err != nil {
					return err
				}
			}
		case live.EventEnded:
			_ = bw.Flush()
			return errEnded
		}
	}
}

// sameTracks reports whether a repeated start announces the tracks the
// stream already carries.
func sameTracks(a, b []*live.Track) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.Kind != y.Kind || x.Codec != y.Codec || x.SampleRate != y.SampleRate || x.Channels != y.Channels || !bytes.Equal(x.AACConfig, y.AACConfig) {
			return false
		}
	}
	return true
}
