package origin

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/sluice-video/sluice/internal/dvr"
	"github.com/sluice-video/sluice/internal/packager/cmaf"
	"github.com/sluice-video/sluice/internal/packager/hls"
)

// An LL-HLS endpoint serves each video rendition muxed with the audio
// (hls.MuxedMultivariant): R/av.m3u8 lists av-… media, the video's and the
// audio's fragments in one file, so a player loads one playlist and one
// part at a time. Time-shifted requests (?start=, ?end=) are answered from
// the DVR archive with the rendition's own playlists, as for HLS.

// lowLatencyHLSManifest answers the multivariant playlist of an LL-HLS
// endpoint: the muxed variants at the live edge, the renditions' own for a
// time-shifted range.
func (o *Origin) lowLatencyHLSManifest(w http.ResponseWriter, r *http.Request, q request) {
	if _, err := dvr.ParseQuery(r.URL.Query()); !errors.Is(err, dvr.ErrNoRange) {
		o.multivariant(w, r, q, hls.Multivariant)
		return
	}
	o.multivariant(w, r, q, hls.MuxedMultivariant)
}

// muxedEdge is the live edge of a video rendition's muxed playlist.
func muxedEdge(tl *cmaf.Timeline, video, audio string) edgePosition {
	return func() (uint64, int, bool, bool) { return tl.MuxedEdgePosition(video, audio) }
}

// serveMuxedPlaylist answers R/av.m3u8, holding it while the delivery
// directives ask for a muxed part that does not exist yet.
func (o *Origin) serveMuxedPlaylist(w http.ResponseWriter, r *http.Request, q request, audio string) {
	d, err := hls.ParseDirectives(r.URL.RawQuery)
	if err != nil {
		o.fail(w, r, http.StatusBadRequest, err.Error())
		return
	}
	tl := q.ch.Timeline
	held := false
	if d.HasMSN {
		var err error
		held, err = o.awaitPart(r.Context(), tl, muxedEdge(tl, q.rendition, audio), d, tl.SegmentDuration())
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
	snap := tl.Snapshot(q.ep.Window())
	body, err := hls.LowLatencyMedia(snap, q.rendition, hls.LowLatencyOptions{Skip: d.Skip, Audio: audio})
	o.writeManifest(w, r, snap, mpegURL, body, err)
	if held && err == nil {
		tl.Listed(q.rendition)
	}
}

// serveMuxedMedia answers the muxed media of a video rendition: own is the
// name of the rendition's own media the file stands for (init-<run>.mp4,
// <n>.m4s or <n>.<p>.m4s).
func (o *Origin) serveMuxedMedia(w http.ResponseWriter, r *http.Request, q request, audio, own string) {
	tl := q.ch.Timeline
	if m := partPattern.FindStringSubmatch(own); m != nil {
		n, err1 := strconv.ParseUint(m[1], 10, 64)
		p, err2 := strconv.Atoi(m[2])
		if err1 != nil || err2 != nil {
			o.fail(w, r, http.StatusNotFound, fmt.Sprintf("part %s of rendition %q is not in the window", q.file, q.rendition))
			return
		}
		o.streamGrowing(w, r, tl, q.rendition, muxedEdge(tl, q.rendition, audio),
			func() (cmaf.PartData, bool) { return tl.MuxedPart(q.rendition, audio, n, p) },
			partSoon(n, p), fmt.Sprintf("part %d of segment %d", p, n))
		return
	}
	if m := segmentPattern.FindStringSubmatch(own); m != nil {
		n, err := strconv.ParseUint(m[1], 10, 64)
		data, ok := tl.MuxedSegment(q.rendition, audio, n)
		if err != nil || !ok {
			o.fail(w, r, http.StatusNotFound, fmt.Sprintf("segment %s of rendition %q is not in the window", q.file, q.rendition))
			return
		}
		o.writeMedia(w, r, data, etagOf(data))
		return
	}
	if m := initPattern.FindStringSubmatch(own); m != nil {
		run, err := strconv.ParseUint(m[1], 10, 64)
		video, ok1 := tl.Init(q.rendition, run)
		sound, ok2 := tl.Init(audio, run)
		if err != nil || !ok1 || !ok2 {
			o.fail(w, r, http.StatusNotFound, fmt.Sprintf("init segment %s of rendition %q is not in the window", m[1], q.rendition))
			return
		}
		if tl.RunSilent(run) {
			o.writeMedia(w, r, video, etagOf(video)) // no audio in a run whose source has none
			return
		}
		data, err := cmaf.MuxInit(video, sound)
		if err != nil {
			o.logger.Error("muxing init segments", "rendition", q.rendition, "error", err)
			o.fail(w, r, http.StatusInternalServerError, "the muxed init segment could not be made")
			return
		}
		o.writeMedia(w, r, data, etagOf(data))
		return
	}
	o.noFile(w, r, q)
}
