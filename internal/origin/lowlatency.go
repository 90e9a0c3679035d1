package origin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"time"

	"github.com/sluice-video/sluice/internal/packager/cmaf"
	"github.com/sluice-video/sluice/internal/packager/dash"
	"github.com/sluice-video/sluice/internal/packager/hls"
	"github.com/sluice-video/sluice/internal/resource"
)

// partPattern names LL-HLS parts: <segment number>.<part index>.m4s.
var partPattern = regexp.MustCompile(`^([0-9]{1,19})\.([0-9]{1,6})\.m4s$`)

// advancePartLimit is how many parts beyond the live edge a blocking
// request may ask for before it is refused (RFC 8216bis, 6.2.5.2).
const advancePartLimit = 3

// holdTargets is how long, in target durations, a blocking request is held
// before the origin gives up with 503.
const holdTargets = 3

// errAhead and errHoldExpired end a blocking request.
var (
	errAhead       = errors.New("the request is too far ahead of the live edge")
	errHoldExpired = errors.New("the awaited part did not appear in time")
)

// lowLatencyDASH describes an LL_DASH endpoint to the MPD renderer.
func lowLatencyDASH(tl *cmaf.Timeline, ep resource.OutputGroup) *dash.LowLatency {
	seg := tl.SegmentDuration()
	return &dash.LowLatency{SegmentDuration: seg, ChunkDuration: tl.PartDuration(), TargetLatency: ep.TargetLatency(seg)}
}

// hold is how long blocking requests may wait.
func hold(segment time.Duration) time.Duration {
	return holdTargets * max(segment, time.Second)
}

// serveLowLatencyPlaylist answers an LL-HLS media playlist request, holding
// it while the delivery directives ask for a part that does not exist yet.
func (o *Origin) serveLowLatencyPlaylist(w http.ResponseWriter, r *http.Request, ch Channel, ep resource.OutputGroup, rendition string) {
	d, err := hls.ParseDirectives(r.URL.RawQuery)
	if err != nil {
		o.fail(w, r, http.StatusBadRequest, err.Error())
		return
	}
	window := ep.Window()
	held := false
	if d.HasMSN {
		var err error
		held, err = o.awaitPart(r.Context(), ch.Timeline, edgeOf(ch.Timeline, rendition), d, ch.Timeline.SegmentDuration())
		switch {
		case errors.Is(err, errAhead):
			o.fail(w, r, http.StatusBadRequest, fmt.Sprintf("_HLS_msn=%d&_HLS_part=%d: %v", d.MSN, d.Part, err))
			return
		case errors.Is(err, errHoldExpired):
			o.fail(w, r, http.StatusServiceUnavailable, err.Error())
			return
		case err != nil:
			return // the client went away
		}
	}
	snap := ch.Timeline.Snapshot(window)
	body, err := hls.LowLatencyMedia(snap, rendition, hls.LowLatencyOptions{Skip: d.Skip})
	o.writeManifest(w, r, snap, "application/vnd.apple.mpegurl", body, err)
	if held && err == nil {
		// A client waited for this part: how soon it got it is the
		// origin's share of the latency.
		ch.Timeline.Listed(rendition)
	}
}

// edgePosition says where a playlist's live edge is: the number of its
// newest segment, how many of its parts have ended, whether it is complete;
// ok is false before the first segment.
type edgePosition func() (number uint64, parts int, complete, ok bool)

// edgeOf is the live edge of a rendition's own playlist.
func edgeOf(tl *cmaf.Timeline, rendition string) edgePosition {
	return func() (uint64, int, bool, bool) { return tl.EdgePosition(rendition) }
}

// awaitPart waits until the playlist whose edge is at position holds
// segment d.MSN (and part d.Part of it when given), or later. held says
// whether it had to wait.
func (o *Origin) awaitPart(ctx context.Context, tl *cmaf.Timeline, position edgePosition, d hls.Directives, segment time.Duration) (held bool, err error) {
	perSegment := max(1, int(segment/max(tl.PartDuration(), time.Millisecond)))
	var timeout <-chan time.Time
	for {
		changed := tl.EdgeChanged()
		num, parts, complete, ok := position()
		if !ok {
			return held, nil // no segment yet: the playlist answers 404
		}
		if reached(d, num, parts, complete) {
			return held, nil
		}
		if ahead(d, num, parts, complete, perSegment) {
			return held, errAhead
		}
		if timeout == nil {
			timeout = o.after(hold(segment))
		}
		held = true
		select {
		case <-changed:
		case <-timeout:
			return held, errHoldExpired
		case <-ctx.Done():
			return held, ctx.Err()
		}
	}
}

