package api

import (
	"context"
	"fmt"
	"net/http"

	"github.com/sluice-video/sluice/internal/problem"
	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/vod"
)

// VOD is the on-demand transcoding service the API drives.
type VOD interface {
	Presets(ctx context.Context) ([]vod.Preset, error)
	Preset(ctx context.Context, name string) (vod.Preset, error)
	PutPreset(ctx context.Context, p vod.Preset, stack string, replace bool) (vod.Preset, error)
	DeletePreset(ctx context.Context, name string) error
	Pipelines(ctx context.Context) ([]vod.Pipeline, error)
	Pipeline(ctx context.Context, name string) (vod.Pipeline, error)
	PutPipeline(ctx context.Context, p vod.Pipeline, stack string, replace bool) (vod.Pipeline, error)
	DeletePipeline(ctx context.Context, name string) error
	Submit(ctx context.Context, req vod.SubmitRequest) (vod.Job, error)
	Job(ctx context.Context, id string) (vod.Job, error)
	Jobs(ctx context.Context, state string, limit int) ([]vod.Job, error)
	Cancel(ctx context.Context, id string) (vod.Job, error)
	Assets(ctx context.Context) ([]vod.Asset, error)
	Asset(ctx context.Context, id string) (vod.Asset, error)
}

// haveVOD answers 404 when on-demand transcoding is not configured.
func (a *API) haveVOD(w http.ResponseWriter, r *http.Request) bool {
	if a.cfg.VOD == nil {
		problem.Write(w, r, http.StatusNotFound, "on-demand transcoding is not enabled on this server", 0)
		return false
	}
	return true
}

func (a *API) listPresets(w http.ResponseWriter, r *http.Request) {
	if a.haveVOD(w, r) {
		v, err := a.cfg.VOD.Presets(r.Context())
		answer(a, w, r, http.StatusOK, v, err)
	}
}

func (a *API) getPreset(w http.ResponseWriter, r *http.Request) {
	if a.haveVOD(w, r) {
		v, err := a.cfg.VOD.Preset(r.Context(), r.PathValue("name"))
		answer(a, w, r, http.StatusOK, v, err)
	}
}

func (a *API) createPreset(w http.ResponseWriter, r *http.Request) {
	a.putPreset(w, r, false)
}

func (a *API) updatePreset(w http.ResponseWriter, r *http.Request) {
	a.putPreset(w, r, true)
}

func (a *API) putPreset(w http.ResponseWriter, r *http.Request, replace bool) {
	// Without on-demand transcoding a.cfg.VOD is nil: no method value of it.
	if a.haveVOD(w, r) {
		putNamed(a, w, r, replace, func(p *vod.Preset) *string { return &p.Name }, a.cfg.VOD.PutPreset)
	}
}

func (a *API) deletePreset(w http.ResponseWriter, r *http.Request) {
	if a.haveVOD(w, r) {
		a.deleteNamed(w, r, a.cfg.VOD.DeletePreset)
	}
}

func (a *API) listPipelines(w http.ResponseWriter, r *http.Request) {
	if a.haveVOD(w, r) {
		v, err := a.cfg.VOD.Pipelines(r.Context())
		answer(a, w, r, http.StatusOK, v, err)
	}
}

func (a *API) getPipeline(w http.ResponseWriter, r *http.Request) {
	if a.haveVOD(w, r) {
		v, err := a.cfg.VOD.Pipeline(r.Context(), r.PathValue("name"))
		answer(a, w, r, http.StatusOK, v, err)
	}
}

func (a *API) createPipeline(w http.ResponseWriter, r *http.Request) {
	a.putPipeline(w, r, false)
}

func (a *API) updatePipeline(w http.ResponseWriter, r *http.Request) {
	a.putPipeline(w, r, true)
}

func (a *API) putPipeline(w http.ResponseWriter, r *http.Request, replace bool) {
	if a.haveVOD(w, r) {
		putNamed(a, w, r, replace, func(p *vod.Pipeline) *string { return &p.Name }, a.cfg.VOD.PutPipeline)
	}
}

func (a *API) deletePipeline(w http.ResponseWriter, r *http.Request) {
	if a.haveVOD(w, r) {
		a.deleteNamed(w, r, a.cfg.VOD.DeletePipeline)
	}
}

// putNamed creates (201) or replaces (200) a named on-demand resource from
// the body; on replace the name comes from the path, and a different name
// in the body is refused.
func putNamed[T any](a *API, w http.ResponseWriter, r *http.Request, replace bool, name func(*T) *string,
	put func(ctx context.Context, v T, stack string, replace bool) (T, error)) {
	var v T
	if err := decode(r, &v); err != nil {
		a.fail(w, r, err)
		return
	}
	status := http.StatusCreated
	if replace {
		n := name(&v)
		if *n == "" {
			*n = r.PathValue("name")
		}
		if *n != r.PathValue("name") {
			a.fail(w, r, fmt.Errorf("%w: name %q in the body differs from %q in the path", resource.ErrInvalid, *n, r.PathValue("name")))
			return
		}
		status = http.StatusOK
	}
	out, err := put(r.Context(), v, "", replace)
	answer(a, w, r, status, out, err)
}

// deleteNamed deletes the on-demand resource named in the path (204).
func (a *API) deleteNamed(w http.ResponseWriter, r *http.Request, del func(ctx context.Context, name string) error) {
	if err := del(r.Context(), r.PathValue("name")); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) listJobs(w http.ResponseWriter, r *http.Request) {
	if !a.haveVOD(w, r) {
		return
	}
	var errs resource.FieldErrors
	limit := limitOf(r, &errs)
	if errs.Err() != nil {
		a.fail(w, r, errs)
		return
	}
	v, err := a.cfg.VOD.Jobs(r.Context(), r.URL.Query().Get("state"), limit)
	if v == nil {
		v = []vod.Job{}
	}
	answer(a, w, r, http.StatusOK, v, err)
}

func (a *API) submitJob(w http.ResponseWriter, r *http.Request) {
	if !a.haveVOD(w, r) {
		return
	}
	var req vod.SubmitRequest
	if err := decode(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	j, err := a.cfg.VOD.Submit(r.Context(), req)
	if err == nil {
		w.Header().Set("Location", "/api/v1/jobs/"+j.ID)
	}
	answer(a, w, r, http.StatusCreated, j, err)
}

func (a *API) getJob(w http.ResponseWriter, r *http.Request) {
	if a.haveVOD(w, r) {
		v, err := a.cfg.VOD.Job(r.Context(), r.PathValue("id"))
		answer(a, w, r, http.StatusOK, v, err)
	}
}

func (a *API) cancelJob(w http.ResponseWriter, r *http.Request) {
	if a.haveVOD(w, r) {
		v, err := a.cfg.VOD.Cancel(r.Context(), r.PathValue("id"))
		answer(a, w, r, http.StatusOK, v, err)
	}
}

func (a *API) listAssets(w http.ResponseWriter, r *http.Request) {
	if a.haveVOD(w, r) {
		v, err := a.cfg.VOD.Assets(r.Context())
		answer(a, w, r, http.StatusOK, v, err)
	}
}

func (a *API) getAsset(w http.ResponseWriter, r *http.Request) {
	if a.haveVOD(w, r) {
		v, err := a.cfg.VOD.Asset(r.Context(), r.PathValue("id"))
		answer(a, w, r, http.StatusOK, v, err)
	}
}
