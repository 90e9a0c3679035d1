// Package server assembles Sluice: the state store, the control plane
// (inputs, channels, alarms, rules), the live ingest and its protocol
// listeners, the origin, the API, the pages, metrics and events, all on one
// HTTP listener plus the media listeners (RTMP, RTMPS, SRT).
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/sluice-video/sluice/internal/alarm"
	"github.com/sluice-video/sluice/internal/api"
	"github.com/sluice-video/sluice/internal/automation"
	"github.com/sluice-video/sluice/internal/channel"
	"github.com/sluice-video/sluice/internal/distribution"
	"github.com/sluice-video/sluice/internal/dvr"
	"github.com/sluice-video/sluice/internal/event"
	"github.com/sluice-video/sluice/internal/filemode"
	"github.com/sluice-video/sluice/internal/harvest"
	"github.com/sluice-video/sluice/internal/httpguard"
	"github.com/sluice-video/sluice/internal/input"
	"github.com/sluice-video/sluice/internal/input/ingest"
	"github.com/sluice-video/sluice/internal/input/live"
	"github.com/sluice-video/sluice/internal/input/rtmp"
	"github.com/sluice-video/sluice/internal/input/srt"
	"github.com/sluice-video/sluice/internal/input/switcher"
	"github.com/sluice-video/sluice/internal/metrics"
	"github.com/sluice-video/sluice/internal/origin"
	"github.com/sluice-video/sluice/internal/outbound"
	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/signing"
	"github.com/sluice-video/sluice/internal/stack"
	"github.com/sluice-video/sluice/internal/storage"
	"github.com/sluice-video/sluice/internal/store"
	"github.com/sluice-video/sluice/internal/vod"
)

// Config configures a server.
type Config struct {
	// Data is the data directory: sluice.db and media/.
	Data string
	// Token, when set, guards changes through the API.
	Token string
	// FFmpeg and FFprobe are the binaries to run.
	FFmpeg, FFprobe string
	// FontFile is burnt into test patterns.
	FontFile string
	// RTMP, RTMPS and SRT are the media listeners' addresses ("" serves
	// none); RTMPS needs TLSCert and TLSKey.
	RTMP, RTMPS, SRT string
	TLSCert, TLSKey  string
	// IngestLimits bound the connections to the RTMP (with RTMPS) and the
	// SRT ports that are in their handshake, per source address and in
	// all; IngestFirstBytesTimeout and IngestHandshakeTimeout bound the
	// time an RTMP client may take to send C0 and C1, and to get as far as
	// an admitted publish. Zeros take the defaults.
	IngestLimits            live.HandshakeLimits
	IngestFirstBytesTimeout time.Duration
	IngestHandshakeTimeout  time.Duration
	// PublicHost is the host publishers are told to send to.
	PublicHost string
	// SigningKeys sign and check signed URLs and cookies: the origin checks
	// them on endpoints that require them, distributions that require them
	// check them at the edge, and POST /api/v1/sign mints them. Several
	// keys may be valid at once while they are rotated.
	SigningKeys *signing.Keyring
	// SigningTrusted lists networks whose requests need no signature at
	// the origin: the edges in front of it, which check signatures
	// themselves and leave them out of their origin requests.
	SigningTrusted []netip.Prefix
	Version        string
	Logger         *slog.Logger
	// Queue is the on-demand job database: "" for SQLite in the data
	// directory, or a postgres:// URL shared with other nodes.
	Queue string
	// VODWorkers is how many on-demand jobs this node runs at once (0: none).
	VODWorkers int
	// JobTimeout bounds one attempt of an on-demand job (default 2 h);
	// VisibilityTimeout is when another node takes over a job whose node
	// went silent (default JobTimeout + 10 min).
	JobTimeout        time.Duration
	VisibilityTimeout time.Duration
	// HarvestStorage is where live-to-VOD packages are written: "" for
	// <data>/media/harvest, a folder, or an s3:// location (credentials
	// from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY).
	HarvestStorage string
	// OutputStorage is where ARCHIVE files and frame captures are moved
	// once finished: "" keeps them in <data>/media/outputs, or a folder, or
	// an s3:// location.
	OutputStorage string
	// MediaAllow lists the folders besides <data>/media that FILE inputs,
	// slates and pipeline folders may name (--media-allow).
	MediaAllow []string
	// Outbound says which addresses Sluice may connect to for its users:
	// webhooks, pulled sources, remote files, pipeline storage. Nil allows
	// every address.
	Outbound *outbound.Policy
	// SegmentSpoolMB, when positive, keeps that many MiB of recent segments
	// as files in <data>/spool, sent with sendfile(2); 0 serves them from
	// memory.
	SegmentSpoolMB int
	// ReadTimeout bounds the time a client may take to send a request,
	// body included (default httpguard.DefaultReadTimeout);
	// MaxConnsPerClient bounds the connections one client address holds
	// (0: no bound). Both apply to the HTTP listener (see HTTPGuard) and
	// to the distributions' edges.
	ReadTimeout       time.Duration
	MaxConnsPerClient int
	// FrameLimits bound the frames API's streams: how many at once, in all
	// and per client address, and how long a client may leave a frame
	// untaken (zero values take the defaults).
	FrameLimits api.FrameLimits
}

