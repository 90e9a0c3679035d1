package origin

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/sluice-video/sluice/internal/packager/hls"
)

// lowLatencyHLSRendition answers an LL-HLS endpoint's media playlists
// (time-shifted from the DVR archive, else blocking on the delivery
// directives), its parts and its segments, both streamed while written.
func (o *Origin) lowLatencyHLSRendition(w http.ResponseWriter, r *http.Request, q request) {
	if audio, ok := q.ch.Timeline.AudioRendition(); ok && audio != q.rendition {
		if q.file == hls.MuxedPlaylist {
			o.serveMuxedPlaylist(w, r, q, audio)
			return
		}
		if own, ok := hls.MuxedURIs(q.file); ok {
			o.serveMuxedMedia(w, r, q, audio, own)
			return
		}
	}
	if q.file == "index.m3u8" {
		archived, ok := o.timeShift(w, r, q.ch, q.ep)
		switch {
		case !ok:
		case archived != nil:
			o.mediaPlaylist(w, r, q, archived)
		default:
			o.serveLowLatencyPlaylist(w, r, q.ch, q.ep, q.rendition)
		}
		return
	}
	m := partPattern.FindStringSubmatch(q.file)
	if m == nil {
		o.lowLatencyMedia(w, r, q)
		return
	}
	n, err1 := strconv.ParseUint(m[1], 10, 64)
	p, err2 := strconv.Atoi(m[2])
	if err1 != nil || err2 != nil {
		o.fail(w, r, http.StatusNotFound, fmt.Sprintf("part %s of rendition %q is not in the window", q.file, q.rendition))
		return
	}
	o.servePart(w, r, q.ch.Timeline, q.rendition, n, p)
}

// lowLatencyMedia answers the segments of a low-latency endpoint, streamed
// while they are written, and its init segments: all an LL-DASH endpoint
// serves under a rendition.
func (o *Origin) lowLatencyMedia(w http.ResponseWriter, r *http.Request, q request) {
	m := segmentPattern.FindStringSubmatch(q.file)
	if m == nil {
		o.serveInit(w, r, q)
		return
	}
	n, err := strconv.ParseUint(m[1], 10, 64)
	if err != nil {
		o.fail(w, r, http.StatusNotFound, fmt.Sprintf("segment %s of rendition %q is not in the window", m[1], q.rendition))
		return
	}
	o.serveGrowingSegment(w, r, q.ch.Timeline, q.rendition, n)
}
