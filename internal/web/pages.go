// Package web serves Sluice's own web pages: the channel list and a player
// page that plays a channel's HLS or DASH output in the browser. Templates,
// scripts, styles and the vendored players are embedded in the binary.
package web

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/sluice-video/sluice/internal/resource"
)

// Channels is what the pages need from the control plane.
type Channels interface {
	ListChannels(ctx context.Context) ([]resource.Channel, error)
	// GetChannel finds a channel by id or name; the error wraps
	// resource.ErrNotFound when there is none.
	GetChannel(ctx context.Context, ref string) (resource.Channel, error)
	// GetInput finds an input by id or name, for the publishing details of
	// the push inputs a channel's page lists.
	GetInput(ctx context.Context, ref string) (resource.Input, error)
}

// Pages renders the HTML pages and serves their static assets.
type Pages struct {
	channels Channels
	logger   *slog.Logger
	assets   *assetServer
	views    *views
}

// New prepares the pages. It parses the embedded templates and fingerprints
// the embedded assets once, so serving a request does neither.
func New(ch Channels, logger *slog.Logger) *Pages {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	assets := newAssetServer()
	return &Pages{
		channels: ch,
		logger:   logger,
		assets:   assets,
		views:    newViews(assets),
	}
}

// Register adds the pages' routes to mux: the channel list at /, the player
// at /play/{channel}, the API reference at /api-docs and the static assets
// under /assets/.
func (p *Pages) Register(mux *http.ServeMux) {
	mux.Handle("GET /{$}", secured(http.HandlerFunc(p.serveList)))
	mux.Handle("GET /play/{channel}", secured(http.HandlerFunc(p.servePlay)))
	mux.Handle("GET /publish/{input}", secured(http.HandlerFunc(p.servePublish)))
	mux.Handle("GET /api-docs", securedWith(apiDocsContentSecurityPolicy, http.HandlerFunc(p.serveAPIDocs)))
	mux.Handle("GET /assets/", secured(http.StripPrefix("/assets/", p.assets)))
}
