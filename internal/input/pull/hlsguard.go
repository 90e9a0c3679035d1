package pull

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/bluenviron/gohlslib/v2/pkg/playlist"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts"
	tscodecs "github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts/codecs"
)

// Limits of one download, the HLS client's own.
const (
	maxHLSPlaylist = 1 << 20
	maxHLSPart     = 10 << 20
	maxHLSSegment  = 100 << 20
)

// download is what the HLS client said it was about to fetch.
type download struct {
	playlist bool
	limit    int64
}

// guardTransport reads each HLS download in full and runs the parser the
// HLS client will run on it, under recover. The client parses in
// goroutines of its own, where a panic on hostile data would end Sluice;
// a body that makes a parser panic is refused here as malformed instead.
// Parse errors are left to the client, which reports them itself.
type guardTransport struct {
	base http.RoundTripper
	// expected maps the URLs the HLS client announced to what they are:
	// an answer larger than its kind may be, or a playlist that is not
	// one, is refused in words. Other requests are bounded as segments.
	expected sync.Map

	// started reports whether media flows; before, a live playlist too
	// short to start from is refused (the HLS client would wait forever).
	started func() bool

	mu sync.Mutex
	// live and segments describe the last media playlist, to explain a
	// stream that does not start.
	seen     bool
	live     bool
	segments int
}

// lastMedia returns whether the last media playlist was live, and its
// number of segments; ok is false before any.
func (t *guardTransport) lastMedia() (live bool, segments int, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.live, t.segments, t.seen
}

// expect notes what a URL about to be requested is.
func (t *guardTransport) expect(u string, d download) { t.expected.Store(u, d) }

func (t *guardTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := t.base.RoundTrip(req)
	if err != nil || res.StatusCode/100 != 2 {
		return res, err
	}
	d := download{limit: maxHLSSegment}
	if v, ok := t.expected.LoadAndDelete(req.URL.String()); ok {
		d = v.(download)
	}
	body, err := io.ReadAll(io.LimitReader(res.Body, d.limit+1))
	_ = res.Body.Close()
	if err != nil {
		return nil, err
	}
	if int64(len(body)) > d.limit {
		return nil, fmt.Errorf("%s is larger than %s", req.URL.Path, sizeOf(d.limit))
	}
	if d.playlist && !bytes.HasPrefix(bytes.TrimLeft(body, "\xef\xbb\xbf \t\r\n"), []byte("#EXTM3U")) {
		return nil, errors.New("the server sent something other than an HLS playlist")
	}
	pl, perr := checkHLSBody(body)
	if perr != nil {
		return nil, perr
	}
	if m, ok := pl.(*playlist.Media); ok {
		live := !m.Endlist && (m.PlaylistType == nil || *m.PlaylistType != playlist.MediaPlaylistTypeVOD)
		t.mu.Lock()
		t.live, t.segments, t.seen = live, len(m.Segments), true
		t.mu.Unlock()
		lowLatency := m.ServerControl != nil && m.ServerControl.CanBlockReload && m.PreloadHint != nil
		if live && !lowLatency && len(m.Segments) < hlsStartDistance && t.started != nil && !t.started() {
			return nil, errShortPlaylist(len(m.Segments))
		}
	}
	res.Body = io.NopCloser(bytes.NewReader(body))
	res.ContentLength = int64(len(body))
	res.Header.Del("Content-Length")
	return res, nil
}

// checkHLSBody parses a playlist, an MPEG-TS segment or fMP4 data the way
// the HLS client will, and reports a panic as an error. It returns the
// playlist, if the body is a valid one.
func checkHLSBody(body []byte) (pl playlist.Playlist, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &panicError{value: v}
		}
	}()
	switch trimmed := bytes.TrimLeft(body, "\xef\xbb\xbf \t\r\n"); {
	case bytes.HasPrefix(trimmed, []byte("#EXTM3U")):
		pl, _ = playlist.Unmarshal(body)
	case len(body) > 0 && body[0] == 0x47:
		checkTS(body)
	case len(body) >= 8:
		if bytes.Contains(body[:min(len(body), 4096)], []byte("moov")) {
			var init fmp4.Init
			_ = init.Unmarshal(bytes.NewReader(body))
		} else {
			var parts fmp4.Parts
			_ = parts.Unmarshal(body)
		}
	}
	return pl, nil
}

// checkTS demuxes a whole MPEG-TS segment, decoding the codecs the HLS
// client reads from MPEG-TS.
func checkTS(body []byte) {
	r := &mpegts.Reader{R: bytes.NewReader(body)}
	if r.Initialize() != nil {
		return
	}
	for _, t := range r.Tracks() {
		switch t.Codec.(type) {
		case *tscodecs.H264:
			r.OnDataH264(t, func(int64, int64, [][]byte) error { return nil })
		case *tscodecs.MPEG4Audio:
			r.OnDataMPEG4Audio(t, func(int64, [][]byte) error { return nil })
		case *tscodecs.KLV:
			r.OnDataKLV(t, func(int64, []byte) error { return nil })
		}
	}
	for {
		if err := r.Read(); err != nil {
			return
		}
	}
}

// errShortPlaylist: a live playlist with too few segments to start from.
func errShortPlaylist(n int) error {
	unit := "segments"
	if n == 1 {
		unit = "segment"
	}
	return fmt.Errorf("the live playlist has only %d %s; pulling starts %d segments behind its live edge", n, unit, hlsStartDistance)
}
