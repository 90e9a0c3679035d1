package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluice-video/sluice/internal/api"
	"github.com/sluice-video/sluice/internal/auth"
	"github.com/sluice-video/sluice/internal/cluster"
	"github.com/sluice-video/sluice/internal/config"
	"github.com/sluice-video/sluice/internal/filemode"
	"github.com/sluice-video/sluice/internal/httpguard"
	"github.com/sluice-video/sluice/internal/input/live"
	"github.com/sluice-video/sluice/internal/input/rtmp"
	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/server"
)

type serveOptions struct {
	listen         string
	rtmp           string
	rtmps          string
	srt            string
	tlsCert        string
	tlsKey         string
	publicHost     string
	data           string
	apply          []string
	token          string
	ffmpeg         string
	ffprobe        string
	logFormat      string
	logLevel       string
	signingKeys    []string
	signingTrusted []string
	database       string
	harvestStorage string
	outputStorage  string
	dvrStorage     string
	spoolMB        int
	vodWorkers     int
	jobTimeout     time.Duration
	visibility     time.Duration
	handshakes     int
	perAddress     int
	firstBytes     time.Duration
	rtmpHandshake  time.Duration
	readTimeout    time.Duration
	maxConns       int
	access         accessOptions
	frameStreams   int
	framePerClient int
	frameTimeout   time.Duration
	webrtc         webrtcOptions
	nodeID         string
	advertise      string
	maxChannels    int
	lease          time.Duration
	requireLogin   bool
	sessionLife    time.Duration
	sessionIdle    time.Duration
}

