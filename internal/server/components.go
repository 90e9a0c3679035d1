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
	"github.com/sluice-video/sluice/internal/cluster"
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
	"github.com/sluice-video/sluice/internal/input/whip"
	"github.com/sluice-video/sluice/internal/lifecycle"
	"github.com/sluice-video/sluice/internal/liveproxy"
	"github.com/sluice-video/sluice/internal/metrics"
	"github.com/sluice-video/sluice/internal/origin"
	"github.com/sluice-video/sluice/internal/outbound"
	"github.com/sluice-video/sluice/internal/queue"
	"github.com/sluice-video/sluice/internal/redundancy"
	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/rtc"
	"github.com/sluice-video/sluice/internal/signing"
	"github.com/sluice-video/sluice/internal/storage"
	"github.com/sluice-video/sluice/internal/store"
	"github.com/sluice-video/sluice/internal/vod"
	"github.com/sluice-video/sluice/internal/whep"
)

// components are a server's parts, built but not started.
type components struct {
	// store, relay and vod hold what their constructors opened (the
	// databases, the relay's port): closed once, by the group or by
	// discard when the group never started them.
	store   lifecycle.Component
	relay   lifecycle.Component
	vodPart lifecycle.Component

	state   *store.Store
	auth    *auth.Service
	cluster *cluster.Cluster
	// media carries media between the nodes of a cluster (nil on a
	// single server).
	media *clusterMedia
	// pipelines finds the pipelines this node runs, for their feeds to
	// the other nodes (nil: none).
	pipelines redundancy.LookupFunc
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
	rtc       *rtc.Engine
	whep      *whep.Server
	whip      *whip.Server
	// harvestStorage is where harvested packages are written and read.
	harvestStorage storage.Storage
	handler        http.Handler
}

// Names of the parts, as the start order lists them and logs say them.
const (
	partStore         = "the state store"
	partCluster       = "the cluster membership"
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
	partPublishers    = "the records of this node's publishers"
	partHarvest       = "the harvests"
	partPoller        = "the metrics poller"
	partVOD           = "on-demand transcoding"
	partRules         = "the rules engine"
	partAlarms        = "the alarm evaluator"
	partAutomation    = "the alarms and rules"
	partChannels      = "the channel manager"
	partDistributions = "the distributions"
	partRTC           = "the WebRTC ports"
	partWHEP          = "the WebRTC viewers"
	partWHIP          = "the WebRTC publishers"
)

// parts is the start order, each part after the parts it needs; the
// server closes them in reverse.
func (c *components) parts() []lifecycle.Part {
	ps := []lifecycle.Part{
		{Name: partStore, Component: c.store},
		// The node registers before anything takes a channel, and says
		// goodbye (giving its leases up) after the channels stopped.
		{Name: partCluster, Component: c.cluster, Needs: []string{partStore}},
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
		// The DVR service publishes the holes it sees in the archives.
		lifecycle.Part{Name: partDVR, Component: c.dvr, Needs: []string{partBus}},
	)
	if c.media != nil {
		// Publishers are recorded once the listeners tell their ports.
		ps = append(ps, lifecycle.Part{Name: partPublishers, Component: c.media.recorder,
			Needs: append([]string{partStore, partCluster, partIngest}, listeners...)})
	}
	ps = append(ps,
		lifecycle.Part{Name: partHarvest, Component: c.harvest, Needs: []string{partStore}},
		lifecycle.Part{Name: partPoller, Component: c.poller, Needs: []string{partMetrics}},
		lifecycle.Part{Name: partVOD, Component: c.vodPart, Needs: []string{partMetrics, partBus, partHooks}},
		// Rules and alarms act on webhooks, channels and jobs.
		lifecycle.Part{Name: partRules, Component: c.rules, Needs: []string{partBus, partHooks, partVOD}},
		lifecycle.Part{Name: partAlarms, Component: c.alarms, Needs: []string{partStore, partMetrics, partBus, partHooks, partVOD}},
		lifecycle.Part{Name: partAutomation, Component: c.auto, Needs: []string{partStore, partRules, partAlarms}},
		// Channels show their push endpoints with the bound ports, and
		// their events go to the rules.
		lifecycle.Part{Name: partChannels, Component: c.manager, Needs: append([]string{partStore, partCluster, partMetrics, partBus, partIngest, partRelay, partRules}, listeners...)},
		lifecycle.Part{Name: partDistributions, Component: c.dists, Needs: []string{partStore, partMetrics}},
		lifecycle.Part{Name: partRTC, Component: c.rtc},
		// Sessions end before the channels and the ports they use.
		lifecycle.Part{Name: partWHEP, Component: c.whep, Needs: []string{partRTC, partChannels, partMetrics, partBus}},
		lifecycle.Part{Name: partWHIP, Component: c.whip, Needs: []string{partRTC, partIngest, partChannels}},
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
	if c.cluster, err = buildCluster(cfg, st); err != nil {
		_ = st.Close()
		return nil, err
	}
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
		PublicHost: cfg.PublicHost, OneHost: cfg.PublicHostGiven, HTTPBase: cfg.HTTPBase, Logger: logger,
	}
	icfg.RTMP, icfg.RTMPS, icfg.SRT = c.ports()
	var err error
	if c.media, err = buildClusterMedia(ctx, c.cluster, c.state, registry, logger); err != nil {
		return err
	}
	if c.media != nil {
		icfg.Workers.Relay = c.media.puller.Run
		icfg.Nodes = ingestNodes(c.cluster, c.media.recorder.NodePorts)
	}
	c.ingest = ingest.New(icfg)
	if c.media != nil {
		c.media.recorder.Local = c.ingest
		c.media.recorder.Ports = func() store.MediaPorts {
			r, rs, s := c.ports()
			return store.MediaPorts{RTMP: portOf(r), RTMPS: portOf(rs), SRT: portOf(s)}
		}
	}
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
		Cluster:       c.cluster,
		Merge:         c.merger(logger),
		Logger:        logger,
	})
	c.pipelines = pipelineFeeds(c.manager)
	if err := c.buildDVR(ctx, cfg, mediaRoot); err != nil {
		return err
	}
	if err := c.buildHarvest(ctx, cfg, mediaRoot); err != nil {
		return err
	}
	c.poller = &metrics.Poller{Metrics: c.metrics, Channels: c.manager.HeldChannels, Inputs: c.manager.ListInputs}
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
	var originVerifier origin.Verifier
	if verifier != nil {
		originVerifier = verifier
	}
	if c.media != nil {
		// The node that first took a viewer's request checked its
		// signature; the holder trusts the request it forwards.
		originVerifier = liveproxy.TrustPeers(originVerifier, c.media.key)
	}
	var starting func(string) bool
	if c.media != nil {
		starting = c.cluster.Acting
	}
	if c.origin, err = buildOrigin(ctx, cfg, c.state, c.manager, c.dvr, originVerifier, starting); err != nil {
		return err
	}
	c.buildWebRTC(cfg, registry)
	c.handler = c.routes(cfg)
	return nil
}

