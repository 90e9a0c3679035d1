package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"

	"github.com/sluice-video/sluice/internal/harvest"
	"github.com/sluice-video/sluice/internal/problem"
	"github.com/sluice-video/sluice/internal/storage"
)

// startHarvest runs the harvest jobs, writing packages to
// Config.HarvestStorage (default <media root>/harvest), served at
// /harvest/.
func (s *Server) startHarvest(ctx context.Context, mediaRoot string) error {
	raw := s.cfg.HarvestStorage
	if raw == "" {
		raw = filepath.Join(mediaRoot, "harvest")
	}
	st, err := openStorage(ctx, "harvest storage", raw, mediaRoot)
	if err != nil {
		return err
	}
	s.harvestStorage = st
	s.harvest = harvest.New(harvest.Config{
		Store:   s.store,
		Storage: st,
		Logger:  s.logger,
		Lookup: func(name string) (harvest.Source, bool) {
			c, ok := s.manager.Lookup(name)
			if !ok {
				return harvest.Source{}, false
			}
			src := harvest.Source{Outputs: c.Outputs}
			if a := s.dvrArchive(c); a != nil {
				src.Archive = a
			}
			return src, true
		},
	})
	s.closes = append(s.closes, s.harvest.Wait)
	return s.harvest.Boot(ctx)
}

// openStorage opens a storage location: a folder (created when missing),
// or an S3 bucket (created when missing). what names it in errors.
func openStorage(ctx context.Context, what, raw, base string) (storage.Storage, error) {
	loc, err := storage.ParseLocation(raw, base, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	st, err := loc.Open()
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", what, loc, err)
	}
	if b, ok := st.(interface{ EnsureBucket(context.Context) error }); ok {
		if err := b.EnsureBucket(ctx); err != nil {
			return nil, fmt.Errorf("%s %s: %w", what, loc, err)
		}
	}
	return st, nil
}

// serveHarvested serves the files of harvested packages from the harvest
// storage; only package files, and no listings.
func (s *Server) serveHarvested(w http.ResponseWriter, r *http.Request) {
	rel := r.PathValue("file")
	_, known := contentTypeOf(rel)
	key, err := storage.CleanKey(rel)
	if !known || err != nil || key != rel {
		problem.Write(w, r, http.StatusNotFound, "no such harvested file", 0)
		return
	}
	rc, obj, err := s.harvestStorage.Get(r.Context(), key)
	if errors.Is(err, storage.ErrNotFound) || errors.As(err, new(*storage.KeyError)) {
		problem.Write(w, r, http.StatusNotFound, "no such harvested file", 0)
		return
	}
	if err != nil {
		s.logger.Error("reading a harvested file failed", "key", key, "error", err)
		problem.Write(w, r, http.StatusBadGateway, "the harvest storage failed", 0)
		return
	}
	obj.Key = key
	serveStored(w, r, rc, obj, 60)
}