// Server is a running Sluice, minus its HTTP listener (see Handler).
type Server struct {
	cfg       Config
	jobAction jobAction
	logger    *slog.Logger
	store     *store.Store
	metrics   *metrics.Metrics
	bus       *event.Bus
	hooks     *event.Deliverer
	alarms    *alarm.Evaluator
	rules     *event.Rules
	manager   *channel.Manager
	auto      *automation.Service
	dists     *distribution.Service
	verify    *signing.Verifier
	ingest    *ingest.Ingest
	rtmp      *rtmp.Server
	srt       *srt.Listener
	vod       *vod.Service
	ports     mediaPorts
	handler   http.Handler
	dvr       *dvr.Service
	harvest   *harvest.Service
	origin    *origin.Origin
	// harvestStorage is where harvested packages are written.
	harvestStorage storage.Storage

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	closes []func()
}

// ControlPlane is every resource operation: channels and inputs, alarms
// and rules, distributions.
type ControlPlane struct {
	*channel.Manager
	*automation.Service
	*Distributions
	*VOD
}

// VOD is on-demand transcoding (named for embedding in ControlPlane).
type VOD = vod.Service

// Distributions runs the distributions' edges (named for embedding in
// ControlPlane next to automation.Service).
type Distributions = distribution.Service

// New builds and boots a server: stored resources are back, channels that
// were running start again, and the media listeners are open.
func New(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	// The data directory holds secrets: made private when it is made,
	// and a warning when it is not.
	if err := os.MkdirAll(cfg.Data, 0o700); err != nil {
		return nil, fmt.Errorf("creating the data directory: %w", err)
	}
	if shared, err := filemode.Shared(cfg.Data); err == nil && shared != "" {
		cfg.Logger.Warn(shared + "; it holds the state database, the API token and the encryption secret: chmod 700 it")
	}
	mediaRoot := filepath.Join(cfg.Data, "media")
	if err := os.MkdirAll(mediaRoot, 0o750); err != nil {
		return nil, fmt.Errorf("creating the data directory: %w", err)
	}
	st, err := store.Open(ctx, filepath.Join(cfg.Data, "sluice.db"))
	if err != nil {
		return nil, err
	}
	runCtx, cancel := context.WithCancel(context.Background())
	s := &Server{cfg: cfg, logger: cfg.Logger, store: st, ctx: runCtx, cancel: cancel}
	if err := s.build(ctx, mediaRoot); err != nil {
		s.Close(context.Background())
		return nil, err
	}
	return s, nil
}

