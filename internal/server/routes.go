package server

import (
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/sluice-video/sluice/internal/api"
	"github.com/sluice-video/sluice/internal/httpguard"
	"github.com/sluice-video/sluice/internal/metrics"
	"github.com/sluice-video/sluice/internal/origin"
	"github.com/sluice-video/sluice/internal/output"
	"github.com/sluice-video/sluice/internal/problem"
	"github.com/sluice-video/sluice/internal/web"
)

// newOrigin builds the origin of the live channels.
func (s *Server) newOrigin(keySecret []byte) (*origin.Origin, error) {
	o := origin.New(func(name string) (origin.Channel, bool) {
		c, ok := s.manager.Lookup(name)
		return origin.Channel{Timeline: c.Timeline, Outputs: c.Outputs, DVR: s.dvrArchive(c)}, ok
	}, s.logger, nil).WithKeySecret(keySecret).RequireSignatures(s.originVerifier())
	if s.cfg.SegmentSpoolMB <= 0 {
		return o, nil
	}
	return o.WithSpool(filepath.Join(s.cfg.Data, "spool"), int64(s.cfg.SegmentSpoolMB)<<20)
}

// routes is the one HTTP listener's handler.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	a := api.New(api.Config{
		Manager: s.ControlPlane(), Logger: s.logger, Token: s.cfg.Token, Version: s.cfg.Version,
		Metrics: s.metrics, Bus: s.bus, Hooks: s.hooks, VOD: s.vod,
		Distributions: s.dists, Signing: s.cfg.SigningKeys, Harvests: s.harvest,
		Frames: s.openFrames, FrameLimits: s.cfg.FrameLimits, Kinds: s.kinds(),
	})
	a.Register(mux)
	mux.HandleFunc("GET /harvest/{file...}", s.serveHarvested)
	mux.HandleFunc("GET /vod/{pipeline}/{key...}", s.serveVOD)
	live := http.NewServeMux()
	s.origin.Register(live)
	measured := s.measureOrigin(live)
	mux.Handle("/live/", measured)
	mux.Handle("GET /time", measured)
	pages := pagesView{Channels: s.manager}
	if s.cfg.Token != "" {
		pages.known = a.KnownSecrets
	}
	webPages := web.New(pages, s.logger)
	webPages.Register(mux)
	mux.HandleFunc("GET /vod-play/{id}", func(w http.ResponseWriter, r *http.Request) { s.serveVODPlayer(webPages, pages, w, r) })
	mux.Handle("GET /metrics", s.metrics.Handler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	ready := &readiness{s: s}
	mux.HandleFunc("GET /readyz", ready.serve)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		problem.Write(w, r, http.StatusNotFound, "no such page: see / for the channels, /api/v1/openapi.yaml for the API", 0)
	})
	if s.cfg.Token == "" {
		// Without a token every caller is trusted, which holds only for
		// callers on this machine: a page of another site that had its
		// name resolve to 127.0.0.1 would read stream keys and change
		// anything. Its requests still name that site in Host. Every route
		// is guarded, the pages and the origin too: they show stream keys
		// without a token. A server with a token answers for any name, so
		// players on other hosts reach the origin.
		return httpguard.LocalHosts(mux, s.cfg.PublicHost)
	}
	return mux
}

// measureOrigin records every origin answer: per channel, kind and status
// class, with bytes and duration.
func (s *Server) measureOrigin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &recorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		ch, kind := originTarget(r.URL.Path)
		s.metrics.OriginRequest(ch, kind, rec.status, rec.bytes, time.Since(start))
	})
}

// originTarget names the channel and the kind of object of an origin path.
func originTarget(path string) (string, metrics.RequestKind) {
	rest, ok := strings.CutPrefix(path, "/live/")
	if !ok || strings.Count(rest, "/") < 2 {
		return "", metrics.KindOther
	}
	channel, _, _ := strings.Cut(rest, "/")
	file := rest[strings.LastIndexByte(rest, '/')+1:]
	switch {
	case strings.HasSuffix(file, ".m3u8"), strings.HasSuffix(file, ".mpd"):
		return channel, metrics.KindManifest
	case strings.HasPrefix(file, "init-"):
		return channel, metrics.KindInit
	case strings.HasSuffix(file, ".m4s"), strings.HasSuffix(file, ".ts"):
		return channel, metrics.KindSegment
	}
	return channel, metrics.KindOther
}

// recorder keeps a response's status and size.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
	wrote  bool
}

func (r *recorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(p []byte) (int, error) {
	r.wrote = true
	n, err := r.ResponseWriter.Write(p)
	r.bytes += int64(n)
	return n, err
}

// ReadFrom passes a copy from a file on to the connection, so that it is
// sent with sendfile(2), and counts it.
func (r *recorder) ReadFrom(src io.Reader) (int64, error) {
	r.wrote = true
	var n int64
	var err error
	if rf, ok := r.ResponseWriter.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(src)
	} else {
		n, err = io.Copy(writerOnly{r.ResponseWriter}, src)
	}
	r.bytes += n
	return n, err
}

// writerOnly hides every method but Write, so io.Copy does not recurse.
type writerOnly struct{ io.Writer }

// Unwrap gives http.ResponseController the connection's writer.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// Flush lets streamed answers through.
func (r *recorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// readiness answers /readyz: the state store answers, the data directory
// takes writes and ffmpeg runs (checked at most every 30 s).
type readiness struct {
	s       *Server
	mu      sync.Mutex
	checked time.Time
	ffmpeg  error
}

func (rd *readiness) serve(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	var problems []string
	if err := rd.s.store.Ping(ctx); err != nil {
		problems = append(problems, "the state database does not answer: "+err.Error())
	}
	probe := filepath.Join(rd.s.cfg.Data, ".ready-probe")
	if err := os.WriteFile(probe, []byte("ok"), 0o600); err != nil {
		problems = append(problems, "the data directory is not writable: "+err.Error())
	} else {
		_ = os.Remove(probe)
	}
	if err := rd.ffmpegWorks(ctx); err != nil {
		problems = append(problems, "ffmpeg does not run: "+err.Error())
	}
	if len(problems) > 0 {
		problem.Write(w, r, http.StatusServiceUnavailable, strings.Join(problems, "; "), 0)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte("ready\n"))
}

func (rd *readiness) ffmpegWorks(ctx context.Context) error {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	if time.Since(rd.checked) < 30*time.Second {
		return rd.ffmpeg
	}
	rd.ffmpeg = exec.CommandContext(ctx, rd.s.cfg.FFmpeg, "-hide_banner", "-version").Run() //nolint:gosec // the configured ffmpeg binary
	rd.checked = time.Now()
	return rd.ffmpeg
}

// openFrames opens a channel's frames stream for the API.
func (s *Server) openFrames(ctx context.Context, ref string, req output.FrameRequest) (api.FrameRun, error) {
	fs, err := s.manager.OpenFrames(ctx, ref, req)
	if err != nil {
		return api.FrameRun{}, err
	}
	return api.FrameRun{Channel: fs.Channel, Spec: fs.Spec, Protected: fs.Protected, Run: fs.Run}, nil
}
