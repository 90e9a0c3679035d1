package origin

import (
	"net/http"

	"github.com/sluice-video/sluice/internal/packager/cmaf"
	"github.com/sluice-video/sluice/internal/packager/hls"
)

// mpegURL is the Content-Type of HLS playlists.
const mpegURL = "application/vnd.apple.mpegurl"

// hlsManifest answers the multivariant playlist of HLS and LL-HLS
// endpoints.
func (o *Origin) hlsManifest(w http.ResponseWriter, r *http.Request, q request) {
	o.multivariant(w, r, q, hls.Multivariant)
}

// multivariant answers index.m3u8 of an endpoint of the HLS family, made
// by render: rendered once per timeline change when the request has no
// query, else for the time-shifted range it asks for, with the query passed
// on to the media playlists.
func (o *Origin) multivariant(w http.ResponseWriter, r *http.Request, q request, render func(*cmaf.Snapshot) []byte) {
	if q.file == "index.m3u8" && r.URL.RawQuery == "" {
		o.serveRendered(w, r, q.ch.Timeline, q.ep, q.file, mpegURL, func(snap *cmaf.Snapshot) ([]byte, error) {
			if noSegments(snap) {
				return nil, hls.ErrNoSegments
			}
			return render(snap), nil
		})
		return
	}
	snap, _, ok := o.manifestSnapshot(w, r, q)
	if !ok {
		return
	}
	if q.file != "index.m3u8" {
		o.noFile(w, r, q)
		return
	}
	if noSegments(snap) {
		o.writeManifest(w, r, snap, mpegURL, nil, hls.ErrNoSegments)
		return
	}
	o.writeManifest(w, r, snap, mpegURL, passQuery(render(snap), r), nil)
}

// noSegments reports whether a snapshot has nothing to list yet.
func noSegments(snap *cmaf.Snapshot) bool {
	return len(snap.Renditions) == 0 || len(snap.Renditions[0].Segments) == 0
}

// hlsRendition answers an HLS endpoint's media playlists (time-shifted
// from the DVR archive; rendered once per timeline change when the request
// has no query; else clipped to the range it asks for) and its segments,
// sealed when the endpoint is encrypted.
func (o *Origin) hlsRendition(w http.ResponseWriter, r *http.Request, q request) {
	if q.file != "index.m3u8" {
		o.serveMedia(w, r, q, q.ep.Encryption != nil)
		return
	}
	archived, ok := o.timeShift(w, r, q.ch, q.ep)
	switch {
	case !ok:
	case archived != nil:
		o.mediaPlaylist(w, r, q, archived)
	case r.URL.RawQuery == "":
		o.serveRendered(w, r, q.ch.Timeline, q.ep, q.rendition+"/"+q.file, mpegURL, func(snap *cmaf.Snapshot) ([]byte, error) {
			return hls.MediaWith(snap, q.rendition, hls.Options{Encryption: encryption(q.ep, r)})
		})
	default:
		if snap, ok := o.shifted(w, r, q.ch.Timeline.Snapshot(q.ep.Window()), q.ep); ok {
			o.mediaPlaylist(w, r, q, snap)
		}
	}
}

// mediaPlaylist answers the media playlist of the request's rendition in
// snap.
func (o *Origin) mediaPlaylist(w http.ResponseWriter, r *http.Request, q request, snap *cmaf.Snapshot) {
	body, err := hls.MediaWith(snap, q.rendition, hls.Options{Encryption: encryption(q.ep, r)})
	o.writeManifest(w, r, snap, mpegURL, body, err)
}
