package server

import (
	"net/http"

	"github.com/sluice-video/sluice/internal/api"
	"github.com/sluice-video/sluice/internal/auth"
	"github.com/sluice-video/sluice/internal/health"
	"github.com/sluice-video/sluice/internal/httpguard"
	"github.com/sluice-video/sluice/internal/input/relay"
	"github.com/sluice-video/sluice/internal/liveproxy"
	"github.com/sluice-video/sluice/internal/peer"
	"github.com/sluice-video/sluice/internal/problem"
	"github.com/sluice-video/sluice/internal/redundancy"
	"github.com/sluice-video/sluice/internal/stored"
	"github.com/sluice-video/sluice/internal/web"
)

// routes is the route table of the one HTTP listener: which component
// serves which path.
func (c *components) routes(cfg Config) http.Handler {
	mux := http.NewServeMux()
	a := api.New(api.Config{
		Manager: c.plane(), Logger: cfg.Logger, Token: cfg.Token, Version: cfg.Version,
		Metrics: c.metrics, Bus: c.bus, Hooks: c.hooks, VOD: c.vod,
		Distributions: c.dists, Signing: cfg.SigningKeys, Harvests: c.harvest,
		Frames: api.ChannelFrames(c.manager.OpenFrames), FrameLimits: cfg.FrameLimits,
		Kinds: c.plane().Kinds(), Nodes: c.cluster, Auth: c.auth, RequireLogin: cfg.RequireLogin, WebRTC: c.whep,
	})
	a.Register(mux)
	c.whip.Register(mux)
	mux.Handle("GET /harvest/{file...}", stored.Harvested{Storage: c.harvestStorage, Logger: cfg.Logger})
	mux.Handle("GET /vod/{pipeline}/{key...}", stored.VODOutputs{Outputs: c.vod})
	live := http.NewServeMux()
	c.origin.Register(live)
	var liveHandler http.Handler = live
	if c.media != nil {
		// A node of a cluster serves every channel: those it holds from
		// its origin, the others from their holders. Other nodes read
		// the inputs whose publisher is connected here.
		var v liveproxy.Verifier
		if vv := cfg.SigningKeys.Verifier(); vv != nil {
			vv.Trusted = cfg.SigningTrusted
			v = vv
		}
		liveHandler = c.media.proxy(c.cluster, live, v, cfg.Logger)
		mux.Handle(relay.StreamPath, &relay.Stream{Key: c.media.key, Inputs: c.ingest, Logger: cfg.Logger.With("part", "ingest relay")})
	}
	// Other nodes read the pipelines of STANDARD channels that run here;
	// only nodes of a cluster may.
	var feedKey *peer.Key
	if c.media != nil {
		feedKey = c.media.key
	}
	mux.Handle(redundancy.FeedPath, redundancy.FeedHandler(c.pipelines, feedKey, cfg.Logger.With("part", "pipeline feed")))
	measured := c.metrics.MeasureOrigin(liveHandler)
	mux.Handle("/live/", measured)
	mux.Handle("GET /time", measured)
	// The pages need no token: on a server with one, they show what the
	// API shows callers without it.
	pages := web.Redacted{Channels: c.manager}
	if cfg.Token != "" {
		pages.Known = a.KnownSecrets
	}
	webPages := web.New(pages, cfg.Logger)
	webPages.Register(mux)
	webPages.RegisterLogin(mux, a, a.ChangeGuard, func(h http.Handler) http.Handler { return a.Console(auth.RoleViewer, h) })
	webPages.RegisterConsole(mux, web.Console{
		Kinds: c.plane().Kinds(), Guard: a.Console, Allows: api.Allows, Readable: a.Readable, Nodes: c.cluster.Nodes,
	})
	mux.Handle("GET /vod-play/{id}", stored.Player{Assets: c.vod, Pages: webPages, Known: pages.Known, Logger: cfg.Logger})
	mux.Handle("GET /metrics", c.metrics.Handler())
	mux.HandleFunc("GET /healthz", health.Live)
	mux.Handle("GET /readyz", &health.Readiness{Store: c.state, DataDir: cfg.Data, FFmpeg: cfg.FFmpeg, Clock: c.cluster.ClockProblem})
	mux.Handle("/", problem.Answer(http.StatusNotFound, "no such page: see / for the channels, /api-docs and /api/v1/openapi.yaml for the API"))
	if cfg.Token == "" {
		// Without a token every caller is trusted, which holds only for
		// callers on this machine: a page of another site that had its
		// name resolve to 127.0.0.1 would read stream keys and change
		// anything. Its requests still name that site in Host. Every route
		// is guarded, the pages and the origin too: they show stream keys
		// without a token. A server with a token answers for any name, so
		// players on other hosts reach the origin.
		guarded := httpguard.LocalHosts(mux, cfg.PublicHost)
		if c.media != nil {
			return peersPassGuard(c.media.key, mux, guarded)
		}
		return guarded
	}
	return mux
}
