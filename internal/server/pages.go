package server

import (
	"context"

	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/secret"
	"github.com/sluice-video/sluice/internal/web"
)

// pagesView is the control plane as the web pages show it. The pages need
// no token, so on a server that has one (known is set) everything they
// show goes through secret.Redact with every secret the server holds,
// exactly as the API's answers to callers without the token do.
type pagesView struct {
	web.Channels
	known func(context.Context) (*secret.Known, error)
}

func (p pagesView) ListChannels(ctx context.Context) ([]resource.Channel, error) {
	chs, err := p.Channels.ListChannels(ctx)
	if err != nil {
		return nil, err
	}
	return redactFor(ctx, p.known, chs)
}

func (p pagesView) GetChannel(ctx context.Context, ref string) (resource.Channel, error) {
	ch, err := p.Channels.GetChannel(ctx, ref)
	if err != nil {
		return ch, err
	}
	return redactFor(ctx, p.known, ch)
}

func (p pagesView) GetInput(ctx context.Context, ref string) (resource.Input, error) {
	in, err := p.Channels.GetInput(ctx, ref)
	if err != nil {
		return in, err
	}
	return redactFor(ctx, p.known, in)
}

// redactFor is v as a page may show it: as it is without known, else
// redacted with what known finds.
func redactFor[T any](ctx context.Context, known func(context.Context) (*secret.Known, error), v T) (T, error) {
	if known == nil {
		return v, nil
	}
	k, err := known(ctx)
	if err != nil {
		var zero T
		return zero, err
	}
	return secret.Redact(v, k), nil
}