func (s *Server) build(ctx context.Context, mediaRoot string) error {
	logger := s.logger
	s.metrics = metrics.New(metrics.Config{Logger: logger})
	s.bus = event.NewBus(event.BusConfig{Metrics: s.metrics, Logger: logger})
	s.hooks = event.NewDeliverer(event.WebhookConfig{Metrics: s.metrics, Policy: s.cfg.Outbound, Logger: logger})
	registry := live.NewRegistry(nil)
	if err := s.listen(registry); err != nil {
		return err
	}
	s.ingest = ingest.New(ingest.Config{
		Registry:   registry,
		Workers:    s.workers(registry),
		PublicHost: s.cfg.PublicHost,
		RTMPPort:   s.ports.rtmp, RTMPSPort: s.ports.rtmps, SRTPort: s.ports.srt,
		Logger: logger,
	})
	s.closes = append(s.closes, s.ingest.Close)
	relay, err := outbound.NewRelay(s.cfg.Outbound, logger)
	if err != nil {
		return err
	}
	s.closes = append(s.closes, relay.Close)
	var outputStorage storage.Storage
	if s.cfg.OutputStorage != "" {
		st, err := openStorage(ctx, "output storage", s.cfg.OutputStorage, mediaRoot)
		if err != nil {
			return err
		}
		outputStorage = st
	}
	s.manager = channel.New(channel.Config{
		OutputStorage: outputStorage,
		Store:         s.store,
		Resolver:      input.Resolver{MediaRoot: mediaRoot, MediaAllow: s.cfg.MediaAllow, Relay: relay, FontFile: s.cfg.FontFile},
		FFmpeg:        s.cfg.FFmpeg,
		FFprobe:       s.cfg.FFprobe,
		Live:          s.ingest,
		Fills:         &switcher.FillMaker{FFmpeg: s.cfg.FFmpeg},
		Observer:      observer{m: s.metrics, bus: s.bus},
		Logger:        logger,
	})
	actions := &event.Actions{Webhooks: s.hooks, Channels: s.manager, Jobs: &s.jobAction}
	s.rules = event.NewRules(event.RulesConfig{Bus: s.bus, Runner: actions, Logger: logger})
	s.alarms = alarm.New(alarm.Config{
		Metrics: s.metrics, Store: s.store, Actions: actions, Logger: logger,
		Publish: func(e resource.Event) { s.bus.Publish(e) },
	})
	s.auto = automation.New(automation.Config{Store: s.store, Alarms: s.alarms, Rules: s.rules, Logger: logger})
	if v := s.cfg.SigningKeys.Verifier(); v != nil {
		v.Trusted = s.cfg.SigningTrusted
		s.verify = v
	}
	// Without a token, whoever reaches the server may create distributions:
	// their edges stay on loopback.
	dcfg := distribution.Config{
		Store: s.store, Metrics: edgeMetrics{s.metrics}, LoopbackOnly: s.cfg.Token == "",
		ReadTimeout: s.cfg.ReadTimeout, MaxConnsPerClient: s.cfg.MaxConnsPerClient, Logger: logger,
	}
	if s.cfg.SegmentSpoolMB > 0 {
		dcfg.SpoolDir, dcfg.SpoolBytes = filepath.Join(s.cfg.Data, "spool-edges"), int64(s.cfg.SegmentSpoolMB)<<20
		if err := os.RemoveAll(dcfg.SpoolDir); err != nil {
			return err
		}
	}
	if s.verify != nil {
		// Edges check viewers' signatures; the origin's trusted networks
		// are for the edges in front of it, not for viewers of an edge.
		ev := *s.verify
		ev.Trusted = nil
		dcfg.Verifier = &ev
	}
	s.dists = distribution.New(dcfg)
	s.start(func(ctx context.Context) { s.metrics.Run(ctx) })
	s.startDVR(mediaRoot)
	if err := s.startHarvest(ctx, mediaRoot); err != nil {
		return err
	}
	figures := &collector{m: s.metrics, channels: s.manager.ListChannels, inputs: s.manager.ListInputs}
	s.start(func(ctx context.Context) { figures.run(ctx, 5*time.Second) })
	s.start(func(ctx context.Context) { s.rules.Run(ctx) })
	s.start(func(ctx context.Context) { s.alarms.Run(ctx) })
	if err := s.auto.Boot(ctx); err != nil {
		return err
	}
	if err := s.buildVOD(ctx); err != nil {
		return err
	}
	if s.vod != nil {
		s.jobAction.svc.Store(s.vod)
	}
	if err := s.manager.Boot(ctx); err != nil {
		return err
	}
	if err := s.dists.Boot(ctx); err != nil {
		return err
	}
	secret, err := encryptionSecret(s.cfg.Data)
	if err != nil {
		return err
	}
	if s.origin, err = s.newOrigin(secret); err != nil {
		return err
	}
	s.handler = s.routes()
	return nil
}

// start runs f until the server closes.
func (s *Server) start(f func(context.Context)) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f(s.ctx)
	}()
}

