package server

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/sluice-video/sluice/internal/alarm"
	"github.com/sluice-video/sluice/internal/auth"
	"github.com/sluice-video/sluice/internal/automation"
	"github.com/sluice-video/sluice/internal/channel"
	"github.com/sluice-video/sluice/internal/controlplane"
	"github.com/sluice-video/sluice/internal/distribution"
	"github.com/sluice-video/sluice/internal/dvr"
	"github.com/sluice-video/sluice/internal/event"
	"github.com/sluice-video/sluice/internal/harvest"
	"github.com/sluice-video/sluice/internal/input"
	"github.com/sluice-video/sluice/internal/input/ingest"
	"github.com/sluice-video/sluice/internal/input/live"
	"github.com/sluice-video/sluice/internal/input/rtmp"
	"github.com/sluice-video/sluice/internal/input/srt"
	"github.com/sluice-video/sluice/internal/input/switcher"
	"github.com/sluice-video/sluice/internal/lifecycle"
	"github.com/sluice-video/sluice/internal/metrics"
	"github.com/sluice-video/sluice/internal/origin"
	"github.com/sluice-video/sluice/internal/outbound"
	"github.com/sluice-video/sluice/internal/queue"
	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/signing"
	"github.com/sluice-video/sluice/internal/storage"
	"github.com/sluice-video/sluice/internal/store"
	"github.com/sluice-video/sluice/internal/vod"
)

// components are a server's parts, built but not started.
type components struct {
	// store, relay and vod hold what their constructors opened (the
	// databases, the relay's port): closed once, by the group or by
	// discard when the group never started them.
	store   lifecycle.Component
	relay   lifecycle.Component
	vodPart lifecycle.Component

	state     *store.Store
	auth      *auth.Service
	metrics   *metrics.Metrics
	bus       *event.Bus
	hooks     *event.Deliverer
	rtmp      *rtmp.Server
	rtmpPort  *rtmp.Port
	rtmpsPort *rtmp.Port
	srt       *srt.Listener
	ingest    *ingest.Ingest
	manager   *channel.Manager
	dvr       *dvr.Service
	harvest   *harvest.Service
	poller    *metrics.Poller
	vod       *vod.Service
	actions   *event.Actions
	rules     *event.Rules
	alarms    *alarm.Evaluator
	auto      *automation.Service
	dists     *distribution.Service
	origin    *origin.Origin
	// harvestStorage is where harvested packages are written and read.
	harvestStorage storage.Storage
	handler        http.Handler
}

// Names of the parts, as the start order lists them and logs say them.
const (
	partStore         = "the state store"
	partMetrics       = "the metrics history"
	partBus           = "the event bus"
	partHooks         = "the webhook deliverer"
	partRTMP          = "the RTMP connections"
	partRTMPPort      = "the RTMP listener"
	partRTMPSPort     = "the RTMPS listener"
	partSRT           = "the SRT listener"
	partIngest        = "the live ingest"
	partRelay         = "the outbound relay"
	partDVR           = "the DVR archives"
	partHarvest       = "the harvests"
	partPoller        = "the metrics poller"
	partVOD           = "on-demand transcoding"
	partRules         = "the rules engine"
	partAlarms        = "the alarm evaluator"
	partAutomation    = "the alarms and rules"
	partChannels      = "the channel manager"
	partDistributions = "the distributions"
)

