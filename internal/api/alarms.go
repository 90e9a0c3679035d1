package api

import (
	"net/http"

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