// reached reports whether the edge (segment num with parts ended, complete
// or not) has got to what d asks for.
func reached(d hls.Directives, num uint64, parts int, complete bool) bool {
	switch {
	case d.MSN < num:
		return true
	case d.MSN > num:
		return false
	case complete:
		return true
	default:
		return d.HasPart && d.Part < parts
	}
}

// ahead reports whether d asks for more than two segments or the advance
// part limit beyond the edge.
func ahead(d hls.Directives, num uint64, parts int, complete bool, perSegment int) bool {
	if d.MSN > num+2 {
		return true
	}
	if !d.HasPart {
		return false
	}
	have := parts
	if complete {
		have = perSegment
	}
	distance := int(d.MSN-num)*perSegment + d.Part - have //nolint:gosec // d.MSN-num ≤ 2 here
	return distance >= advancePartLimit
}

// servePart answers a part request, streaming the part while it is written.
func (o *Origin) servePart(w http.ResponseWriter, r *http.Request, tl *cmaf.Timeline, rendition string, number uint64, p int) {
	o.streamGrowing(w, r, tl, rendition, edgeOf(tl, rendition), func() (cmaf.PartData, bool) { return tl.Part(rendition, number, p) },
		partSoon(number, p), fmt.Sprintf("part %d of segment %d", p, number))
}

// partSoon reports, for the live edge at segment num with parts ended,
// whether part p of segment number is close enough ahead to be awaited.
func partSoon(number uint64, p int) func(num uint64, parts int, complete bool) bool {
	return func(num uint64, parts int, complete bool) bool {
		switch {
		case complete:
			return number == num+1 && p < advancePartLimit
		case number == num:
			return p < parts+advancePartLimit
		default:
			return number == num+1 && p < advancePartLimit
		}
	}
}

// serveGrowingSegment answers a segment request of a low-latency endpoint,
// streaming the segment while it is written (LL-DASH chunked transfer).
func (o *Origin) serveGrowingSegment(w http.ResponseWriter, r *http.Request, tl *cmaf.Timeline, rendition string, number uint64) {
	o.streamGrowing(w, r, tl, rendition, edgeOf(tl, rendition), func() (cmaf.PartData, bool) { return tl.Growing(rendition, number) },
		func(num uint64, _ int, _ bool) bool { return number == num+1 },
		fmt.Sprintf("segment %d", number))
}

// streamGrowing serves media that may still be being written: complete
// media as an ordinary immutable response; media in progress with chunked
// transfer, each chunk sent as soon as the packager has it. Media that does
// not exist yet is awaited (bounded) when soon reports it is next at the
// live edge, and is otherwise 404.
func (o *Origin) streamGrowing(w http.ResponseWriter, r *http.Request, tl *cmaf.Timeline, rendition string, position edgePosition,
	get func() (cmaf.PartData, bool), soon func(num uint64, parts int, complete bool) bool, what string) {
	var timeout <-chan time.Time
	var data cmaf.PartData
	for {
		changed := tl.EdgeChanged()
		var ok bool
		if data, ok = get(); ok {
			break
		}
		num, parts, complete, found := position()
		if !found || !soon(num, parts, complete) {
			o.fail(w, r, http.StatusNotFound, fmt.Sprintf("%s of rendition %q is not in the window", what, rendition))
			return
		}
		if timeout == nil {
			timeout = o.after(hold(tl.SegmentDuration()))
		}
		select {
		case <-changed:
		case <-timeout:
			o.fail(w, r, http.StatusServiceUnavailable, fmt.Sprintf("%s of rendition %q did not appear in time", what, rendition))
			return
		case <-r.Context().Done():
			return
		}
	}
	if data.Complete {
		etag := data.ETag
		if etag == "" {
			etag = etagOf(data.Data) // a part of the segment still being written
		}
		o.writeMedia(w, r, data.Data, etag)
		return
	}
	h := w.Header()
	o.hdr.cors(h)
	h["Content-Type"] = o.hdr.mp4
	h["Cache-Control"] = o.hdr.immutable
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	rc := http.NewResponseController(w)
	sent := 0
	for {
		if len(data.Data) > sent {
			if _, err := w.Write(data.Data[sent:]); err != nil {
				return
			}
			sent = len(data.Data)
			if err := rc.Flush(); err != nil {
				return
			}
		}
		if data.Complete {
			return
		}
		changed := tl.EdgeChanged()
		next, ok := get()
		if !ok || len(next.Data) < sent || next.Source != data.Source {
			// The run ended under us, or the timeline took this number
			// from another pipeline: cut the response so the client knows
			// it is incomplete.
			o.logger.Warn("media being streamed disappeared", "rendition", rendition, "what", what)
			panic(http.ErrAbortHandler)
		}
		if len(next.Data) > sent || next.Complete {
			data = next
			continue
		}
		select {
		case <-changed:
		case <-r.Context().Done():
			return
		}
	}
}
