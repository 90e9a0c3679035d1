package api

import (
	"net/http"

	"github.com/sluice-video/sluice/internal/resource"
)

func (a *API) listGroups(w http.ResponseWriter, r *http.Request) {
	gs, err := a.m.ListSecurityGroups(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.reply(w, r, http.StatusOK, gs)
}

func (a *API) createGroup(w http.ResponseWriter, r *http.Request) {
	var spec resource.SecurityGroupSpec
	if err := decode(r, &spec); err != nil {
		a.fail(w, r, err)
		return
	}
	g, err := a.m.CreateSecurityGroup(r.Context(), "", spec)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/security-groups/"+g.ID)
	a.reply(w, r, http.StatusCreated, g)
}

func (a *API) getGroup(w http.ResponseWriter, r *http.Request) {
	g, err := a.m.GetSecurityGroup(r.Context(), r.PathValue("ref"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.reply(w, r, http.StatusOK, g)
}

func (a *API) updateGroup(w http.ResponseWriter, r *http.Request) {
	var spec resource.SecurityGroupSpec
	if err := decode(r, &spec); err != nil {
		a.fail(w, r, err)
		return
	}
	cur, err := a.m.GetSecurityGroup(r.Context(), r.PathValue("ref"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	g, err := a.m.UpdateSecurityGroup(r.Context(), cur.ID, cur.Stack, spec)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.reply(w, r, http.StatusOK, g)
}

func (a *API) deleteGroup(w http.ResponseWriter, r *http.Request) {
	if err := a.m.DeleteSecurityGroup(r.Context(), r.PathValue("ref")); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) rotateKey(w http.ResponseWriter, r *http.Request) {
	in, err := a.m.RotateStreamKey(r.Context(), r.PathValue("ref"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.reply(w, r, http.StatusOK, in)
}
