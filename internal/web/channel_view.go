package web

import (
	"net/url"
	"strings"

	"github.com/sluice-video/sluice/internal/resource"
)

// Player kinds the player page offers, as named in its ?player= query.
const (
	playerHLS  = "hls"
	playerDASH = "dash"
	// The low-latency players: hls.js and dash.js in low-latency mode.
	playerLLHLS  = "llhls"
	playerLLDASH = "lldash"
	// playerTS plays the HLS_TS endpoint with hls.js.
	playerTS = "hlsts"
	// playerWebRTC plays the WEBRTC endpoint with the browser's own
	// RTCPeerConnection (WHEP).
	playerWebRTC = "webrtc"
)

// playerEndpoint is the endpoint type each player plays.
var playerEndpoint = map[string]resource.OutputType{
	playerHLS: resource.OutputHLS, playerDASH: resource.OutputDASH,
	playerLLHLS: resource.OutputLLHLS, playerLLDASH: resource.OutputLLDASH,
	playerTS: resource.OutputHLSTS, playerWebRTC: resource.OutputWebRTC,
}

// channelView is a channel as the pages show it. assets/channels.js builds
// the same markup from the JSON API when the list refreshes.
type channelView struct {
	Name        string
	State       resource.ChannelState
	StateClass  string
	StateReason string
	LastError   string
	PlayURL     string
	Players     []playerLink
	Endpoints   []resource.EndpointURL
}

// playerLink points at the player page with one player chosen.
type playerLink struct {
	Label string
	URL   string
}

// newChannelView prepares a channel for the templates.
func newChannelView(ch resource.Channel) channelView {
	play := playPath(ch.Name)
	v := channelView{
		Name:        ch.Name,
		State:       ch.State,
		StateClass:  stateClass(ch.State),
		StateReason: ch.StateReason,
		LastError:   ch.LastError,
		PlayURL:     play,
		Endpoints:   ch.Endpoints,
	}
	if endpointURL(ch, resource.OutputHLS) != "" {
		v.Players = append(v.Players, playerLink{Label: "HLS", URL: play + "?player=" + playerHLS})
	}
	if endpointURL(ch, resource.OutputDASH) != "" {
		v.Players = append(v.Players, playerLink{Label: "DASH", URL: play + "?player=" + playerDASH})
	}
	if endpointURL(ch, resource.OutputLLHLS) != "" {
		v.Players = append(v.Players, playerLink{Label: "LL-HLS", URL: play + "?player=" + playerLLHLS})
	}
	if endpointURL(ch, resource.OutputHLSTS) != "" {
		v.Players = append(v.Players, playerLink{Label: "HLS (TS)", URL: play + "?player=" + playerTS})
	}
	if endpointURL(ch, resource.OutputLLDASH) != "" {
		v.Players = append(v.Players, playerLink{Label: "LL-DASH", URL: play + "?player=" + playerLLDASH})
	}
	if endpointURL(ch, resource.OutputWebRTC) != "" {
		v.Players = append(v.Players, playerLink{Label: "WebRTC", URL: play + "?player=" + playerWebRTC})
	}
	return v
}

// playPath is the player page of the named channel.
func playPath(name string) string {
	return "/play/" + url.PathEscape(name)
}

// stateClass is the CSS class that colours a state badge, such as
// "state-create-failed".
func stateClass(s resource.ChannelState) string {
	if s == "" {
		return "state-unknown"
	}
	return "state-" + strings.ToLower(strings.ReplaceAll(string(s), "_", "-"))
}

// endpointURL is the URL of the channel's first endpoint of type t, or "".
func endpointURL(ch resource.Channel, t resource.OutputType) string {
	for _, e := range ch.Endpoints {
		if e.Type == t {
			return e.URL
		}
	}
	return ""
}
