package api

import (
	"net/http"

	"github.com/sluice-video/sluice/internal/whep"
)

// WebRTCSessions lists the live WebRTC viewers; *whep.Server satisfies it.
type WebRTCSessions interface {
	Sessions() []whep.Info
}

// webrtcSessions answers GET /api/v1/channels/{ref}/webrtc-sessions: each
// WebRTC viewer of the channel with its figures (what Prometheus has only
// per endpoint). A viewer's address is shown to callers who see secrets.
func (a *API) webrtcSessions(w http.ResponseWriter, r *http.Request) {
	ch, err := a.m.GetChannel(r.Context(), r.PathValue("ref"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := []whep.Info{}
	if a.cfg.WebRTC != nil {
		see := a.seesSecrets(r)
		for _, s := range a.cfg.WebRTC.Sessions() {
			if s.Channel != ch.Name {
				continue
			}
			if !see {
				s.Remote = ""
			}
			out = append(out, s)
		}
	}
	a.reply(w, r, http.StatusOK, out)
}
