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

// haveHarvests reports whether the server runs harvest jobs, answering
// 404 when it does not.
func (a *API) haveHarvests(w http.ResponseWriter, r *http.Request) bool {
	if a.cfg.Harvests == nil {
		problem.Write(w, r, http.StatusNotFound, "this server does not run harvest jobs", 0)
		return false
	}
	return true
}

func (a *API) listHarvestJobs(w http.ResponseWriter, r *http.Request) {
	if a.haveHarvests(w, r) {
		all, err := a.cfg.Harvests.ListHarvestJobs(r.Context())
		answer(a, w, r, http.StatusOK, all, err)
	}
}

func (a *API) getHarvestJob(w http.ResponseWriter, r *http.Request) {
	if a.haveHarvests(w, r) {
		j, err := a.cfg.Harvests.GetHarvestJob(r.Context(), r.PathValue("id"))
		answer(a, w, r, http.StatusOK, j, err)
	}
}

func (a *API) createHarvestJob(w http.ResponseWriter, r *http.Request) {
	if !a.haveHarvests(w, r) {
		return
	}
	var spec resource.HarvestSpec
	if err := decode(r, &spec); err != nil {
		a.fail(w, r, err)
		return
	}
	j, err := a.cfg.Harvests.CreateHarvestJob(r.Context(), spec)
	if err == nil {
		w.Header().Set("Location", "/api/v1/harvest-jobs/"+j.ID)
	}
	answer(a, w, r, http.StatusCreated, j, err)
}
