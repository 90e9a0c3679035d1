package server

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"path/filepath"
	"time"

	"github.com/sluice-video/sluice/internal/problem"
	"github.com/sluice-video/sluice/internal/queue"
	"github.com/sluice-video/sluice/internal/storage"
	"github.com/sluice-video/sluice/internal/vod"
	"github.com/sluice-video/sluice/internal/web"
)

// buildVOD opens the job queue and starts on-demand transcoding: the
// embedded SQLite queue in the data directory unless Config.Queue names a
// PostgreSQL database shared with other nodes.
func (s *Server) buildVOD(ctx context.Context) error {
	dsn := s.cfg.Queue
	if dsn == "" {
		dsn = filepath.Join(s.cfg.Data, "queue.db")
	}
	q, err := queue.Open(ctx, dsn)
	if err != nil {
		return err
	}
	workers := s.cfg.VODWorkers
	if workers < 0 {
		workers = 0
	}
	svc, err := vod.New(ctx, vod.Config{
		Queue: q, FFmpeg: s.cfg.FFmpeg, FFprobe: s.cfg.FFprobe, DataDir: s.cfg.Data,
		MediaAllow: s.cfg.MediaAllow, Outbound: s.cfg.Outbound,
		Workers: workers, Events: s.bus, Metrics: s.metrics, Webhooks: s.hooks, Logger: s.logger.With("part", "vod"),
		JobTimeout: s.cfg.JobTimeout, VisibilityTimeout: s.cfg.VisibilityTimeout,
	})
	if err != nil {
		q.Close()
		return err
	}
	if err := svc.Start(ctx); err != nil {
		q.Close()
		return err
	}
	s.vod = svc
	s.closes = append(s.closes, func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		svc.Stop(sctx)
		q.Close()
	})
	return nil
}

// VOD returns the on-demand transcoding service.
func (s *Server) VOD() *vod.Service { return s.vod }

// serveVOD serves published outputs: GET /vod/<pipeline>/<key>, from the
// pipeline's output storage, whatever it is.
func (s *Server) serveVOD(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	if _, err := storage.CleanKey(key); err != nil {
		problem.Write(w, r, http.StatusBadRequest, err.Error(), 0)
		return
	}
	rc, obj, err := s.vod.OpenOutput(r.Context(), r.PathValue("pipeline"), key)
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

// serveVODPlayer is the player page of a finished asset: /vod-play/<job id>.
// The page needs no token: the asset is shown as pages shows resources.
func (s *Server) serveVODPlayer(pages *web.Pages, view pagesView, w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	a, err := s.vod.Asset(r.Context(), id)
	if err != nil {
		problem.Write(w, r, http.StatusNotFound, "no such asset: "+id, 0)
		return
	}
	if a, err = redactFor(r.Context(), view.known, a); err != nil {
		s.logger.Error("an asset could not be redacted for its page", "asset", id, "error", err)
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
	pages.ServeVODPlayer(w, r, v)
}
