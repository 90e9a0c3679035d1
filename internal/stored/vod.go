package stored

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"path"

	"github.com/sluice-video/sluice/internal/problem"
	"github.com/sluice-video/sluice/internal/secret"
	"github.com/sluice-video/sluice/internal/storage"
	"github.com/sluice-video/sluice/internal/vod"
	"github.com/sluice-video/sluice/internal/web"
)

// Outputs opens the published outputs of on-demand pipelines;
// *vod.Service satisfies it.
type Outputs interface {
	OpenOutput(ctx context.Context, pipeline, key string) (io.ReadCloser, storage.Object, error)
}

// VODOutputs serves published outputs at GET /vod/{pipeline}/{key...},
// from the pipeline's output storage, whatever it is.
type VODOutputs struct{ Outputs Outputs }

func (v VODOutputs) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	if _, err := storage.CleanKey(key); err != nil {
		problem.Write(w, r, http.StatusBadRequest, err.Error(), 0)
		return
	}
	rc, obj, err := v.Outputs.OpenOutput(r.Context(), r.PathValue("pipeline"), key)
	if err != nil {
		if errors.Is(err, storage.ErrNotFound) || errors.Is(err, vod.ErrNotFound) {
			problem.Write(w, r, http.StatusNotFound, "no such output: "+key, 0)
			return
		}
		problem.Write(w, r, http.StatusBadGateway, "the output storage failed: "+err.Error(), 0)
		return
	}
	obj.Key = key
	serveStored(w, r, rc, obj, 3600)
}

// Assets finds finished on-demand assets; *vod.Service satisfies it.
type Assets interface {
	Asset(ctx context.Context, id string) (vod.Asset, error)
}

// Player is the player page of a finished asset: GET /vod-play/{id}.
// The page needs no token: the asset is shown as the pages show
// resources, redacted with Known when the server has a token.
type Player struct {
	Assets Assets
	Pages  *web.Pages
	Known  secret.KnownFunc
	Logger *slog.Logger
}

func (p Player) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	a, err := p.Assets.Asset(r.Context(), id)
	if err != nil {
		problem.Write(w, r, http.StatusNotFound, "no such asset: "+id, 0)
		return
	}
	if a, err = secret.RedactFor(r.Context(), p.Known, a); err != nil {
		p.Logger.Error("an asset could not be redacted for its page", "asset", id, "error", err)
		problem.Write(w, r, http.StatusServiceUnavailable, "the server could not prepare the page; try again", 0)
		return
	}
	v := web.VODPlayer{Name: "asset " + a.ID, APIURL: "/api/v1/assets/" + url.PathEscape(a.ID), PagePath: "/vod-play/" + url.PathEscape(a.ID)}
	if a.HLS != "" {
		v.HLSURL = "/vod/" + url.PathEscape(a.Pipeline) + "/" + a.HLS
	}
	if a.DASH != "" {
		v.DASHURL = "/vod/" + url.PathEscape(a.Pipeline) + "/" + a.DASH
	}
	if track := spriteTrack(a); track != "" {
		v.SpriteTrackURL = "/vod/" + url.PathEscape(a.Pipeline) + "/" + track
	}
	p.Pages.ServeVODPlayer(w, r, v)
}

// spriteTrack is the key of an asset's thumbnails track: the one it names,
// or, for an asset made before assets named it, the one beside its sprite.
func spriteTrack(a vod.Asset) string {
	switch {
	case a.SpriteTrack != "":
		return a.SpriteTrack
	case a.Sprite != "":
		return path.Join(path.Dir(a.Sprite), "thumbnails.vtt")
	}
	return ""
}
