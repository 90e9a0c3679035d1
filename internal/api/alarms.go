package api

import (
	"net/http"

	"github.com/sluice-video/sluice/internal/auth"
	"github.com/sluice-video/sluice/internal/resource"
)

func (a *API) alarmHistory(w http.ResponseWriter, r *http.Request) {
	var errs resource.FieldErrors
	limit := limitOf(r, &errs)
	if errs.Err() != nil {
		a.fail(w, r, errs)
		return
	}
	h, err := a.m.AlarmHistory(r.Context(), r.PathValue("ref"), limit)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.reply(w, r, http.StatusOK, h)
}

// actor is who the caller is, as an alarm's history records it: the
// user of a login, the name of a token.
func actor(r *http.Request) string {
	p, _ := auth.PrincipalFrom(r.Context())
	return p.Actor()
}

// silenceAlarm answers POST /api/v1/alarms/{ref}/silence.
func (a *API) silenceAlarm(w http.ResponseWriter, r *http.Request) {
	var req resource.SilenceRequest
	if err := decode(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	al, err := a.m.SilenceAlarm(r.Context(), r.PathValue("ref"), actor(r), req)
	answer(a, w, r, http.StatusOK, al, err)
}

// unsilenceAlarm answers DELETE /api/v1/alarms/{ref}/silence; its body,
// with a comment, is optional.
func (a *API) unsilenceAlarm(w http.ResponseWriter, r *http.Request) {
	var req resource.UnsilenceRequest
	if err := decodeOptional(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	al, err := a.m.UnsilenceAlarm(r.Context(), r.PathValue("ref"), actor(r), req)
	answer(a, w, r, http.StatusOK, al, err)
}

// acknowledgeAlarm answers POST /api/v1/alarms/{ref}/acknowledge; its
// body, with a comment, is optional.
func (a *API) acknowledgeAlarm(w http.ResponseWriter, r *http.Request) {
	var req resource.AcknowledgeRequest
	if err := decodeOptional(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	al, err := a.m.AcknowledgeAlarm(r.Context(), r.PathValue("ref"), actor(r), req)
	answer(a, w, r, http.StatusOK, al, err)
}
