package api

import (
	"encoding/json"
	"net/http"

	"github.com/sluice-video/sluice/internal/kinds"
	"github.com/sluice-video/sluice/internal/problem"
)

// kindRoutes are the five routes of every resource kind: list and create
// on its collection; get, replace and delete one resource.
func kindRoutes() []Route {
	var routes []Route
	for _, info := range kinds.Infos() {
		collection := "/api/v1/" + info.Path
		one := collection + "/{" + info.Param + "}"
		routes = append(routes,
			Route{"GET", collection, func(a *API, w http.ResponseWriter, r *http.Request) { a.listKind(info, w, r) }},
			Route{"POST", collection, func(a *API, w http.ResponseWriter, r *http.Request) { a.createKind(info, w, r) }},
			Route{"GET", one, func(a *API, w http.ResponseWriter, r *http.Request) { a.getKind(info, w, r) }},
			Route{"PUT", one, func(a *API, w http.ResponseWriter, r *http.Request) { a.replaceKind(info, w, r) }},
			Route{"DELETE", one, func(a *API, w http.ResponseWriter, r *http.Request) { a.deleteKind(info, w, r) }},
		)
	}
	return routes
}

// kind returns the server's kind, or answers 404 when it does not run it.
func (a *API) kind(info kinds.Info, w http.ResponseWriter, r *http.Request) (kinds.Kind, bool) {
	k, ok := a.cfg.Kinds.Kind(info.Name)
	if !ok {
		problem.Write(w, r, http.StatusNotFound, info.Absent, 0)
	}
	return k, ok
}

func (a *API) listKind(info kinds.Info, w http.ResponseWriter, r *http.Request) {
	if k, ok := a.kind(info, w, r); ok {
		v, err := k.List(r.Context())
		answer(a, w, r, http.StatusOK, v, err)
	}
}

func (a *API) getKind(info kinds.Info, w http.ResponseWriter, r *http.Request) {
	if k, ok := a.kind(info, w, r); ok {
		v, err := k.Get(r.Context(), r.PathValue(info.Param))
		answer(a, w, r, http.StatusOK, v, err)
	}
}

// createKind creates a resource from the body (201), named in Location
// where the kind names one.
func (a *API) createKind(info kinds.Info, w http.ResponseWriter, r *http.Request) {
	k, ok := a.kind(info, w, r)
	if !ok {
		return
	}
	spec := k.NewSpec()
	if err := decode(r, spec); err != nil {
		a.fail(w, r, err)
		return
	}
	created, err := k.Create(r.Context(), "", spec)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	noteName(r, nameOf(created))
	if loc := k.Location(created); loc != "" {
		w.Header().Set("Location", "/api/v1/"+info.Path+"/"+loc)
	}
	a.reply(w, r, http.StatusCreated, created)
}

// replaceKind replaces a resource's spec with the body (200); it stays
// with the stack that created it.
func (a *API) replaceKind(info kinds.Info, w http.ResponseWriter, r *http.Request) {
	k, ok := a.kind(info, w, r)
	if !ok {
		return
	}
	spec := k.NewSpec()
	if err := decode(r, spec); err != nil {
		a.fail(w, r, err)
		return
	}
	v, err := k.Replace(r.Context(), r.PathValue(info.Param), spec)
	answer(a, w, r, http.StatusOK, v, err)
}

// deleteKind deletes a resource: 204, or 202 with the resource for a kind
// whose deletion goes on after the answer.
func (a *API) deleteKind(info kinds.Info, w http.ResponseWriter, r *http.Request) {
	k, ok := a.kind(info, w, r)
	if !ok {
		return
	}
	v, err := k.Delete(r.Context(), r.PathValue(info.Param))
	switch {
	case err != nil:
		a.fail(w, r, err)
	case v != nil:
		a.reply(w, r, http.StatusAccepted, v)
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

// nameOf is the name of a resource as its JSON says it, for the audit log
// ("" for a kind without one).
func nameOf(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	var named struct {
		Name string `json:"name"`
	}
	_ = json.Unmarshal(b, &named)
	return named.Name
}