// parts is the start order, each part after the parts it needs; the
// server closes them in reverse.
func (c *components) parts() []lifecycle.Part {
	ps := []lifecycle.Part{
		{Name: partStore, Component: c.store},
		{Name: partMetrics, Component: c.metrics},
		{Name: partBus, Component: c.bus},
		{Name: partHooks, Component: c.hooks},
	}
	listeners := []string{}
	if c.rtmp != nil {
		ps = append(ps, lifecycle.Part{Name: partRTMP, Component: c.rtmp})
	}
	if c.rtmpPort != nil {
		ps = append(ps, lifecycle.Part{Name: partRTMPPort, Component: c.rtmpPort, Needs: []string{partRTMP}})
		listeners = append(listeners, partRTMPPort)
	}
	if c.rtmpsPort != nil {
		ps = append(ps, lifecycle.Part{Name: partRTMPSPort, Component: c.rtmpsPort, Needs: []string{partRTMP}})
		listeners = append(listeners, partRTMPSPort)
	}
	if c.srt != nil {
		ps = append(ps, lifecycle.Part{Name: partSRT, Component: c.srt})
		listeners = append(listeners, partSRT)
	}
	ps = append(ps,
		lifecycle.Part{Name: partIngest, Component: c.ingest},
		lifecycle.Part{Name: partRelay, Component: c.relay},
		lifecycle.Part{Name: partDVR, Component: c.dvr},
		lifecycle.Part{Name: partHarvest, Component: c.harvest, Needs: []string{partStore}},
		lifecycle.Part{Name: partPoller, Component: c.poller, Needs: []string{partMetrics}},
		lifecycle.Part{Name: partVOD, Component: c.vodPart, Needs: []string{partMetrics, partBus, partHooks}},
		// Rules and alarms act on webhooks, channels and jobs.
		lifecycle.Part{Name: partRules, Component: c.rules, Needs: []string{partBus, partHooks, partVOD}},
		lifecycle.Part{Name: partAlarms, Component: c.alarms, Needs: []string{partStore, partMetrics, partBus, partHooks, partVOD}},
		lifecycle.Part{Name: partAutomation, Component: c.auto, Needs: []string{partStore, partRules, partAlarms}},
		// Channels show their push endpoints with the bound ports, and
		// their events go to the rules.
		lifecycle.Part{Name: partChannels, Component: c.manager, Needs: append([]string{partStore, partMetrics, partBus, partIngest, partRelay, partRules}, listeners...)},
		lifecycle.Part{Name: partDistributions, Component: c.dists, Needs: []string{partStore, partMetrics}},
	)
	return ps
}

// build makes every component in the order they need each other; nothing
// starts.
func build(ctx context.Context, cfg Config) (*components, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	mediaRoot := filepath.Join(cfg.Data, "media")
	st, err := store.Open(ctx, stateDSN(cfg))
	if err != nil {
		return nil, err
	}
	cfg.Logger.Info("the state database is " + st.Where())
	c := &components{state: st, store: lifecycle.Once(lifecycle.Funcs{OnClose: func(context.Context) error { return st.Close() }})}
	if err := c.build(ctx, cfg, mediaRoot); err != nil {
		c.discard()
		return nil, err
	}
	return c, nil
}