// listen opens the media listeners.
func (s *Server) listen(reg *live.Registry) error {
	if s.cfg.RTMP != "" || s.cfg.RTMPS != "" {
		s.rtmp = &rtmp.Server{
			Registry: reg, Logger: s.logger, Counter: s.metrics, Limits: s.cfg.IngestLimits,
			FirstBytesTimeout: s.cfg.IngestFirstBytesTimeout, HandshakeTimeout: s.cfg.IngestHandshakeTimeout,
		}
		s.closes = append(s.closes, s.rtmp.Close)
	}
	if s.cfg.RTMP != "" {
		ln, err := net.Listen("tcp", s.cfg.RTMP)
		if err != nil {
			return fmt.Errorf("RTMP listener on %s: %w (pass --rtmp with another address, or \"\" to serve no RTMP)", s.cfg.RTMP, err)
		}
		s.ports.rtmp = portOfAddr(ln.Addr())
		go s.serveRTMP(ln, "RTMP")
	}
	if s.cfg.RTMPS != "" {
		cert, err := tls.LoadX509KeyPair(s.cfg.TLSCert, s.cfg.TLSKey)
		if err != nil {
			return fmt.Errorf("RTMPS needs a certificate: %w", err)
		}
		ln, err := tls.Listen("tcp", s.cfg.RTMPS, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
		if err != nil {
			return fmt.Errorf("RTMPS listener on %s: %w", s.cfg.RTMPS, err)
		}
		s.ports.rtmps = portOfAddr(ln.Addr())
		go s.serveRTMP(ln, "RTMPS")
	}
	if s.cfg.SRT != "" {
		s.srt = &srt.Listener{Registry: reg, Logger: s.logger, Counter: s.metrics, Limits: s.cfg.IngestLimits}
		errc := make(chan error, 1)
		go func() { errc <- s.srt.Serve(s.cfg.SRT) }()
		if err := waitBound(errc, s.srt.Addr); err != nil {
			return fmt.Errorf("SRT listener on %s: %w (pass --srt with another address, or \"\" to serve no SRT)", s.cfg.SRT, err)
		}
		s.closes = append(s.closes, s.srt.Close)
		s.ports.srt = portOfAddr(s.srt.Addr())
		s.logger.Info("SRT ingest is listening", "addr", s.srt.Addr().String())
	}
	return nil
}

func (s *Server) serveRTMP(ln net.Listener, name string) {
	s.logger.Info(fmt.Sprintf("%s ingest is listening", name), "addr", ln.Addr().String())
	if err := s.rtmp.Serve(ln); err != nil && !errors.Is(err, net.ErrClosed) {
		s.logger.Error(fmt.Sprintf("the %s listener stopped", name), "error", err)
	}
}

// waitBound waits until a listener that binds in its Serve is bound (or failed).
func waitBound(errc <-chan error, addr func() net.Addr) error {
	deadline := time.Now().Add(5 * time.Second)
	for addr() == nil {
		select {
		case err := <-errc:
			if err == nil {
				err = errors.New("the listener stopped at once")
			}
			return err
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return errors.New("the listener did not start")
		}
	}
	return nil
}

// workers are the per-input receivers the ingest runs.
func (s *Server) workers(reg *live.Registry) ingest.Workers {
	return ingest.Workers{
		UDP: func(ctx context.Context, in, addr string, rtp bool) error {
			return (&udpReceiver{reg: reg, logger: s.logger}).run(ctx, in, addr, rtp)
		},
		SRTCaller: func(ctx context.Context, in, address, streamID, passphrase string, latency time.Duration) error {
			return srt.Call(ctx, srt.CallerConfig{Input: in, Address: address, StreamID: streamID, Passphrase: passphrase, Latency: latency, Policy: s.cfg.Outbound}, reg, s.logger)
		},
		Pull: pullWorker(reg, s.cfg.Outbound, s.logger),
	}
}

// Handler serves the API, the origin, the pages, /metrics and health.
func (s *Server) Handler() http.Handler { return s.handler }

// HTTPGuard is the protection of the HTTP listener that serves Handler:
// serve it with the guard's Server on the guard's Listener.
func (s *Server) HTTPGuard() httpguard.Config {
	return httpguard.Config{
		ReadTimeout: s.cfg.ReadTimeout, MaxConnsPerClient: s.cfg.MaxConnsPerClient,
		Refused: s.metrics.HTTPConnectionRefused, Logger: s.logger,
	}
}

// ControlPlane returns the resource operations (for applying stacks).
func (s *Server) ControlPlane() ControlPlane {
	return ControlPlane{Manager: s.manager, Service: s.auto, Distributions: s.dists, VOD: s.vod}
}

// Apply converges the server to a stack.
func (s *Server) Apply(ctx context.Context, st resource.Stack) (stack.Plan, error) {
	return stack.Apply(ctx, s.kinds(), st)
}

// Close stops the encoders (channels keep their desired state), the
// listeners and the background work, and closes the store.
func (s *Server) Close(ctx context.Context) {
	if s.dists != nil {
		s.dists.Close(ctx)
	}
	if s.manager != nil {
		s.manager.Close(ctx)
	}
	for i := len(s.closes) - 1; i >= 0; i-- {
		s.closes[i]()
	}
	if s.bus != nil {
		s.bus.Close()
	}
	if s.hooks != nil {
		s.hooks.Close()
	}
	s.cancel()
	s.wg.Wait()
	_ = s.store.Close()
}

// mediaPorts are the ports the media listeners are bound to.
type mediaPorts struct{ rtmp, rtmps, srt int }

// MediaPorts returns the bound RTMP, RTMPS and SRT ports (0 when not served).
func (s *Server) MediaPorts() (rtmp, rtmps, srt int) { return s.ports.rtmp, s.ports.rtmps, s.ports.srt }

func portOfAddr(a net.Addr) int {
	_, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return 0
	}
	p, _ := strconv.Atoi(port)
	return p
}
