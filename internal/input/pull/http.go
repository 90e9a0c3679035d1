package pull

import (
	"bufio"
	"bytes"
	"fmt"
	"mime"
	"net/http"
	"strings"
)

// sniffSize is how much of an HTTP answer is looked at to tell what it is.
const sniffSize = 1024

// Kinds of HTTP content.
type httpKind int

const (
	kindUnknown httpKind = iota
	kindHLS
	kindTS
	kindMP4
)

// pullHTTP reads an http(s) source: an HLS playlist (named .m3u8, or
// recognised by its content) through the HLS client, anything else must
// be an MPEG-TS stream. A progressive MP4 is refused: it has no live edge.
func (a *attempt) pullHTTP() error {
	if a.p.src.isHLSPath() {
		return a.pullHLS()
	}
	hc := newHTTPClient(a.p.opts, 0)
	defer hc.close()
	req, err := http.NewRequestWithContext(a.ctx, http.MethodGet, a.p.src.raw, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/vnd.apple.mpegurl, video/mp2t, */*;q=0.5")
	res, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode/100 != 2 {
		return &statusError{code: res.StatusCode, text: http.StatusText(res.StatusCode)}
	}
	br := bufio.NewReaderSize(res.Body, 64<<10)
	head, err := br.Peek(sniffSize)
	if len(head) == 0 && err != nil {
		return fmt.Errorf("reading the answer: %w", err)
	}
	switch kind := sniff(res.Header.Get("Content-Type"), head); kind {
	case kindHLS:
		_ = res.Body.Close()
		return a.pullHLS()
	case kindTS:
		return a.pullTS(br)
	case kindMP4:
		return ErrProgressiveMP4
	default:
		ct := res.Header.Get("Content-Type")
		if ct == "" {
			ct = "none"
		}
		return fmt.Errorf("the server sent neither an HLS playlist nor an MPEG-TS stream (content type %s)", ct)
	}
}

// sniff tells HLS, MPEG-TS and MP4 apart, by the first bytes mostly: many
// servers label media loosely.
func sniff(contentType string, head []byte) httpKind {
	trimmed := bytes.TrimLeft(bytes.TrimPrefix(head, []byte("\xef\xbb\xbf")), " \t\r\n")
	if bytes.HasPrefix(trimmed, []byte("#EXTM3U")) {
		return kindHLS
	}
	if isTS(head) {
		return kindTS
	}
	if len(head) >= 8 {
		switch string(head[4:8]) {
		case "ftyp", "moov", "mdat", "free", "skip", "wide", "styp", "moof":
			return kindMP4
		}
	}
	mt, _, _ := mime.ParseMediaType(contentType)
	switch strings.ToLower(mt) {
	case "application/vnd.apple.mpegurl", "application/x-mpegurl", "audio/mpegurl", "audio/x-mpegurl":
		return kindHLS // the body will tell the HLS client otherwise
	case "video/mp4", "audio/mp4", "video/quicktime", "application/mp4":
		return kindMP4
	}
	return kindUnknown
}

// isTS reports whether data starts like MPEG-TS: sync bytes every 188 bytes.
func isTS(data []byte) bool {
	if len(data) == 0 || data[0] != 0x47 {
		return false
	}
	for i := 188; i < len(data); i += 188 {
		if data[i] != 0x47 {
			return false
		}
	}
	return true
}
