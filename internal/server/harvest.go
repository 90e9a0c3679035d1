package server

import (
	"context"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/sluice-video/sluice/internal/harvest"
	"github.com/sluice-video/sluice/internal/problem"
)

// startHarvest runs the harvest jobs, writing packages under
// <media root>/harvest, served at /harvest/.
func (s *Server) startHarvest(ctx context.Context, mediaRoot string) error {
	s.harvestRoot = filepath.Join(mediaRoot, "harvest")
	s.harvest = harvest.New(harvest.Config{
		Store:  s.store,
		Root:   s.harvestRoot,
		Logger: s.logger,
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

// harvestTypes are the media types of a package's files.
var harvestTypes = map[string]string{
	".m3u8": "application/vnd.apple.mpegurl",
	".mpd":  "application/dash+xml",
	".m4s":  "video/mp4",
	".mp4":  "video/mp4",
}

// serveHarvested serves the files of harvested packages; nothing outside
// the harvest directory, and no directory listings.
func (s *Server) serveHarvested(w http.ResponseWriter, r *http.Request) {
	rel := r.PathValue("file")
	ctype, known := harvestTypes[path.Ext(rel)]
	clean := path.Clean("/" + rel)
	if !known || clean != "/"+rel || strings.Contains(rel, "..") {
		problem.Write(w, r, http.StatusNotFound, "no such harvested file", 0)
		return
	}
	// os.Root refuses any path (or symbolic link) leading outside the root.
	root, err := os.OpenRoot(s.harvestRoot)
	if err != nil {
		problem.Write(w, r, http.StatusNotFound, "no such harvested file", 0)
		return
	}
	defer func() { _ = root.Close() }()
	f, err := root.Open(filepath.FromSlash(clean[1:]))
	if err != nil {
		problem.Write(w, r, http.StatusNotFound, "no such harvested file", 0)
		return
	}
	defer func() { _ = f.Close() }()
	st, err := f.Stat()
	if err != nil || st.IsDir() {
		problem.Write(w, r, http.StatusNotFound, "no such harvested file", 0)
		return
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Content-Type", ctype)
	h.Set("Cache-Control", "public, max-age=60")
	http.ServeContent(w, r, "", st.ModTime(), f)
}
