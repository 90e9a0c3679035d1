// Package stored serves files kept in storage over HTTP, beside the
// origin of live channels: on-demand outputs (/vod/…), harvested
// live-to-VOD packages (/harvest/…) and the player page of an on-demand
// asset (/vod-play/…).
package stored

import (
	"io"
	"net/http"
	"path"
	"strconv"

	"github.com/sluice-video/sluice/internal/storage"
)

// storedTypes are the media types of the files served from storage
// (on-demand outputs and harvested packages), by extension.
var storedTypes = map[string]string{
	".m3u8": "application/vnd.apple.mpegurl",
	".mpd":  "application/dash+xml",
	".m4s":  "video/mp4",
	".mp4":  "video/mp4",
	".m4a":  "audio/mp4",
	".vtt":  "text/vtt",
	".jpg":  "image/jpeg",
}

// contentTypeOf is the media type of a stored file, and whether it is one
// of the known kinds.
func contentTypeOf(key string) (string, bool) {
	t, ok := storedTypes[path.Ext(key)]
	if !ok {
		return "application/octet-stream", false
	}
	return t, true
}

// serveStored answers with an object opened from storage: ranges and
// preconditions when the storage can seek (a local file), the whole body
// otherwise; never a body for HEAD.
func serveStored(w http.ResponseWriter, r *http.Request, rc io.ReadCloser, obj storage.Object, maxAge int) {
	defer func() { _ = rc.Close() }()
	ctype, _ := contentTypeOf(obj.Key)
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Content-Type", ctype)
	h.Set("Cache-Control", "public, max-age="+strconv.Itoa(maxAge))
	if obj.ETag != "" {
		h.Set("ETag", strconv.Quote(obj.ETag))
	}
	if rs, ok := rc.(io.ReadSeeker); ok {
		http.ServeContent(w, r, "", obj.Mod, rs)
		return
	}
	h.Set("Content-Length", strconv.FormatInt(obj.Size, 10))
	if r.Method != http.MethodHead {
		_, _ = io.Copy(w, rc)
	}
}
