package web

import (
	"net/http"
	"net/url"

	"github.com/sluice-video/sluice/internal/resource"
)

// VODPlayer describes an on-demand asset for the player page.
type VODPlayer struct {
	// Name titles the page ("asset job-…").
	Name string
	// HLSURL and DASHURL are the asset's manifests.
	HLSURL, DASHURL string
	// APIURL is the asset's resource in the JSON API.
	APIURL string
	// PagePath is the page's own path, to switch players.
	PagePath string
	// SpriteTrackURL is the asset's WebVTT track of sprite tiles, when
	// it has one: the page's scrub bar previews its frames.
	SpriteTrackURL string
}

// ServeVODPlayer renders the player page for a finished on-demand asset,
// with the player chosen by ?player=hls|dash (HLS when absent). The page
// is the channels' player page: same players, statistics and checks.
func (p *Pages) ServeVODPlayer(w http.ResponseWriter, r *http.Request, v VODPlayer) {
	secured(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { p.serveVODPlayer(w, r, v) })).ServeHTTP(w, r)
}

func (p *Pages) serveVODPlayer(w http.ResponseWriter, r *http.Request, v VODPlayer) {
	kind := r.URL.Query().Get("player")
	switch kind {
	case "":
		kind = playerHLS
	case playerHLS, playerDASH:
	default:
		p.renderMessage(w, r, http.StatusBadRequest, "Unknown player",
			"Sluice plays assets with player=hls or player=dash, not "+kind+".")
		return
	}
	manifest := v.HLSURL
	if kind == playerDASH {
		manifest = v.DASHURL
	}
	if manifest == "" {
		p.renderMessage(w, r, http.StatusNotFound, "No adaptive output",
			"This asset was made without an ABR preset, so it has no "+kind+" manifest to play.")
		return
	}
	state := resource.ChannelState("COMPLETE")
	p.render(w, r, http.StatusOK, p.views.play, playPage{
		Channel:     channelView{Name: v.Name, State: state, StateClass: "state-complete"},
		Kind:        kind,
		DashPlayer:  kind == playerDASH,
		ManifestURL: manifest,
		APIURL:      v.APIURL,
		HLSURL:      v.PagePath + "?player=" + url.QueryEscape(playerHLS),
		DASHURL:     v.PagePath + "?player=" + url.QueryEscape(playerDASH),

		SpriteTrackURL: v.SpriteTrackURL,
	})
}
