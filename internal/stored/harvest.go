package stored

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/sluice-video/sluice/internal/problem"
	"github.com/sluice-video/sluice/internal/storage"
)

// Harvested serves the files of harvested packages from the harvest
// storage at GET /harvest/{file...}; only package files, and no listings.
type Harvested struct {
	Storage storage.Storage
	Logger  *slog.Logger
}

func (h Harvested) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rel := r.PathValue("file")
	_, known := contentTypeOf(rel)
	key, err := storage.CleanKey(rel)
	if !known || err != nil || key != rel {
		problem.Write(w, r, http.StatusNotFound, "no such harvested file", 0)
		return
	}
	rc, obj, err := h.Storage.Get(r.Context(), key)
	if errors.Is(err, storage.ErrNotFound) || errors.As(err, new(*storage.KeyError)) {
		problem.Write(w, r, http.StatusNotFound, "no such harvested file", 0)
		return
	}
	if err != nil {
		h.Logger.Error("reading a harvested file failed", "key", key, "error", err)
		problem.Write(w, r, http.StatusBadGateway, "the harvest storage failed", 0)
		return
	}
	obj.Key = key
	serveStored(w, r, rc, obj, 60)
}