func (c *components) build(ctx context.Context, cfg Config, mediaRoot string) error {
	logger := cfg.Logger
	c.metrics = metrics.New(metrics.Config{Logger: logger})
	acfg := cfg.Auth
	acfg.Store, acfg.Logger, acfg.LoginRefused = c.state, logger, c.metrics.LoginRefused
	c.auth = auth.New(acfg)
	c.bus = event.NewBus(event.BusConfig{FirstSeq: event.FirstSeqAt(time.Now()), Metrics: c.metrics, Logger: logger})
	c.hooks = event.NewDeliverer(event.WebhookConfig{Metrics: c.metrics, Policy: cfg.Outbound, Logger: logger})

	registry := live.NewRegistry(nil)
	if err := c.buildListeners(cfg, registry); err != nil {
		return err
	}
	icfg := ingest.Config{
		Registry: registry, Workers: ingest.ProtocolWorkers(registry, cfg.Outbound, logger),
		PublicHost: cfg.PublicHost, Logger: logger,
	}
	icfg.RTMP, icfg.RTMPS, icfg.SRT = c.ports()
	c.ingest = ingest.New(icfg)
	relay, err := outbound.NewRelay(cfg.Outbound, logger)
	if err != nil {
		return err
	}
	c.relay = lifecycle.Once(relay)
	var outputStorage storage.Storage
	if cfg.OutputStorage != "" {
		if outputStorage, err = storage.Open(ctx, "output storage", cfg.OutputStorage, mediaRoot); err != nil {
			return err
		}
	}
	c.manager = channel.New(channel.Config{
		OutputStorage: outputStorage,
		Store:         c.state,
		Resolver:      input.Resolver{MediaRoot: mediaRoot, MediaAllow: cfg.MediaAllow, Relay: relay, FontFile: cfg.FontFile},
		FFmpeg:        cfg.FFmpeg,
		FFprobe:       cfg.FFprobe,
		Live:          c.ingest,
		Fills:         &switcher.FillMaker{FFmpeg: cfg.FFmpeg},
		Observer:      metrics.ChannelObserver{Metrics: c.metrics, Publish: c.bus.Publish},
		Logger:        logger,
	})
	c.dvr = dvr.NewService(dvr.Config{Root: filepath.Join(mediaRoot, "dvr"), Sources: dvr.SourcesOf(c.manager), Logger: logger})
	if err := c.buildHarvest(ctx, cfg, mediaRoot); err != nil {
		return err
	}
	c.poller = &metrics.Poller{Metrics: c.metrics, Channels: c.manager.ListChannels, Inputs: c.manager.ListInputs}
	// On-demand transcoding comes before the actions, which submit its
	// jobs.
	c.vod, err = c.openVOD(ctx, cfg, vod.Config{
		FFmpeg: cfg.FFmpeg, FFprobe: cfg.FFprobe, DataDir: cfg.Data,
		MediaAllow: cfg.MediaAllow, Outbound: cfg.Outbound,
		Workers: cfg.VODWorkers, Events: c.bus, Metrics: c.metrics, Webhooks: c.hooks, Logger: logger.With("part", "vod"),
		JobTimeout: cfg.JobTimeout, VisibilityTimeout: cfg.VisibilityTimeout,
	})
	if err != nil {
		return err
	}
	// Running jobs get 10 s to finish at shutdown, whatever the parts
	// closed before took.
	c.vodPart = lifecycle.Once(lifecycle.CloseWithin(10*time.Second, c.vod))
	c.actions = &event.Actions{Webhooks: c.hooks, Channels: c.manager, Jobs: c.vod}
	c.rules = event.NewRules(event.RulesConfig{Bus: c.bus, Runner: c.actions, Logger: logger})
	c.alarms = alarm.New(alarm.Config{
		Metrics: c.metrics, Store: c.state, Actions: c.actions, Logger: logger,
		Publish: func(e resource.Event) { c.bus.Publish(e) },
	})
	c.auto = automation.New(automation.Config{Store: c.state, Alarms: c.alarms, Rules: c.rules, Logger: logger})
	verifier := cfg.SigningKeys.Verifier()
	if verifier != nil {
		verifier.Trusted = cfg.SigningTrusted
	}
	if c.dists, err = buildDistributions(cfg, c.state, c.metrics, verifier); err != nil {
		return err
	}
	if c.origin, err = buildOrigin(ctx, cfg, c.state, c.manager, c.dvr, verifier); err != nil {
		return err
	}
	c.handler = c.routes(cfg)
	return nil
}

// stateDSN is where the server's state is: the PostgreSQL database of
// Config.Database, or sluice.db in the data directory.
func stateDSN(cfg Config) string {
	if store.IsPostgres(cfg.Database) {
		return cfg.Database
	}
	return filepath.Join(cfg.Data, "sluice.db")
}

// openVOD builds the on-demand service on its queue: in the state's
// PostgreSQL database through the store's pool, or in queue.db (or the
// SQLite file Config.Database names) beside an SQLite state.
func (c *components) openVOD(ctx context.Context, cfg Config, vcfg vod.Config) (*vod.Service, error) {
	pool := c.state.Pool()
	if pool == nil {
		return vod.Open(ctx, vod.QueueDSN(cfg.Database, cfg.Data), vcfg)
	}
	q, err := queue.OnPool(ctx, pool)
	if err != nil {
		return nil, err
	}
	return vod.OnQueue(ctx, q, vcfg)
}

// buildListeners makes the media listeners that cfg asks for.
func (c *components) buildListeners(cfg Config, reg *live.Registry) error {
	if cfg.RTMP != "" || cfg.RTMPS != "" {
		c.rtmp = &rtmp.Server{
			Registry: reg, Logger: cfg.Logger, Counter: c.metrics, Limits: cfg.IngestLimits,
			FirstBytesTimeout: cfg.IngestFirstBytesTimeout, HandshakeTimeout: cfg.IngestHandshakeTimeout,
		}
	}
	if cfg.RTMP != "" {
		c.rtmpPort = &rtmp.Port{Server: c.rtmp, Name: "RTMP", Addr: cfg.RTMP, Hint: ` (pass --rtmp with another address, or "" to serve no RTMP)`}
	}
	if cfg.RTMPS != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			return fmt.Errorf("RTMPS needs a certificate: %w", err)
		}
		c.rtmpsPort = &rtmp.Port{Server: c.rtmp, Name: "RTMPS", Addr: cfg.RTMPS,
			TLS: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}}
	}
	if cfg.SRT != "" {
		c.srt = &srt.Listener{Address: cfg.SRT, Registry: reg, Logger: cfg.Logger, Counter: c.metrics, Limits: cfg.IngestLimits}
	}
	return nil
}

