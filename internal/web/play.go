package web

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/sluice-video/sluice/internal/resource"
)

// playPage is the data of the player page.
type playPage struct {
	Channel channelView
	// Kind is the chosen player: playerHLS, playerDASH, playerLLHLS,
	// playerLLDASH, playerTS or playerWebRTC; DashPlayer is true for the
	// two played by dash.js, WebRTC for the browser's own WebRTC.
	Kind       string
	DashPlayer bool
	WebRTC     bool
	// WebRTCURL switches the page to the WebRTC player, when the channel
	// has a WEBRTC endpoint.
	WebRTCURL string
	// ManifestURL is the endpoint the player plays; empty until the channel
	// has one of that type, which the page's script keeps checking for.
	ManifestURL string
	// APIURL is the channel's resource in the JSON API, polled for its state.
	APIURL string
	// HLSURL and DASHURL switch the page to the other player.
	HLSURL, DASHURL string
	// Inputs are the channel's push inputs and where to publish to them.
	Inputs []inputView
	// SpriteTrackURL is an on-demand asset's thumbnails track: the page
	// shows a scrub bar that previews its frames.
	SpriteTrackURL string
}

// servePlay renders the player page of one channel, with the player chosen
// by ?player=hls|dash (HLS when absent).
func (p *Pages) servePlay(w http.ResponseWriter, r *http.Request) {
	ref := r.PathValue("channel")
	kind := r.URL.Query().Get("player")
	switch kind {
	case "":
		kind = playerHLS
	case playerHLS, playerDASH, playerLLHLS, playerLLDASH, playerTS, playerWebRTC:
	default:
		p.renderMessage(w, r, http.StatusBadRequest, "Unknown player",
			"Sluice plays channels with player=hls, dash, llhls, lldash, hlsts or webrtc, not "+kind+".")
		return
	}
	ch, err := p.channels.GetChannel(r.Context(), ref)
	switch {
	case errors.Is(err, resource.ErrNotFound):
		p.renderMessage(w, r, http.StatusNotFound, "Channel not found",
			"There is no channel named "+ref+".")
		return
	case err != nil:
		p.logger.ErrorContext(r.Context(), "getting channel for the player page", "channel", ref, "err", err)
		p.renderMessage(w, r, http.StatusInternalServerError, "Channel unavailable",
			"Sluice could not look up channel "+ref+": "+err.Error())
		return
	}
	t := playerEndpoint[kind]
	play := playPath(ch.Name)
	p.render(w, r, http.StatusOK, p.views.play, playPage{
		Channel:     newChannelView(ch),
		Kind:        kind,
		DashPlayer:  kind == playerDASH || kind == playerLLDASH,
		WebRTC:      kind == playerWebRTC,
		WebRTCURL:   webrtcPlayURL(ch, play),
		ManifestURL: endpointURL(ch, t),
		APIURL:      "/api/v1/channels/" + url.PathEscape(ch.Name),
		HLSURL:      play + "?player=" + playerHLS,
		DASHURL:     play + "?player=" + playerDASH,
		Inputs:      p.attachedInputs(r.Context(), ch),
	})
}

// webrtcPlayURL is the player page with the WebRTC player, or "" for a
// channel without a WEBRTC endpoint.
func webrtcPlayURL(ch resource.Channel, play string) string {
	if endpointURL(ch, resource.OutputWebRTC) == "" {
		return ""
	}
	return play + "?player=" + playerWebRTC
}
