package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

// embeddedAssets holds the scripts, styles and vendored players served under
// /assets/.
//
//go:embed assets
var embeddedAssets embed.FS

// assetCacheControl lets browsers keep assets for an hour; pages link them
// with a version query derived from their content, so a new build's pages
// never pick up a stale script.
const assetCacheControl = "public, max-age=3600"

// asset is one embedded file, ready to serve.
type asset struct {
	data        []byte
	etag        string // quoted, strong
	version     string // short content hash for cache-busting URLs
	contentType string
}

// assetServer serves the embedded assets by their path below /assets/.
type assetServer struct {
	files map[string]asset
}

// newAssetServer reads and fingerprints every embedded asset.
func newAssetServer() *assetServer {
	s := &assetServer{files: map[string]asset{}}
	err := fs.WalkDir(embeddedAssets, "assets", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := embeddedAssets.ReadFile(name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		version := hex.EncodeToString(sum[:8])
		s.files[strings.TrimPrefix(name, "assets/")] = asset{
			data:        data,
			etag:        `"` + hex.EncodeToString(sum[:16]) + `"`,
			version:     version,
			contentType: assetContentType(name),
		}
		return nil
	})
	if err != nil {
		// The files are compiled in; failing to read them is a build defect.
		panic("web: reading embedded assets: " + err.Error())
	}
	return s
}

// assetContentType names the media type of an asset by its extension. It does
// not depend on the host's MIME tables: with nosniff a wrong type would stop
// a script from running.
func assetContentType(name string) string {
	switch path.Ext(name) {
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	case ".png":
		return "image/png"
	default:
		return "text/plain; charset=utf-8"
	}
}

// URL returns the path under which a page links the named asset, with a
// version query that changes whenever the asset does.
func (s *assetServer) URL(name string) (string, error) {
	a, ok := s.files[name]
	if !ok {
		return "", fmt.Errorf("web: no embedded asset %q", name)
	}
	return "/assets/" + name + "?v=" + a.version, nil
}

// ServeHTTP serves the asset named by the request path (with /assets/
// stripped), answering conditional requests with 304 Not Modified.
func (s *assetServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a, ok := s.files[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", a.contentType)
	h.Set("ETag", a.etag)
	h.Set("Cache-Control", assetCacheControl)
	http.ServeContent(w, r, r.URL.Path, time.Time{}, bytes.NewReader(a.data))
}
