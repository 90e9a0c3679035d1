package web

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// The asset player page loads the player library the chosen format needs
// and points it at the asset's manifest.
func TestVODPlayerPage(t *testing.T) {
	mux := http.NewServeMux()
	p := New(&fakeChannels{}, nil)
	p.Register(mux)
	v := VODPlayer{Name: "asset job-1", HLSURL: "/vod/default/a/index.m3u8", DASHURL: "/vod/default/a/manifest.mpd", APIURL: "/api/v1/assets/job-1", PagePath: "/vod-play/job-1",
		SpriteTrackURL: "/vod/default/a/thumbs/thumbnails.vtt"}
	mux.HandleFunc("GET /vod-play/job-1", func(w http.ResponseWriter, r *http.Request) { p.ServeVODPlayer(w, r, v) })
	mux.HandleFunc("GET /vod-play/audio-only", func(w http.ResponseWriter, r *http.Request) {
		p.ServeVODPlayer(w, r, VODPlayer{Name: "asset audio-only", PagePath: "/vod-play/audio-only"})
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	resp, body := get(t, srv, "/vod-play/job-1?player=dash")
	checkHTML(t, resp, http.StatusOK)
	mustContain(t, body, "dash.all.min", `data-manifest="/vod/default/a/manifest.mpd"`, "asset job-1")
	mustNotContain(t, body, "hls.min")
	resp, body = get(t, srv, "/vod-play/job-1")
	checkHTML(t, resp, http.StatusOK)
	mustContain(t, body, "hls.min", `data-manifest="/vod/default/a/index.m3u8"`, "scrub.js", `data-track="/vod/default/a/thumbs/thumbnails.vtt"`, `role="slider"`)
	resp, _ = get(t, srv, "/vod-play/job-1?player=flash")
	checkHTML(t, resp, http.StatusBadRequest)
	mux.HandleFunc("GET /vod-play/no-thumbnails", func(w http.ResponseWriter, r *http.Request) {
		p.ServeVODPlayer(w, r, VODPlayer{Name: "asset no-thumbnails", HLSURL: "/vod/default/b/index.m3u8", PagePath: "/vod-play/no-thumbnails"})
	})
	_, body = get(t, srv, "/vod-play/no-thumbnails")
	mustNotContain(t, body, "scrub.js", `id="scrub"`)
	resp, _ = get(t, srv, "/vod-play/audio-only")
	checkHTML(t, resp, http.StatusNotFound)
}
