package origin

import (
	"context"
	"fmt"
	"net/http"

	"github.com/sluice-video/sluice/internal/resource"
)

// request is an origin request resolved to its channel and endpoint.
type request struct {
	ch Channel
	ep resource.OutputGroup
	// channel is the channel's name as the path gives it; rendition is ""
	// for a file directly under the endpoint.
	channel, rendition, file string
}

// endpointHandler answers the requests of one endpoint type: manifest for
// the files directly under the endpoint, rendition for those under one of
// its renditions.
type endpointHandler struct {
	manifest  func(w http.ResponseWriter, r *http.Request, q request)
	rendition func(w http.ResponseWriter, r *http.Request, q request)
}

// endpointHandlers is the table from endpoint type to its handler, built
// once by New. Keys and time shifts cut across the types: the requests
// under an encrypted endpoint's keys/ are answered before the table is
// consulted, and DVR ranges by each handler through timeShift.
func (o *Origin) endpointHandlers() map[resource.OutputType]endpointHandler {
	return map[resource.OutputType]endpointHandler{
		resource.OutputHLS:    {manifest: o.hlsManifest, rendition: o.hlsRendition},
		resource.OutputLLHLS:  {manifest: o.lowLatencyHLSManifest, rendition: o.lowLatencyHLSRendition},
		resource.OutputHLSTS:  {manifest: o.transportStreamManifest, rendition: o.transportStreamRendition},
		resource.OutputDASH:   {manifest: o.dashManifest, rendition: o.dashRendition},
		resource.OutputLLDASH: {manifest: o.lowLatencyDASHManifest, rendition: o.lowLatencyMedia},
		resource.OutputWebRTC: {manifest: o.noFile, rendition: o.noFile},
	}
}

// handlerFor returns the handler of an endpoint type. A type the origin
// does not know (validation keeps them out) serves its media and no
// manifest.
func (o *Origin) handlerFor(t resource.OutputType) endpointHandler {
	if h, ok := o.handlers[t]; ok {
		return h
	}
	return endpointHandler{manifest: o.noManifest, rendition: o.dashRendition}
}

// serveManifest answers GET /live/{channel}/{endpoint}/{file}.
func (o *Origin) serveManifest(w http.ResponseWriter, r *http.Request) {
	q, ok := o.channelFor(w, r)
	if !ok {
		return
	}
	if q.ch.Starting {
		r = r.WithContext(context.WithValue(r.Context(), startingKey{}, true))
	}
	o.handlerFor(q.ep.Type).manifest(w, r, q)
}

// serveRendition answers GET /live/{channel}/{endpoint}/{rendition}/{file}:
// an encrypted endpoint's keys, media that has left the in-memory window
// for the DVR archive, and otherwise what the endpoint's type serves.
func (o *Origin) serveRendition(w http.ResponseWriter, r *http.Request) {
	q, ok := o.channelFor(w, r)
	if !ok {
		return
	}
	if q.ch.Starting {
		r = r.WithContext(context.WithValue(r.Context(), startingKey{}, true))
	}
	q.rendition = r.PathValue("rendition")
	if q.rendition == keysDir && q.ep.Encryption != nil {
		o.serveKey(w, r, q.channel, q.ep, q.file)
		return
	}
	if !resource.ValidName(q.rendition) {
		o.fail(w, r, http.StatusNotFound, "no such rendition")
		return
	}
	if o.archivedMedia(w, r, q.ch, q.ep, q.rendition, q.file) {
		return
	}
	o.handlerFor(q.ep.Type).rendition(w, r, q)
}

// channelFor resolves the channel and endpoint of a request, or answers 404.
func (o *Origin) channelFor(w http.ResponseWriter, r *http.Request) (request, bool) {
	name, ep := r.PathValue("channel"), r.PathValue("endpoint")
	if !resource.ValidName(name) || !resource.ValidName(ep) {
		o.fail(w, r, http.StatusNotFound, "no such channel or endpoint")
		return request{}, false
	}
	ch, ok := o.lookup(name)
	if !ok {
		o.fail(w, r, http.StatusNotFound, fmt.Sprintf("channel %q does not exist", name))
		return request{}, false
	}
	for _, out := range ch.Outputs {
		if out.Name == ep {
			if out.RequireSignedURLs && !o.signed(w, r) {
				return request{}, false
			}
			if ch.Timeline == nil {
				if ch.Starting {
					o.retryLater(w, r, fmt.Sprintf("channel %q is starting on this node", name))
					return request{}, false
				}
				o.fail(w, r, http.StatusNotFound, fmt.Sprintf("channel %q has not started yet", name))
				return request{}, false
			}
			return request{ch: ch, ep: out, channel: name, file: r.PathValue("file")}, true
		}
	}
	o.fail(w, r, http.StatusNotFound, fmt.Sprintf("channel %q has no endpoint %q", name, ep))
	return request{}, false
}

// noFile answers 404 for a file the endpoint does not have.
func (o *Origin) noFile(w http.ResponseWriter, r *http.Request, q request) {
	file := q.file
	if q.rendition != "" {
		file = q.rendition + "/" + file
	}
	o.fail(w, r, http.StatusNotFound, fmt.Sprintf("endpoint %q has no file %q", q.ep.Name, file))
}

// noManifest answers the manifest requests of an endpoint type without
// manifests: a time-shift query is still checked first, as for every type.
func (o *Origin) noManifest(w http.ResponseWriter, r *http.Request, q request) {
	if _, _, ok := o.manifestSnapshot(w, r, q); ok {
		o.noFile(w, r, q)
	}
}
