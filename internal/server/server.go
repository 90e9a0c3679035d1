// Package server assembles Sluice and does nothing else: it builds the
// components (the state store, the control plane of inputs, channels,
// alarms and rules, the live ingest and its protocol listeners, the
// origin, the API, the pages, metrics and events) in the order they need
// each other, starts them as one ordered list, closes them in reverse,
// and says which handler serves which path of the one HTTP listener.
package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"github.com/sluice-video/sluice/internal/api"
	"github.com/sluice-video/sluice/internal/auth"
	"github.com/sluice-video/sluice/internal/controlplane"
	"github.com/sluice-video/sluice/internal/filemode"
	"github.com/sluice-video/sluice/internal/httpguard"
	"github.com/sluice-video/sluice/internal/input/ingest"
	"github.com/sluice-video/sluice/internal/input/live"
	"github.com/sluice-video/sluice/internal/lifecycle"
	"github.com/sluice-video/sluice/internal/outbound"
	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/rtc"
	"github.com/sluice-video/sluice/internal/signing"
	"github.com/sluice-video/sluice/internal/stack"
	"github.com/sluice-video/sluice/internal/store"
	"github.com/sluice-video/sluice/internal/vod"
)

// Config configures a server.
type Config struct {
	// Data is the data directory: sluice.db (unless Database is
	// PostgreSQL) and media/.
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
	// HTTPBase is the HTTP listener's URL as publishers reach it, for the
	// WHIP endpoint URLs.
	HTTPBase string
	// WebRTC is the ICE networking of WHEP viewers and WHIP publishers.
	WebRTC rtc.Config
	// WHEPSessions bounds the WebRTC viewers in all and WHEPPerEndpoint
	// those of one endpoint; WHIPSessions the WHIP publishers. Zeros take
	// the defaults (no bound for viewers, 64 publishers).
	WHEPSessions, WHEPPerEndpoint, WHIPSessions int
	// PublicHostGiven says the operator named PublicHost (--public-host):
	// on a cluster, the one name in front of every node, which push
	// inputs' endpoints then name alone instead of each live node.
	PublicHostGiven bool
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
	// Database is where the state and the on-demand job queue are: "" for
	// SQLite files in the data directory (sluice.db and queue.db), or a
	// postgres:// URL that holds all of it, shared with other nodes and
	// 'sluice worker'. The path of an SQLite file moves only the queue
	// there, as before PostgreSQL kept the state.
	Database string
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
	// DVRStorage is where the DVR archives are kept: "" for
	// <data>/media/dvr, or a folder or an s3:// location shared by every
	// node of a cluster, with the archives' index in the state database,
	// so a channel's DVR window survives its move to another node.
	DVRStorage string
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
	// NodeID names this server as a node (--node-id); Advertise is the URL
	// the other nodes reach it at (--advertise); MaxChannels is how many
	// running channels placement gives it (--max-channels); Lease is how
	// long a channel's lease lasts without renewal (--lease, default
	// cluster.DefaultLease). On PostgreSQL the server is a node of the
	// cluster of every server on the database; on SQLite, a cluster of one.
	NodeID      string
	Advertise   string
	MaxChannels int
	Lease       time.Duration
	// RequireLogin refuses API reads to callers who proved nothing;
	// otherwise they read as viewers, with secrets hidden.
	RequireLogin bool
	// Auth configures users, sessions and the back-off of failed logins
	// (its Store and Logger are the server's; zero values take the
	// defaults).
	Auth auth.Config
	// FirstAdmin makes user admin, with a generated password in
	// <data>/admin-password, when the state has no user at all.
	FirstAdmin bool
}

// Server is Sluice's components, built in the order they depend on each
// other and started as one ordered list, and the HTTP handler made of
// them (see Handler).
type Server struct {
	cfg   Config
	c     *components
	group *lifecycle.Group
}

// New builds and starts a server: stored resources are back, channels
// that were running start again, and the media listeners are open.
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
		held := "the state database, the API token and the encryption secret"
		if store.IsPostgres(cfg.Database) {
			held = "the API token"
		}
		cfg.Logger.Warn(shared + "; it holds " + held + ": chmod 700 it")
	}
	if err := os.MkdirAll(filepath.Join(cfg.Data, "media"), 0o750); err != nil {
		return nil, fmt.Errorf("creating the data directory: %w", err)
	}
	c, err := build(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if cfg.FirstAdmin {
		if err := c.auth.EnsureFirstAdmin(ctx, cfg.Data); err != nil {
			c.discard()
			return nil, err
		}
	}
	group, err := lifecycle.NewGroup(cfg.Logger, c.parts()...)
	if err != nil {
		c.discard()
		return nil, err
	}
	if err := group.Start(ctx); err != nil {
		c.discard()
		return nil, err
	}
	return &Server{cfg: cfg, c: c, group: group}, nil
}

// Handler serves the API, the origin, the pages, /metrics and health.
func (s *Server) Handler() http.Handler { return s.c.handler }

// HTTPGuard is the protection of the HTTP listener that serves Handler:
// serve it with the guard's Serving on the listener.
func (s *Server) HTTPGuard() httpguard.Config {
	return httpguard.Config{
		ReadTimeout: s.cfg.ReadTimeout, MaxConnsPerClient: s.cfg.MaxConnsPerClient,
		Refused: s.c.metrics.HTTPConnectionRefused, Logger: s.cfg.Logger,
	}
}

// Auth returns the users, tokens, sessions and audit log.
func (s *Server) Auth() *auth.Service { return s.c.auth }

// ControlPlane returns the resource operations (for applying stacks).
func (s *Server) ControlPlane() controlplane.Plane { return s.c.plane() }

// Apply converges the server to a stack.
func (s *Server) Apply(ctx context.Context, st resource.Stack) (stack.Plan, error) {
	return stack.Apply(ctx, s.c.plane().Kinds(), st)
}

// VOD returns the on-demand transcoding service.
func (s *Server) VOD() *vod.Service { return s.c.vod }

// MediaPorts returns the bound RTMP, RTMPS and SRT ports (0 when not served).
func (s *Server) MediaPorts() (rtmp, rtmps, srt int) {
	return portOf(s.c.rtmpPort), portOf(s.c.rtmpsPort), portOf(s.c.srt)
}

func portOf(p ingest.Port) int {
	if p == nil {
		return 0
	}
	return p.Number()
}

// Close closes the components in the reverse of their start order: the
// distributions' edges, the encoders (channels keep their desired state),
// the background work, the listeners, and last the state store.
func (s *Server) Close(ctx context.Context) error { return s.group.Close(ctx) }
