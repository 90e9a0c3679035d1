package main

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

// Objects of the static origin: a 1 KB playlist and a 1 MB segment, as a
// live HLS endpoint would serve them to a CDN.
const (
	playlistPath = "/live/bench/hls/720p/index.m3u8"
	segmentPath  = "/live/bench/hls/720p/1234.m4s"
	playlistSize = 1 << 10
	segmentSize  = 1 << 20
)

// staticOrigin serves the two objects with long TTLs and counts requests.
type staticOrigin struct {
	url      string
	srv      *http.Server
	requests atomic.Int64
}

func startStaticOrigin() (*staticOrigin, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	playlist := fillPlaylist(playlistSize)
	segment := bytes.Repeat([]byte{0x47, 0x11, 0x22, 0x33}, segmentSize/4)
	o := &staticOrigin{url: "http://" + ln.Addr().String()}
	mod := time.Now().UTC().Format(http.TimeFormat)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	serve := func(body []byte, ctype string) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) {
			o.requests.Add(1)
			h := w.Header()
			h.Set("Content-Type", ctype)
			h.Set("Cache-Control", "public, max-age=3600")
			h.Set("Last-Modified", mod)
			h.Set("Content-Length", strconv.Itoa(len(body)))
			_, _ = w.Write(body)
		}
	}
	mux.HandleFunc("GET "+playlistPath, serve(playlist, "application/vnd.apple.mpegurl"))
	mux.HandleFunc("GET "+segmentPath, serve(segment, "video/iso.segment"))
	o.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = o.srv.Serve(ln) }()
	return o, nil
}

func (o *staticOrigin) close() { _ = o.srv.Close() }

// fillPlaylist writes a media playlist of exactly n bytes.
func fillPlaylist(n int) []byte {
	var b bytes.Buffer
	b.WriteString("#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:1200\n#EXT-X-MAP:URI=\"init-0.mp4\"\n")
	for i := 1200; b.Len() < n-40; i++ {
		fmt.Fprintf(&b, "#EXTINF:2.000,\n%d.m4s\n", i)
	}
	for b.Len() < n-1 {
		b.WriteByte('#')
	}
	b.WriteByte('\n')
	return b.Bytes()
}
