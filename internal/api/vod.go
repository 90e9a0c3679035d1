package api

import (
	"context"
	"io"
	"net/http"

	"github.com/sluice-video/sluice/internal/problem"
	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/vod"
)

// VOD is what the API drives of on-demand transcoding beyond presets and
// pipelines (which are resource kinds): jobs and assets.
type VOD interface {
	Submit(ctx context.Context, req vod.SubmitRequest) (vod.Job, error)
	Job(ctx context.Context, id string) (vod.Job, error)
	Jobs(ctx context.Context, state string, limit int) ([]vod.Job, error)
	Cancel(ctx context.Context, id string) (vod.Job, error)
	Assets(ctx context.Context) ([]vod.Asset, error)
	Asset(ctx context.Context, id string) (vod.Asset, error)
	StartUpload(ctx context.Context, req vod.UploadRequest) (vod.Upload, error)
	GetUpload(ctx context.Context, id string) (vod.Upload, error)
	AppendUpload(ctx context.Context, id string, offset int64, chunk io.Reader) (vod.Upload, error)
}

// haveVOD answers 404 when on-demand transcoding is not configured.
func (a *API) haveVOD(w http.ResponseWriter, r *http.Request) bool {
	if a.cfg.VOD == nil {
		problem.Write(w, r, http.StatusNotFound, "on-demand transcoding is not enabled on this server", 0)
		return false
	}
	return true
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
