package origin

import (
	"fmt"
	"net/http"

	"github.com/sluice-video/sluice/internal/resource"
)

// WHEP answers the WebRTC playback requests of WEBRTC endpoints once the
// origin has admitted them; *whep.Server satisfies it.
type WHEP interface {
	Offer(w http.ResponseWriter, r *http.Request, channel, endpoint string)
	Patch(w http.ResponseWriter, r *http.Request, channel, endpoint, session string)
	Delete(w http.ResponseWriter, r *http.Request, channel, endpoint, session string)
	Options(w http.ResponseWriter, r *http.Request)
}

// WithWHEP serves WEBRTC endpoints' WHEP resources with h.
func (o *Origin) WithWHEP(h WHEP) *Origin {
	o.whep = h
	return o
}

// registerWHEP adds the WHEP routes: the endpoint (POST an offer) and its
// sessions (PATCH candidates, DELETE), with their CORS preflights.
func (o *Origin) registerWHEP(mux *http.ServeMux) {
	mux.HandleFunc("POST /live/{channel}/{endpoint}/whep", o.whepOffer)
	mux.HandleFunc("OPTIONS /live/{channel}/{endpoint}/whep", o.whepOptions)
	mux.HandleFunc("PATCH /live/{channel}/{endpoint}/whep/{session}", o.whepSession)
	mux.HandleFunc("DELETE /live/{channel}/{endpoint}/whep/{session}", o.whepSession)
	mux.HandleFunc("OPTIONS /live/{channel}/{endpoint}/whep/{session}", o.whepOptions)
}

// whepOffer admits a viewer exactly as a manifest request is admitted
// (the channel, the endpoint, its signature, with the policy's network)
// before any WebRTC work, then hands the offer to the WHEP server.
func (o *Origin) whepOffer(w http.ResponseWriter, r *http.Request) {
	q, ok := o.webrtcEndpoint(w, r)
	if !ok {
		return
	}
	o.whep.Offer(w, r, q.channel, q.ep.Name)
}

// whepSession answers PATCH and DELETE of a session. The session's URL,
// returned only to the viewer admitted to create it, is the credential:
// a viewer whose signed URL expires can still end its session.
func (o *Origin) whepSession(w http.ResponseWriter, r *http.Request) {
	name, ep, id := r.PathValue("channel"), r.PathValue("endpoint"), r.PathValue("session")
	if o.whep == nil || !resource.ValidName(name) || !resource.ValidName(ep) || len(id) != 32 {
		o.fail(w, r, http.StatusNotFound, "no such session")
		return
	}
	if r.Method == http.MethodDelete {
		o.whep.Delete(w, r, name, ep, id)
		return
	}
	o.whep.Patch(w, r, name, ep, id)
}

func (o *Origin) whepOptions(w http.ResponseWriter, r *http.Request) {
	if o.whep == nil {
		o.preflight(w, r)
		return
	}
	o.whep.Options(w, r)
}

// webrtcEndpoint resolves a WHEP request to a WEBRTC endpoint, with the
// origin's checks, or answers.
func (o *Origin) webrtcEndpoint(w http.ResponseWriter, r *http.Request) (request, bool) {
	q, ok := o.channelFor(w, r)
	if !ok {
		return request{}, false
	}
	if q.ep.Type != resource.OutputWebRTC || o.whep == nil {
		o.fail(w, r, http.StatusNotFound, fmt.Sprintf("endpoint %q is not a WEBRTC endpoint", q.ep.Name))
		return request{}, false
	}
	return q, true
}
