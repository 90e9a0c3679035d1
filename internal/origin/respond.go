package origin

import (
	"bytes"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/sluice-video/sluice/internal/spool"
)

// headerValues are the constant header values of the origin's answers,
// built once so that a request sets them without allocating or
// canonicalising keys. They are only ever assigned whole, never changed.
type headerValues struct {
	star, expose, mp4, ts, mpegURL, immutable, acceptRanges []string
}

func newHeaderValues() headerValues {
	return headerValues{
		star:         []string{"*"},
		expose:       []string{"Content-Length, Content-Range, ETag, Date, Age"},
		mp4:          []string{"video/mp4"},
		ts:           []string{"video/mp2t"},
		mpegURL:      []string{"application/vnd.apple.mpegurl"},
		immutable:    []string{"public, max-age=" + strconv.Itoa(segmentMaxAge) + ", immutable"},
		acceptRanges: []string{"bytes"},
	}
}

// cors sets the CORS headers every origin answer carries.
func (v *headerValues) cors(h http.Header) {
	h["Access-Control-Allow-Origin"] = v.star
	h["Access-Control-Expose-Headers"] = v.expose
	h["Timing-Allow-Origin"] = v.star
}

// conditional reports whether a request asks for a range or carries a
// precondition, which http.ServeContent answers.
func conditional(r *http.Request) bool {
	h := r.Header
	for _, k := range [...]string{"Range", "If-None-Match", "If-Match", "If-Modified-Since", "If-Unmodified-Since", "If-Range"} {
		if _, ok := h[k]; ok {
			return true
		}
	}
	return false
}

// writeBody answers with data, whose Content-Type, ETag and caching headers
// are set. Plain requests get the whole body in one write with its length;
// ranges and preconditions go through http.ServeContent, which answers
// them exactly as before.
func (o *Origin) writeBody(w http.ResponseWriter, r *http.Request, data []byte) {
	o.writeSpooled(w, r, data, "")
}

// writeSpooled is writeBody for a media body that may be sent from the
// spool, under spoolKey (its ETag); "" never spools.
func (o *Origin) writeSpooled(w http.ResponseWriter, r *http.Request, data []byte, spoolKey string) {
	if conditional(r) {
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
		return
	}
	var f *os.File
	if spoolKey != "" && r.Method != http.MethodHead {
		// The path names the channel, endpoint and key: an ETag alone is
		// shared by the ciphertexts of two encrypted endpoints.
		f = o.spool.Open(r.URL.Path+"\x00"+spoolKey+"/"+strconv.Itoa(len(data)), data)
	}
	h := w.Header()
	h["Accept-Ranges"] = o.hdr.acceptRanges
	h["Content-Length"] = []string{strconv.Itoa(len(data))}
	w.WriteHeader(http.StatusOK)
	switch {
	case f != nil:
		spool.Send(w, f, int64(len(data)))
	case r.Method != http.MethodHead:
		_, _ = w.Write(data) //nolint:gosec // media and manifests the origin produced, with their own Content-Type
	}
}