// buildCluster makes the server a node: of the cluster of every server on
// the PostgreSQL database, or a single server's cluster of one on SQLite.
// Without Config.NodeID, the node's id is the one kept in the data
// directory.
func buildCluster(cfg Config, st *store.Store) (*cluster.Cluster, error) {
	id := cfg.NodeID
	if id == "" {
		var err error
		if id, _, err = cluster.StableID(cfg.Data); err != nil {
			return nil, err
		}
	}
	ccfg := cluster.Config{
		Store: st, NodeID: id, Advertise: cfg.Advertise, MaxChannels: cfg.MaxChannels,
		Version: cfg.Version, Lease: cfg.Lease, Logger: cfg.Logger,
	}
	if st.Pool() == nil {
		return cluster.Solo(ccfg), nil
	}
	return cluster.New(ccfg), nil
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

// buildDVR makes the DVR archives' service: on the local disk
// (<media>/dvr), or on Config.DVRStorage with the index in the state
// database, written under this node's leases on a cluster.
func (c *components) buildDVR(ctx context.Context, cfg Config, mediaRoot string) error {
	dcfg := dvr.Config{Root: filepath.Join(mediaRoot, "dvr"), Sources: dvr.SourcesOf(c.manager), Publish: func(e resource.Event) { c.bus.Publish(e) }, Logger: cfg.Logger}
	if cfg.DVRStorage != "" {
		st, err := storage.Open(ctx, "DVR storage", cfg.DVRStorage, mediaRoot)
		if err != nil {
			return err
		}
		dcfg.Shared = &dvr.Shared{Storage: st, Index: c.state}
		if c.cluster.Shared() {
			dcfg.Holding = dvrHolding(c.cluster)
		}
	}
	c.dvr = dvr.NewService(dcfg)
	return nil
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
	lookup := harvest.LookupIn(c.manager, c.dvr)
	if c.media != nil {
		// Any node harvests any channel: from its archive on shared
		// storage when another node holds it.
		lookup = harvestLookup(c.manager, c.media.outputs, c.dvr)
	}
	c.harvest = harvest.New(harvest.Config{
		Store: c.state, Storage: st, Logger: cfg.Logger, Node: c.cluster.SelfID(),
		Lookup: lookup,
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
// On a cluster, starting says whether this node holds a channel: one it
// holds without segments yet is starting here (it was just taken over),
// and players are told to retry.
func buildOrigin(ctx context.Context, cfg Config, st *store.Store, manager *channel.Manager, archives *dvr.Service, v origin.Verifier, starting func(string) bool) (*origin.Origin, error) {
	secret, err := origin.KeySecret(ctx, st, cfg.Data, cfg.Logger)
	if err != nil {
		return nil, err
	}
	// Without signing keys, every request to a protected endpoint is
	// refused (a nil Verifier).
	lookup := origin.LookupIn(manager, archives)
	if starting != nil {
		base := lookup
		lookup = func(name string) (origin.Channel, bool) {
			ch, ok := base(name)
			ch.Starting = ok && starting(name)
			return ch, ok
		}
	}
	o := origin.New(lookup, cfg.Logger, nil).WithKeySecret(secret).RequireSignatures(v)
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
