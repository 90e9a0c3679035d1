package metrics

import (
	"io"
	"net/http"
	"strings"
	"time"
)

// MeasureOrigin records every answer of the origin behind it: per
// channel, kind and status class, with bytes and duration.
func (m *Metrics) MeasureOrigin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &recorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		ch, kind := originTarget(r.URL.Path)
		m.OriginRequest(ch, kind, rec.status, rec.bytes, time.Since(start))
	})
}

// originTarget names the channel and the kind of object of an origin path.
func originTarget(path string) (string, RequestKind) {
	rest, ok := strings.CutPrefix(path, "/live/")
	if !ok || strings.Count(rest, "/") < 2 {
		return "", KindOther
	}
	channel, _, _ := strings.Cut(rest, "/")
	file := rest[strings.LastIndexByte(rest, '/')+1:]
	switch {
	case strings.HasSuffix(file, ".m3u8"), strings.HasSuffix(file, ".mpd"):
		return channel, KindManifest
	case strings.HasPrefix(file, "init-"):
		return channel, KindInit
	case strings.HasSuffix(file, ".m4s"), strings.HasSuffix(file, ".ts"):
		return channel, KindSegment
	}
	return channel, KindOther
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
