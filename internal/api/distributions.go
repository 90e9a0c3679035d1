package api

import (
	"context"
	"net/http"
	"time"

	"github.com/sluice-video/sluice/internal/distribution"
	"github.com/sluice-video/sluice/internal/problem"
	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/signing"
)

// Distributions runs the caching edges of distributions.
type Distributions interface {
	ListDistributions(ctx context.Context) ([]resource.Distribution, error)
	CreateDistribution(ctx context.Context, stack string, spec resource.DistributionSpec) (resource.Distribution, error)
	GetDistribution(ctx context.Context, ref string) (resource.Distribution, error)
	UpdateDistribution(ctx context.Context, ref, stack string, spec resource.DistributionSpec) (resource.Distribution, error)
	DeleteDistribution(ctx context.Context, ref string) error
	Stats(ctx context.Context, ref string) (distribution.Stats, error)
}

// dists returns the distribution service, or answers 404 without one.
func (a *API) dists(w http.ResponseWriter, r *http.Request) Distributions {
	if a.cfg.Distributions == nil {
		problem.Write(w, r, http.StatusNotFound, "this server does not run distributions", 0)
	}
	return a.cfg.Distributions
}

func (a *API) listDistributions(w http.ResponseWriter, r *http.Request) {
	d := a.dists(w, r)
	if d == nil {
		return
	}
	all, err := d.ListDistributions(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.reply(w, r, http.StatusOK, all)
}

func (a *API) createDistribution(w http.ResponseWriter, r *http.Request) {
	d := a.dists(w, r)
	if d == nil {
		return
	}
	var spec resource.DistributionSpec
	if err := decode(r, &spec); err != nil {
		a.fail(w, r, err)
		return
	}
	created, err := d.CreateDistribution(r.Context(), "", spec)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/distributions/"+created.Name)
	a.reply(w, r, http.StatusCreated, created)
}

func (a *API) getDistribution(w http.ResponseWriter, r *http.Request) {
	d := a.dists(w, r)
	if d == nil {
		return
	}
	got, err := d.GetDistribution(r.Context(), r.PathValue("ref"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.reply(w, r, http.StatusOK, got)
}

func (a *API) updateDistribution(w http.ResponseWriter, r *http.Request) {
	d := a.dists(w, r)
	if d == nil {
		return
	}
	var spec resource.DistributionSpec
	if err := decode(r, &spec); err != nil {
		a.fail(w, r, err)
		return
	}
	cur, err := d.GetDistribution(r.Context(), r.PathValue("ref"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	updated, err := d.UpdateDistribution(r.Context(), cur.ID, cur.Stack, spec)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.reply(w, r, http.StatusOK, updated)
}

func (a *API) deleteDistribution(w http.ResponseWriter, r *http.Request) {
	d := a.dists(w, r)
	if d == nil {
		return
	}
	if err := d.DeleteDistribution(r.Context(), r.PathValue("ref")); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) distributionStats(w http.ResponseWriter, r *http.Request) {
	d := a.dists(w, r)
	if d == nil {
		return
	}
	st, err := d.Stats(r.Context(), r.PathValue("ref"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.reply(w, r, http.StatusOK, st)
}

// sign mints a signed URL and cookies with one of the server's keys.
func (a *API) sign(w http.ResponseWriter, r *http.Request) {
	var req signing.MintRequest
	if err := decode(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	key, err := a.cfg.Signing.SigningKey(req.KeyID)
	if err != nil {
		status := http.StatusBadRequest
		if req.KeyID == "" {
			status = http.StatusConflict
		}
		problem.Write(w, r, status, err.Error()+" (start the server with --signing-key)", 0)
		return
	}
	now := time.Now
	if a.cfg.Now != nil {
		now = a.cfg.Now
	}
	m, err := signing.Mint(req, key, now(), signing.CookieOptions{Insecure: r.TLS == nil})
	if err != nil {
		problem.Write(w, r, http.StatusBadRequest, "cannot sign: "+err.Error(), 0)
		return
	}
	a.reply(w, r, http.StatusOK, m)
}
