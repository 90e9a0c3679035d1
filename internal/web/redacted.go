package web

import (
	"context"

	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/secret"
)

// Redacted is the control plane as the pages show it. The pages need no
// token, so on a server that has one (Known is set) everything they show
// goes through secret.Redact with every secret the server holds, exactly
// as the API's answers to callers without the token do.
type Redacted struct {
	Channels
	Known secret.KnownFunc
}

// ListChannels lists the channels, redacted.
func (p Redacted) ListChannels(ctx context.Context) ([]resource.Channel, error) {
	chs, err := p.Channels.ListChannels(ctx)
	if err != nil {
		return nil, err
	}
	return secret.RedactFor(ctx, p.Known, chs)
}

// GetChannel returns a channel, redacted.
func (p Redacted) GetChannel(ctx context.Context, ref string) (resource.Channel, error) {
	ch, err := p.Channels.GetChannel(ctx, ref)
	if err != nil {
		return ch, err
	}
	return secret.RedactFor(ctx, p.Known, ch)
}

// GetInput returns an input, redacted.
func (p Redacted) GetInput(ctx context.Context, ref string) (resource.Input, error) {
	in, err := p.Channels.GetInput(ctx, ref)
	if err != nil {
		return in, err
	}
	return secret.RedactFor(ctx, p.Known, in)
}
