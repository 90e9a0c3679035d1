package api

import (
	"context"
	"net/http"
	"time"

	"github.com/sluice-video/sluice/internal/distribution"
	"github.com/sluice-video/sluice/internal/problem"
	"github.com/sluice-video/sluice/internal/signing"
)

// Distributions tells how the distributions' edges serve.
type Distributions interface {
	Stats(ctx context.Context, ref string) (distribution.Stats, error)
}

func (a *API) distributionStats(w http.ResponseWriter, r *http.Request) {
	if a.cfg.Distributions == nil {
		problem.Write(w, r, http.StatusNotFound, "this server does not run distributions", 0)
		return
	}
	st, err := a.cfg.Distributions.Stats(r.Context(), r.PathValue("ref"))
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
