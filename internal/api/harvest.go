package api

import (
	"context"
	"net/http"

	"github.com/sluice-video/sluice/internal/problem"
	"github.com/sluice-video/sluice/internal/resource"
)

// Harvests runs live-to-VOD harvest jobs.
type Harvests interface {
	ListHarvestJobs(ctx context.Context) ([]resource.HarvestJob, error)
	GetHarvestJob(ctx context.Context, id string) (resource.HarvestJob, error)
	CreateHarvestJob(ctx context.Context, spec resource.HarvestSpec) (resource.HarvestJob, error)
}

// harvests returns the harvest service, or answers 404 without one.
func (a *API) harvests(w http.ResponseWriter, r *http.Request) Harvests {
	if a.cfg.Harvests == nil {
		problem.Write(w, r, http.StatusNotFound, "this server does not run harvest jobs", 0)
	}
	return a.cfg.Harvests
}

func (a *API) listHarvestJobs(w http.ResponseWriter, r *http.Request) {
	h := a.harvests(w, r)
	if h == nil {
		return
	}
	all, err := h.ListHarvestJobs(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	reply(w, http.StatusOK, all)
}

func (a *API) getHarvestJob(w http.ResponseWriter, r *http.Request) {
	h := a.harvests(w, r)
	if h == nil {
		return
	}
	j, err := h.GetHarvestJob(r.Context(), r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	reply(w, http.StatusOK, j)
}

func (a *API) createHarvestJob(w http.ResponseWriter, r *http.Request) {
	h := a.harvests(w, r)
	if h == nil {
		return
	}
	var spec resource.HarvestSpec
	if err := decode(r, &spec); err != nil {
		a.fail(w, r, err)
		return
	}
	j, err := h.CreateHarvestJob(r.Context(), spec)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/harvest-jobs/"+j.ID)
	reply(w, http.StatusCreated, j)
}
