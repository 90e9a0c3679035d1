package api

import (
	"net/http"

	"github.com/sluice-video/sluice/internal/resource"
)

func (a *API) listAlarms(w http.ResponseWriter, r *http.Request) {
	as, err := a.m.ListAlarms(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.reply(w, r, http.StatusOK, as)
}

func (a *API) createAlarm(w http.ResponseWriter, r *http.Request) {
	var spec resource.AlarmSpec
	if err := decode(r, &spec); err != nil {
		a.fail(w, r, err)
		return
	}
	al, err := a.m.CreateAlarm(r.Context(), "", spec)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/alarms/"+al.ID)
	a.reply(w, r, http.StatusCreated, al)
}

func (a *API) getAlarm(w http.ResponseWriter, r *http.Request) {
	al, err := a.m.GetAlarm(r.Context(), r.PathValue("ref"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.reply(w, r, http.StatusOK, al)
}

func (a *API) updateAlarm(w http.ResponseWriter, r *http.Request) {
	var spec resource.AlarmSpec
	if err := decode(r, &spec); err != nil {
		a.fail(w, r, err)
		return
	}
	cur, err := a.m.GetAlarm(r.Context(), r.PathValue("ref"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	al, err := a.m.UpdateAlarm(r.Context(), cur.ID, cur.Stack, spec)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.reply(w, r, http.StatusOK, al)
}

func (a *API) deleteAlarm(w http.ResponseWriter, r *http.Request) {
	if err := a.m.DeleteAlarm(r.Context(), r.PathValue("ref")); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

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

func (a *API) listRules(w http.ResponseWriter, r *http.Request) {
	rs, err := a.m.ListRules(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.reply(w, r, http.StatusOK, rs)
}

func (a *API) createRule(w http.ResponseWriter, r *http.Request) {
	var spec resource.RuleSpec
	if err := decode(r, &spec); err != nil {
		a.fail(w, r, err)
		return
	}
	ru, err := a.m.CreateRule(r.Context(), "", spec)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/rules/"+ru.ID)
	a.reply(w, r, http.StatusCreated, ru)
}

func (a *API) getRule(w http.ResponseWriter, r *http.Request) {
	ru, err := a.m.GetRule(r.Context(), r.PathValue("ref"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.reply(w, r, http.StatusOK, ru)
}

func (a *API) updateRule(w http.ResponseWriter, r *http.Request) {
	var spec resource.RuleSpec
	if err := decode(r, &spec); err != nil {
		a.fail(w, r, err)
		return
	}
	cur, err := a.m.GetRule(r.Context(), r.PathValue("ref"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	ru, err := a.m.UpdateRule(r.Context(), cur.ID, cur.Stack, spec)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.reply(w, r, http.StatusOK, ru)
}

func (a *API) deleteRule(w http.ResponseWriter, r *http.Request) {
	if err := a.m.DeleteRule(r.Context(), r.PathValue("ref")); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
