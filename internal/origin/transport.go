package origin

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/sluice-video/sluice/internal/packager/cmaf"
	"github.com/sluice-video/sluice/internal/packager/hls"
	"github.com/sluice-video/sluice/internal/packager/ts"
)

// tsPattern names an HLS_TS segment.
var tsPattern = regexp.MustCompile(`^([0-9]{1,19})\.ts$`)

// transportStreamManifest answers an HLS_TS endpoint's multivariant
// playlist.
func (o *Origin) transportStreamManifest(w http.ResponseWriter, r *http.Request, q request) {
	o.multivariant(w, r, q, hls.TransportStreamMultivariant)
}

// transportStreamRendition answers the media playlists and segments of an
// HLS_TS endpoint. The segments of a video rendition carry the channel's
// first audio rendition.
func (o *Origin) transportStreamRendition(w http.ResponseWriter, r *http.Request, q request) {
	tl, ep, rendition := q.ch.Timeline, q.ep, q.rendition
	if q.file == "index.m3u8" {
		snap, ok := o.shifted(w, r, tl.Snapshot(ep.Window()), ep)
		if !ok {
			return
		}
		if rd := findVideo(snap, rendition); rd == nil {
			o.fail(w, r, http.StatusNotFound, "no such video rendition")
			return
		}
		body, err := hls.MediaWith(snap, rendition, hls.Options{TransportStream: true, Encryption: encryption(ep, r)})
		o.writeManifest(w, r, snap, mpegURL, body, err)
		return
	}
	m := tsPattern.FindStringSubmatch(q.file)
	if m == nil {
		o.noFile(w, r, q)
		return
	}
	n, err := strconv.ParseUint(m[1], 10, 64)
	seg, ok := tl.Segment(rendition, n)
	notHere := fmt.Sprintf("segment %s of rendition %q is not in the window", m[1], rendition)
	if err != nil || !ok {
		o.fail(w, r, http.StatusNotFound, notHere)
		return
	}
	channel := q.channel
	key := channel + "/" + rendition + "/" + strconv.FormatUint(seg.Run, 10) + "/" + m[1] + "/" + seg.ETag
	// A segment already remuxed is answered without a snapshot of the
	// timeline; the first request checks the rendition and finds the audio.
	data, err := o.ts.get(key, func() ([]byte, error) {
		snap := tl.Snapshot(0)
		if findVideo(snap, rendition) == nil {
			return nil, errNotVideo
		}
		init, _ := tl.Init(rendition, seg.Run)
		video := ts.Segment{Init: init, Data: seg.Data}
		var audio *ts.Segment
		if a := firstAudio(snap); a != "" {
			if as, ok := tl.Segment(a, n); ok {
				ai, _ := tl.Init(a, as.Run)
				audio = &ts.Segment{Init: ai, Data: as.Data}
			}
		}
		return ts.Remux(video, audio)
	})
	switch {
	case errors.Is(err, errNotVideo):
		o.fail(w, r, http.StatusNotFound, notHere)
		return
	case err != nil:
		o.logger.Error("remuxing a segment to MPEG-TS failed", "channel", channel, "rendition", rendition, "segment", n, "error", err)
		o.fail(w, r, http.StatusInternalServerError, "the segment could not be remuxed to MPEG-TS")
		return
	}
	// The remux is a function of the CMAF segment, so its ETag follows the
	// segment's rather than hashing the remuxed bytes on every request.
	etag := `"ts-` + strings.Trim(seg.ETag, `"`) + `"`
	if ep.Encryption != nil {
		data = o.encrypted(channel, ep, n, key, data)
	}
	o.writeMediaValues(w, r, data, etag, o.hdr.ts)
}

// errNotVideo refuses an MPEG-TS segment of a rendition that is not video.
var errNotVideo = errors.New("MPEG-TS segments are made for video renditions only")

func findVideo(s *cmaf.Snapshot, id string) *cmaf.Rendition {
	for i := range s.Renditions {
		if s.Renditions[i].ID == id && s.Renditions[i].Kind == cmaf.Video {
			return &s.Renditions[i]
		}
	}
	return nil
}

func firstAudio(s *cmaf.Snapshot) string {
	for _, r := range s.Renditions {
		if r.Kind == cmaf.Audio {
			return r.ID
		}
	}
	return ""
}
