package origin

import (
	"net/http"

	"github.com/sluice-video/sluice/internal/packager/dash"
)

// dashManifest answers a DASH endpoint's MPD.
func (o *Origin) dashManifest(w http.ResponseWriter, r *http.Request, q request) {
	o.mpd(w, r, q, false)
}

// lowLatencyDASHManifest answers an LL-DASH endpoint's MPD, which describes
// the chunked segments and the latency target unless it is time-shifted.
func (o *Origin) lowLatencyDASHManifest(w http.ResponseWriter, r *http.Request, q request) {
	o.mpd(w, r, q, true)
}

// mpd answers manifest.mpd for the time-shifted range the request asks
// for, or the in-memory window; a finished range is a static MPD.
func (o *Origin) mpd(w http.ResponseWriter, r *http.Request, q request, lowLatency bool) {
	snap, archived, ok := o.manifestSnapshot(w, r, q)
	if !ok {
		return
	}
	if q.file != "manifest.mpd" {
		o.noFile(w, r, q)
		return
	}
	published := snap.Updated
	if published.IsZero() {
		published = o.now()
	}
	opts := dash.Options{UTCTimingURL: timeURL(r), Now: published, Static: archived && snap.Ended}
	if lowLatency && !archived {
		opts.LowLatency = lowLatencyDASH(q.ch.Timeline, q.ep)
	}
	body, err := dash.MPD(snap, opts)
	o.writeManifest(w, r, snap, "application/dash+xml", body, err)
}

// dashRendition answers a DASH endpoint's segments and init segments.
func (o *Origin) dashRendition(w http.ResponseWriter, r *http.Request, q request) {
	o.serveMedia(w, r, q, false)
}