// ports are the media listeners as the ingest asks them for their ports
// (nil when not served).
func (c *components) ports() (rtmpPort, rtmpsPort, srtPort ingest.Port) {
	if c.rtmpPort != nil {
		rtmpPort = c.rtmpPort
	}
	if c.rtmpsPort != nil {
		rtmpsPort = c.rtmpsPort
	}
	if c.srt != nil {
		srtPort = c.srt
	}
	return rtmpPort, rtmpsPort, srtPort
}

// buildHarvest makes the harvest jobs' service, writing packages to
// Config.HarvestStorage (default <media root>/harvest), served at
// /harvest/.
func (c *components) buildHarvest(ctx context.Context, cfg Config, mediaRoot string) error {
	raw := cfg.HarvestStorage
	if raw == "" {
		raw = filepath.Join(mediaRoot, "harvest")
	}
	st, err := storage.Open(ctx, "harvest storage", raw, mediaRoot)
	if err != nil {
		return err
	}
	c.harvestStorage = st
	c.harvest = harvest.New(harvest.Config{
		Store: c.state, Storage: st, Logger: cfg.Logger,
		Lookup: harvest.LookupIn(c.manager, c.dvr),
	})
	return nil
}

// buildDistributions makes the service of the distributions' edges.
// Without a token, whoever reaches the server may create distributions:
// their edges stay on loopback.
func buildDistributions(cfg Config, st *store.Store, m *metrics.Metrics, verifier *signing.Verifier) (*distribution.Service, error) {
	dcfg := distribution.Config{
		Store: st, Metrics: m, LoopbackOnly: cfg.Token == "",
		ReadTimeout: cfg.ReadTimeout, MaxConnsPerClient: cfg.MaxConnsPerClient, Logger: cfg.Logger,
	}
	if cfg.SegmentSpoolMB > 0 {
		dcfg.SpoolDir, dcfg.SpoolBytes = filepath.Join(cfg.Data, "spool-edges"), int64(cfg.SegmentSpoolMB)<<20
		if err := os.RemoveAll(dcfg.SpoolDir); err != nil {
			return nil, err
		}
	}
	if verifier != nil {
		// Edges check viewers' signatures; the origin's trusted networks
		// are for the edges in front of it, not for viewers of an edge.
		ev := *verifier
		ev.Trusted = nil
		dcfg.Verifier = &ev
	}
	return distribution.New(dcfg), nil
}

// buildOrigin makes the origin of the live channels, with the state
// database's encryption secret and, when Config.SegmentSpoolMB is
// positive, a spool of recent segments.
func buildOrigin(ctx context.Context, cfg Config, st *store.Store, manager *channel.Manager, archives *dvr.Service, verifier *signing.Verifier) (*origin.Origin, error) {
	secret, err := origin.KeySecret(ctx, st, cfg.Data, cfg.Logger)
	if err != nil {
		return nil, err
	}
	// Without signing keys, every request to a protected endpoint is
	// refused (a nil Verifier).
	var v origin.Verifier
	if verifier != nil {
		v = verifier
	}
	o := origin.New(origin.LookupIn(manager, archives), cfg.Logger, nil).WithKeySecret(secret).RequireSignatures(v)
	if cfg.SegmentSpoolMB <= 0 {
		return o, nil
	}
	return o.WithSpool(filepath.Join(cfg.Data, "spool"), int64(cfg.SegmentSpoolMB)<<20)
}

// plane is the control plane of the API and of stacks.
func (c *components) plane() controlplane.Plane {
	return controlplane.Plane{Channels: c.manager, Automation: c.auto, Distributions: c.dists, VOD: c.vod}
}

// discard closes what the constructors opened, for a server that did not
// start (or started only in part: the group closed the rest).
func (c *components) discard() {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for _, p := range []lifecycle.Component{c.vodPart, c.relay, c.store} {
		if p != nil {
			_ = p.Close(ctx)
		}
	}
}
