package web

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/sluice-video/sluice/internal/resource"
)

// inputView is a push input attached to a channel, as the channel page
// shows it: where to publish, ready to paste into an encoder.
type inputView struct {
	Name string
	Type resource.InputType
	// Role is "primary" or "secondary" for a failover pair, else "".
	Role string
	// Status says whether a publisher is connected, in words.
	Status    string
	Connected bool
	StreamKey string
	// KeyHidden is set when the server keeps stream keys to callers with
	// the API token; the page then says where to read them.
	KeyHidden bool
	Endpoints []publishView
}

// publishView is one endpoint URL of a push input. For RTMP(S), OBS and
// most hardware encoders ask for the server and the stream key apart, so
// both are given as well as the whole URL ffmpeg takes.
type publishView struct {
	Protocol string
	URL      string
	Server   string
	Key      string
	// Browser is the page that publishes the browser's camera (WHIP).
	Browser string
}

// attachedInputs looks up the push inputs the channel's attachments name,
// primary before secondary. An input that cannot be read is shown with the
// reason rather than hiding the page.
func (p *Pages) attachedInputs(ctx context.Context, ch resource.Channel) []inputView {
	var out []inputView
	pair := false
	for _, a := range ch.InputAttachments {
		if a.SecondaryInput != "" {
			pair = true
		}
	}
	add := func(name, role string) {
		in, err := p.channels.GetInput(ctx, name)
		switch {
		case errors.Is(err, resource.ErrNotFound):
			out = append(out, inputView{Name: name, Role: role, Status: "this input does not exist"})
			return
		case err != nil:
			p.logger.ErrorContext(ctx, "getting an input for the channel page", "channel", ch.Name, "input", name, "err", err)
			out = append(out, inputView{Name: name, Role: role, Status: "could not be looked up: " + err.Error()})
			return
		}
		if !in.Type.IsPush() {
			return
		}
		out = append(out, newInputView(in, role))
	}
	for _, a := range ch.InputAttachments {
		role := ""
		if pair {
			role = "primary"
		}
		add(a.Input, role)
		if a.SecondaryInput != "" {
			add(a.SecondaryInput, "secondary")
		}
	}
	return out
}

// newInputView prepares a push input for the template.
func newInputView(in resource.Input, role string) inputView {
	v := inputView{Name: in.Name, Type: in.Type, Role: role, StreamKey: in.StreamKey, Status: "waiting for a publisher"}
	v.KeyHidden = in.StreamKey == resource.HiddenStreamKey
	if l := in.Live; l != nil {
		switch {
		case l.Connected:
			v.Connected = true
			v.Status = fmt.Sprintf("receiving from %s over %s", l.Publisher, l.Protocol)
			if l.Video != "" {
				v.Status += fmt.Sprintf(": %s %dx%d", l.Video, l.Width, l.Height)
			}
			if l.Audio != "" {
				v.Status += ", " + l.Audio
			}
			if l.BitrateIn > 0 {
				v.Status += fmt.Sprintf(", %.2f Mbit/s", float64(l.BitrateIn)/1e6)
			}
		case l.LastPublisher != "":
			v.Status = fmt.Sprintf("waiting for a publisher (the last, %s, ended: %s)", l.LastPublisher, l.LastEndReason)
		}
	}
	for _, u := range in.Endpoints {
		pv := newPublishView(u, in.StreamKey)
		if in.Type == resource.InputWHIPPush {
			// OBS asks for the WHIP server and a bearer token.
			pv.Protocol, pv.Server, pv.Key = "WHIP", u, in.StreamKey
			pv.Browser = publishPath(in.Name)
		}
		v.Endpoints = append(v.Endpoints, pv)
	}
	return v
}

// newPublishView splits an RTMP(S) URL ending in the stream key into the
// server and key fields encoders ask for.
func newPublishView(u, key string) publishView {
	proto, _, _ := strings.Cut(u, "://")
	pv := publishView{Protocol: strings.ToUpper(proto), URL: u}
	if (proto == "rtmp" || proto == "rtmps") && key != "" {
		if server, ok := strings.CutSuffix(u, "/"+key); ok {
			pv.Server, pv.Key = server, key
		}
	}
	return pv
}