func newServeCmd(g *globals) *cobra.Command {
	o := serveOptions{}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the Sluice server: API, origin and pages on one listener",
		Long: `serve runs Sluice: the control plane for inputs and channels, the encoders,
the packager and the origin that serves HLS and DASH, and the web pages, all
on one HTTP listener. Everything is kept in the data directory: the state
database (sluice.db), the on-demand job queue (queue.db) and media files
(media/); with --database postgres://…, every resource, state history,
counter and secret and the job queue are kept in PostgreSQL instead, where
other nodes find them. After a restart, every resource is back and
channels that were running run again.

Changes through the API need a token or a login unless the server listens on
loopback only; without --token, a token is generated into <data>/api-token.
A server whose state has no user makes user admin with a generated password
in <data>/admin-password (mode 0600; the log names the file, never the
password): log in with it and set another ('sluice user set-password admin'). A server
without a token answers only requests addressed to localhost, 127.0.0.1,
[::1] or --public-host, and its distributions listen on loopback only.`,
		Example: `  sluice serve
  sluice serve --listen :8080 --data /var/lib/sluice --apply examples/lilo.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runServe(cmd.Context(), g, o) },
	}
	f := cmd.Flags()
	f.StringVar(&o.listen, "listen", envOr("SLUICE_LISTEN", "127.0.0.1:8080"), "address of the HTTP listener (env SLUICE_LISTEN)")
	f.StringVar(&o.data, "data", envOr("SLUICE_DATA", "sluice-data"), "data directory: state database and media (env SLUICE_DATA)")
	f.StringArrayVar(&o.apply, "apply", nil, "stack file to apply once the server is up (repeatable)")
	f.StringVar(&o.rtmp, "rtmp", envOr("SLUICE_RTMP", ":1935"), "RTMP ingest address; \"\" serves no RTMP (env SLUICE_RTMP)")
	f.StringVar(&o.rtmps, "rtmps", os.Getenv("SLUICE_RTMPS"), "RTMPS ingest address, with --tls-cert and --tls-key (env SLUICE_RTMPS)")
	f.StringVar(&o.srt, "srt", envOr("SLUICE_SRT", ":9000"), "SRT ingest address (UDP); \"\" serves no SRT (env SLUICE_SRT)")
	f.IntVar(&o.handshakes, "ingest-handshakes", live.DefaultHandshakes, "connections the RTMP (with RTMPS) and the SRT port each take in their handshake at once, all addresses together; more are refused")
	f.IntVar(&o.perAddress, "ingest-handshakes-per-address", live.DefaultHandshakesPerAddress, "connections in their handshake one source address (an IPv6 /64) may have on a port, so that one address cannot take the others' room")
	f.DurationVar(&o.firstBytes, "rtmp-first-bytes-timeout", rtmp.DefaultFirstBytesTimeout, "how long a new RTMP connection may take to send the start of its handshake (C0 and C1, after TLS on RTMPS); one that sends nothing is closed then")
	f.DurationVar(&o.rtmpHandshake, "rtmp-handshake-timeout", rtmp.DefaultHandshakeTimeout, "how long an RTMP client may take from connecting to an admitted publish command")
	f.StringVar(&o.tlsCert, "tls-cert", "", "certificate file (PEM) for RTMPS")
	f.StringVar(&o.tlsKey, "tls-key", "", "private key file (PEM) for RTMPS")
	f.StringVar(&o.publicHost, "public-host", os.Getenv("SLUICE_PUBLIC_HOST"), "host name publishers reach this server at, for the endpoint URLs; without a token, the HTTP listener answers only for it and loopback names (env SLUICE_PUBLIC_HOST)")
	f.StringVar(&o.token, "token", tokenFromEnv(), "API token required for changes (env SLUICE_TOKEN or SLUICE_API_TOKEN)")
	f.Lookup("token").DefValue = "" // --help must not print the token
	f.StringArrayVar(&o.signingKeys, "signing-key", nil, `key for signed URLs: "hmac:<id>:<secret>", "ed25519:<id>:<seed>" or @file; repeat while rotating, the first signs (env SLUICE_SIGNING_KEYS, comma-separated)`)
	f.StringArrayVar(&o.signingTrusted, "signing-trusted-network", nil, "network whose requests to protected endpoints need no signature: the edges in front of this origin (repeatable CIDR)")
	f.StringVar(&o.ffmpeg, "ffmpeg", "ffmpeg", "ffmpeg binary")
	f.StringVar(&o.ffprobe, "ffprobe", "ffprobe", "ffprobe binary")
	f.StringVar(&o.logFormat, "log-format", "text", "log format: text or json")
	f.StringVar(&o.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	f.StringVar(&o.database, "database", os.Getenv("SLUICE_DATABASE"), "where the state and the on-demand job queue are kept: \"\" for SQLite in the data directory (sluice.db, queue.db), or a postgres://user:password@host:port/db URL that holds all of it, shared with other 'sluice serve' and 'sluice worker' nodes (env SLUICE_DATABASE)")
	f.Lookup("database").DefValue = "" // nor the database password
	f.StringVar(&o.harvestStorage, "harvest-storage", os.Getenv("SLUICE_HARVEST_STORAGE"), "where live-to-VOD packages are written: a folder or s3://bucket/prefix?endpoint=host:port (credentials from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; default <data>/media/harvest; env SLUICE_HARVEST_STORAGE)")
	f.StringVar(&o.dvrStorage, "dvr-storage", os.Getenv("SLUICE_DVR_STORAGE"), "where the DVR archives of endpoints with a DVR window are kept: a folder or s3://bucket/prefix?endpoint=host:port, shared by every node of a cluster so the window survives a channel's move (its index is in the state database; credentials from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; default <data>/media/dvr; env SLUICE_DVR_STORAGE)")
	f.StringVar(&o.outputStorage, "output-storage", os.Getenv("SLUICE_OUTPUT_STORAGE"), "where ARCHIVE files and frame captures are moved once finished: a folder or s3://bucket/prefix?endpoint=host:port (default: they stay in <data>/media/outputs; env SLUICE_OUTPUT_STORAGE)")
	f.IntVar(&o.spoolMB, "segment-spool-mb", 256, "MiB of recent segments kept as files in <data>/spool so the origin sends them with sendfile (0: send from memory)")
	f.IntVar(&o.vodWorkers, "vod-workers", 1, "on-demand jobs this server runs at once (0: leave them to 'sluice worker' nodes)")
	f.DurationVar(&o.jobTimeout, "job-timeout", 2*time.Hour, "longest one attempt of an on-demand job may run")
	f.DurationVar(&o.visibility, "visibility-timeout", 0, "how long a running on-demand job may go unfinished before another node takes it over (default: job timeout + 10 min)")
	f.DurationVar(&o.readTimeout, "read-timeout", httpguard.DefaultReadTimeout, "longest a client may take to send a request, body included, on the HTTP listener and the distributions' edges; answers held open (blocking playlist reloads, event streams) are not bounded")
	f.IntVar(&o.maxConns, "max-conns-per-client", httpguard.DefaultMaxConnsPerClient, "connections one client address may hold open on the HTTP listener and on each distribution's edge; more are closed at once (0: no bound)")
	addAccessFlags(cmd, &o.access)
	addWebRTCFlags(f, &o.webrtc)
	f.IntVar(&o.frameStreams, "frame-streams", api.DefaultFrameStreams, "most frames API streams served at once; more are answered 429")
	f.IntVar(&o.framePerClient, "frame-streams-per-client", api.DefaultFrameStreamsPerClient, "most frames API streams one client address (an IPv6 /64) may read at once; more are answered 429")
	f.DurationVar(&o.frameTimeout, "frame-write-timeout", api.DefaultFrameWriteTimeout, "a frames API stream whose client has not taken a frame for this long ends")
	f.StringVar(&o.nodeID, "node-id", os.Getenv("SLUICE_NODE_ID"), "this server's id as a node of a cluster (letters, digits, '.', '_', '-'); default: the id kept in <data>/node-id, made from the host name the first time (env SLUICE_NODE_ID)")
	f.StringVar(&o.advertise, "advertise", os.Getenv("SLUICE_ADVERTISE"), "URL the other nodes of a cluster reach this server's HTTP listener at, http://host:port; default: --public-host (or the listener's address, or the host name) with the listener's port (env SLUICE_ADVERTISE)")
	f.IntVar(&o.maxChannels, "max-channels", defaultMaxChannels(), "running channels placement gives this node at most (default: one per CPU core)")
	f.DurationVar(&o.lease, "lease", cluster.DefaultLease, "how long a running channel's lease lasts without renewal on a cluster: a node that stops renewing (crash, pause, lost database) loses its channels to the other nodes after this long; renewed every third of it")
	f.BoolVar(&o.requireLogin, "require-login", os.Getenv("SLUICE_REQUIRE_LOGIN") == "true", "refuse API reads to callers without a token or a login (otherwise they read as viewers, secrets hidden) (env SLUICE_REQUIRE_LOGIN=true)")
	f.DurationVar(&o.sessionLife, "session-lifetime", 12*time.Hour, "how long a login lasts at most")
	f.DurationVar(&o.sessionIdle, "session-idle-timeout", 30*time.Minute, "how long a login lasts without being used")
	return cmd
}

// defaultMaxChannels is one running channel per CPU core.
func defaultMaxChannels() int { return max(runtime.NumCPU(), 1) }

func newLogger(g *globals, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: use debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(g.stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(g.stderr, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: use text or json", format)
}

func runServe(ctx context.Context, g *globals, o serveOptions) error {
	logger, err := newLogger(g, o.logFormat, o.logLevel)
	if err != nil {
		return err
	}
	if err := checkGuardFlags(o.readTimeout, o.maxConns); err != nil {
		return err
	}
	ffmpeg, err := exec.LookPath(o.ffmpeg)
	if err != nil {
		return fmt.Errorf("ffmpeg not found: install it (apt-get install ffmpeg) or pass --ffmpeg: %w", err)
	}
	ffprobe, err := exec.LookPath(o.ffprobe)
	if err != nil {
		return fmt.Errorf("ffprobe not found: install ffmpeg or pass --ffprobe: %w", err)
	}
	if err := checkIngestLimits(o); err != nil {
		return err
	}
	// The data directory holds secrets: readable by this user only.
	if err := os.MkdirAll(o.data, 0o700); err != nil {
		return fmt.Errorf("creating the data directory: %w", err)
	}
	mediaRoot := filepath.Join(o.data, "media")
	if err := os.MkdirAll(mediaRoot, 0o750); err != nil {
		return fmt.Errorf("creating the data directory: %w", err)
	}
	roots, mediaAllow, err := o.access.roots(mediaRoot)
	if err != nil {
		return err
	}
	logger.Info("FILE inputs, slates and pipeline folders may be in " + roots.Describe())
	// Stacks are checked before anything starts, so a typo fails fast.
	var stacks []stackFile
	for _, f := range o.apply {
		st, err := config.ParseFile(f)
		if err != nil {
			return err
		}
		stacks = append(stacks, stackFile{path: f, stack: st})
	}
	if o.sessionLife <= 0 || o.sessionIdle <= 0 {
		return fmt.Errorf("--session-lifetime and --session-idle-timeout must be positive (got %s, %s)", o.sessionLife, o.sessionIdle)
	}
	if o.frameStreams < 1 || o.framePerClient < 1 || o.frameTimeout <= 0 {
		return fmt.Errorf("--frame-streams and --frame-streams-per-client must be at least 1 and --frame-write-timeout positive (got %d, %d, %s)", o.frameStreams, o.framePerClient, o.frameTimeout)
	}
	if o.maxChannels < 1 {
		return fmt.Errorf("--max-channels %d: at least 1", o.maxChannels)
	}
	if o.lease < 2*time.Second {
		return fmt.Errorf("--lease %s: at least 2s (the default is %s)", o.lease, cluster.DefaultLease)
	}
	nodeID, err := resolveNodeID(o.nodeID, o.data, logger)
	if err != nil {
		return err
	}
	if len(o.signingKeys) == 0 {
		// Read here rather than as the flag's default, so --help never
		// prints the keys.
		o.signingKeys = splitEnv("SLUICE_SIGNING_KEYS")
	}
	keys, trusted, err := serverKeys(o.signingKeys, o.signingTrusted)
	if err != nil {
		return err
	}
	ln, err := listen(o.listen)
	if err != nil {
		return err
	}
	token, err := apiToken(ln.Addr(), o, logger)
	if err != nil {
		_ = ln.Close()
		return err
	}
	policy, err := o.access.policy(isLoopback(ln.Addr()))
	if err != nil {
		_ = ln.Close()
		return err
	}
	advertise, err := advertiseURL(o, ln.Addr())
	if err != nil {
		_ = ln.Close()
		return err
	}
	logger.Info("outbound connections for webhooks, pulled sources, remote files and pipeline storage: " + policy.String())
	rtcConfig, err := o.webrtc.config(o.publicHost)
	if err != nil {
		_ = ln.Close()
		return err
	}
	host := publicHost(o, ln.Addr())
	srv, err := server.New(ctx, server.Config{
		Data: o.data, Token: token, FFmpeg: ffmpeg, FFprobe: ffprobe, FontFile: defaultFont(),
		RTMP: o.rtmp, RTMPS: o.rtmps, SRT: o.srt, TLSCert: o.tlsCert, TLSKey: o.tlsKey,
		IngestLimits:            live.HandshakeLimits{PerAddress: o.perAddress, Total: o.handshakes},
		IngestFirstBytesTimeout: o.firstBytes, IngestHandshakeTimeout: o.rtmpHandshake,
		PublicHost: host, PublicHostGiven: o.publicHost != "", HTTPBase: httpBase(host, ln.Addr()), Version: Version, Logger: logger,
		WebRTC: rtcConfig, WHEPSessions: o.webrtc.sessions, WHEPPerEndpoint: o.webrtc.perEndpoint, WHIPSessions: o.webrtc.whipSessions,
		Database: o.database, VODWorkers: o.vodWorkers, JobTimeout: o.jobTimeout, VisibilityTimeout: o.visibility,
		SigningKeys: keys, SigningTrusted: trusted, HarvestStorage: o.harvestStorage, OutputStorage: o.outputStorage, DVRStorage: o.dvrStorage, SegmentSpoolMB: o.spoolMB,
		ReadTimeout: o.readTimeout, MaxConnsPerClient: o.maxConns,
		Outbound: policy, MediaAllow: mediaAllow,
		FrameLimits: api.FrameLimits{Streams: o.frameStreams, PerClient: o.framePerClient, WriteTimeout: o.frameTimeout},
		NodeID:      nodeID, Advertise: advertise, MaxChannels: o.maxChannels, Lease: o.lease,
		RequireLogin: o.requireLogin, FirstAdmin: true,
		Auth: auth.Config{SessionLifetime: o.sessionLife, SessionIdle: o.sessionIdle},
	})
	if err != nil {
		_ = ln.Close()
		return err
	}
	web := srv.HTTPGuard().Serving(ln, srv.Handler())
	base := baseURL(ln.Addr())
	logger.Info("sluice is serving", "url", base, "console", base+"/console", "data", o.data, "version", Version)
	_ = web.Start(ctx)

	for _, sf := range stacks {
		plan, err := srv.Apply(ctx, sf.stack)
		if err != nil {
			logger.Error("applying the stack failed", "file", sf.path, "error", err)
			continue
		}
		writePlan(g.stderr, plan, sf.path)
		for _, ch := range sf.stack.Channels {
			_, _ = fmt.Fprintf(g.stderr, "Player for channel %s: %s/play/%s\n", ch.Name, base, ch.Name)
		}
	}

	if err := untilStopped(ctx, web); err != nil {
		_ = srv.Close(context.Background())
		return err
	}
	logger.Info("shutting down: finishing requests and stopping encoders")
	sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	// New requests are refused at once; those in progress finish while
	// the components close.
	go func() { _ = web.Close(sctx) }()
	_ = srv.Close(sctx)
	_ = web.Close(sctx)
	logger.Info("stopped")
	return nil
}

// checkIngestLimits refuses limits that would refuse every publisher or
// mean the defaults without saying so.
func checkIngestLimits(o serveOptions) error {
	switch {
	case o.handshakes < 1:
		return fmt.Errorf("--ingest-handshakes %d: at least 1", o.handshakes)
	case o.perAddress < 1:
		return fmt.Errorf("--ingest-handshakes-per-address %d: at least 1", o.perAddress)
	case o.firstBytes <= 0:
		return fmt.Errorf("--rtmp-first-bytes-timeout %s: more than 0", o.firstBytes)
	case o.rtmpHandshake <= 0:
		return fmt.Errorf("--rtmp-handshake-timeout %s: more than 0", o.rtmpHandshake)
	}
	return nil
}

// checkGuardFlags refuses a read timeout that would not bound anything and
// a negative bound of connections.
func checkGuardFlags(readTimeout time.Duration, maxConns int) error {
	if readTimeout <= 0 {
		return fmt.Errorf("--read-timeout %s: must be positive, such as 30s", readTimeout)
	}
	if maxConns < 0 {
		return fmt.Errorf("--max-conns-per-client %d: must be 0 (no bound) or more", maxConns)
	}
	return nil
}

type stackFile struct {
	path  string
	stack resource.Stack
}

// apiToken decides the token changes need: the one given, none on a
// loopback-only listener, or a generated one kept in the data directory.
func apiToken(addr net.Addr, o serveOptions, logger *slog.Logger) (string, error) {
	if o.token != "" {
		return o.token, nil
	}
	if isLoopback(addr) {
		return "", nil
	}
	path := filepath.Join(o.data, "api-token")
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) >= 16 {
		if err := filemode.Tighten(path); err != nil {
			return "", err
		}
		logger.Info("changes through the API need the token in " + path)
		return strings.TrimSpace(string(b)), nil
	}
	var raw [24]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", err
	}
	tok := hex.EncodeToString(raw[:])
	if err := os.WriteFile(path, []byte(tok+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("writing the API token: %w", err)
	}
	logger.Info("the server listens beyond loopback: changes through the API need the token written to " + path)
	return tok, nil
}

func isLoopback(addr net.Addr) bool {
	tcp, ok := addr.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}

// baseURL is how a local user reaches the listener.
func baseURL(addr net.Addr) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return "http://" + addr.String()
	}
	host := tcp.IP.String()
	if tcp.IP.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, fmt.Sprint(tcp.Port))
}

// publicHost is the host put in publishers' endpoint URLs: --public-host,
// else the listener's address, else this machine's name.
func publicHost(o serveOptions, addr net.Addr) string {
	if o.publicHost != "" {
		return o.publicHost
	}
	if tcp, ok := addr.(*net.TCPAddr); ok && !tcp.IP.IsUnspecified() {
		return tcp.IP.String()
	}
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	return "127.0.0.1"
}

// defaultFont is the font burnt into test patterns, when installed.
func defaultFont() string {
	for _, p := range []string{
		"/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf",
		"/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
	} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}
