package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluice-video/sluice/internal/edge"
	"github.com/sluice-video/sluice/internal/httpguard"
	"github.com/sluice-video/sluice/internal/metrics"
	"github.com/sluice-video/sluice/internal/signing"
)

type edgeOptions struct {
	origins         []string
	listen          string
	name            string
	cacheSize       string
	diskDir         string
	diskSize        string
	spoolDir        string
	spoolSize       string
	staleIfError    time.Duration
	maxOrigin       int
	originTimeout   time.Duration
	signingKeys     []string
	trustForwarded  bool
	trustedNetworks []string
	metricsPath     string
	drain           time.Duration
	logFormat       string
	logLevel        string
	readTimeout     time.Duration
	maxConns        int
	// onListen, when set, hears the bound address (for tests).
	onListen func(net.Addr)
}

func newEdgeCmd(g *globals) *cobra.Command {
	o := edgeOptions{}
	cmd := &cobra.Command{
		Use:   "edge",
		Short: "Run a caching edge in front of a Sluice origin (or another edge)",
		Long: `edge runs Sluice's caching reverse proxy on its own, the CDN tier in front of
an origin: responses are kept for as long as the origin's Cache-Control allows
(in memory, and on disk with --disk-dir), concurrent misses for one object make
one origin request whose body streams to every waiting viewer, and expired
objects are served for --stale-if-error while every origin fails.

Repeat --origin for an origin group: the first is primary, the next ones take
over on 5xx, timeouts and failed health checks. An origin may be another edge
(a shield tier). With --signing-key, every request needs a valid signed URL or
cookie (see 'sluice sign'); refusals are 403 problem+json.

The edge answers /healthz itself and exports Prometheus metrics on --metrics-path.
On SIGINT or SIGTERM it stops accepting connections and lets the responses in
progress finish (up to --drain).`,
		Example: `  sluice edge --origin http://origin:8080 --listen :8081
  sluice edge --origin http://origin-a:8080 --origin http://origin-b:8080 \
      --cache-size 1GiB --disk-dir /var/cache/sluice --disk-size 20GiB
  sluice edge --origin http://shield:8081 --signing-key @/etc/sluice/edge.key`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runEdge(cmd.Context(), g, o) },
	}
	f := cmd.Flags()
	f.StringArrayVar(&o.origins, "origin", nil, "origin URL, e.g. http://origin:8080 (repeat for an origin group, primary first)")
	f.StringVar(&o.listen, "listen", envOr("SLUICE_EDGE_LISTEN", "127.0.0.1:8081"), "address the edge listens on (env SLUICE_EDGE_LISTEN)")
	f.StringVar(&o.name, "name", edge.DefaultName, "the edge's name in Via headers and metrics")
	f.StringVar(&o.cacheSize, "cache-size", "256MiB", "memory tier size, e.g. 512MiB or 2GiB")
	f.StringVar(&o.diskDir, "disk-dir", "", "directory of the disk tier (its files are removed on start)")
	f.StringVar(&o.diskSize, "disk-size", "10GiB", "disk tier size, with --disk-dir")
	f.StringVar(&o.spoolDir, "spool-dir", "", "folder of copies of recently served objects, sent with sendfile (default: a new temporary folder; emptied on start, removed on exit)")
	f.StringVar(&o.spoolSize, "spool-size", "256MiB", "room for those copies; 0 sends every object from memory")
	f.DurationVar(&o.staleIfError, "stale-if-error", edge.DefaultStaleIfError, "how long after expiry an object may be served while the origins fail (0 disables)")
	f.IntVar(&o.maxOrigin, "max-origin-requests", edge.DefaultMaxOriginRequests, "concurrent requests toward the origins")
	f.DurationVar(&o.originTimeout, "origin-timeout", edge.DefaultOriginTimeout, "wait for an origin's response headers, and longest silence in a body")
	f.StringArrayVar(&o.signingKeys, "signing-key", nil, `key that signed URLs must be signed with: "hmac:<id>:<secret>", "ed25519-public:<id>:<key>" or @file (repeat while rotating)`)
	f.BoolVar(&o.trustForwarded, "trust-forwarded-for", false, "take the client address for signed-URL CIDR checks from X-Forwarded-For (only behind a proxy that sets it)")
	f.StringArrayVar(&o.trustedNetworks, "trusted-network", nil, "network whose requests need no signature, e.g. the edges in front of this one (repeatable CIDR)")
	f.StringVar(&o.metricsPath, "metrics-path", "/metrics", `path of the Prometheus metrics ("" exports none)`)
	f.DurationVar(&o.drain, "drain", 30*time.Second, "how long shutdown waits for responses in progress")
	f.StringVar(&o.logFormat, "log-format", "text", "log format: text or json")
	f.StringVar(&o.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	f.DurationVar(&o.readTimeout, "read-timeout", httpguard.DefaultReadTimeout, "longest a client may take to send a request, body included")
	f.IntVar(&o.maxConns, "max-conns-per-client", httpguard.DefaultMaxConnsPerClient, "connections one client address may hold open; more are closed at once (0: no bound)")
	return cmd
}

func runEdge(ctx context.Context, g *globals, o edgeOptions) error {
	logger, err := newLogger(g, o.logFormat, o.logLevel)
	if err != nil {
		return err
	}
	if len(o.origins) == 0 {
		return errors.New("--origin is required: the URL of the origin (or shield edge) to fetch from")
	}
	if err := checkGuardFlags(o.readTimeout, o.maxConns); err != nil {
		return err
	}
	cfg, err := o.config(logger)
	if err != nil {
		return err
	}
	reg := metrics.New(metrics.Config{Logger: logger})
	// The same builder as a server's distributions, with /metrics of its own.
	node := edge.NewNode(edge.NodeConfig{
		Edge: cfg, Listen: o.listen, Metrics: reg,
		Guard:  httpguard.Config{ReadTimeout: o.readTimeout, MaxConnsPerClient: o.maxConns, Logger: logger},
		Routes: o.routes(reg),
	})
	if err := node.Start(ctx); err != nil {
		return err
	}
	logger.Info("the edge is serving", "url", baseURL(node.Addr()), "origins", o.origins, "signed", cfg.Verifier != nil)
	if o.onListen != nil {
		o.onListen(node.Addr())
	}
	if err := untilStopped(ctx, node); err != nil {
		_ = node.Close(context.Background())
		return err
	}
	logger.Info("shutting down: letting the responses in progress finish", "drain", o.drain)
	sctx, cancel := context.WithTimeout(context.Background(), o.drain)
	defer cancel()
	if err := node.Close(sctx); err != nil {
		logger.Warn("some responses did not finish within the drain time and were cut", "error", err)
	}
	logger.Info("stopped")
	return nil
}

// routes adds the metrics path in front of the edge, when there is one.
func (o edgeOptions) routes(reg *metrics.Metrics) func(http.Handler) http.Handler {
	if o.metricsPath == "" {
		return nil
	}
	return func(e http.Handler) http.Handler {
		mux := http.NewServeMux()
		mux.Handle("GET "+o.metricsPath, reg.Handler())
		mux.Handle("/", e)
		return mux
	}
}

// config turns the flags into an edge configuration.
func (o edgeOptions) config(logger *slog.Logger) (edge.Config, error) {
	mem, err := parseSize("--cache-size", o.cacheSize)
	if err != nil {
		return edge.Config{}, err
	}
	cfg := edge.Config{
		Origins: o.origins, MemoryBytes: mem, StaleIfError: o.staleIfError,
		MaxOriginRequests: o.maxOrigin, OriginTimeout: o.originTimeout,
		Name: o.name, Logger: logger,
	}
	if cfg.Name == "" {
		cfg.Name = edge.DefaultName
	}
	if o.staleIfError == 0 {
		cfg.StaleIfError = -1
	}
	if o.diskDir != "" {
		if cfg.DiskBytes, err = parseSize("--disk-size", o.diskSize); err != nil {
			return edge.Config{}, err
		}
		cfg.DiskDir = o.diskDir
	}
	if len(o.signingKeys) > 0 {
		v, err := verifierFromFlags(o.signingKeys, o.trustForwarded, o.trustedNetworks)
		if err != nil {
			return edge.Config{}, err
		}
		cfg.Verifier = v
	} else if len(o.trustedNetworks) > 0 || o.trustForwarded {
		return edge.Config{}, errors.New("--trusted-network and --trust-forwarded-for apply to signed URLs: add --signing-key")
	}
	if size := strings.TrimSpace(o.spoolSize); size != "" && size != "0" {
		if cfg.SpoolBytes, err = parseSize("--spool-size", o.spoolSize); err != nil {
			return edge.Config{}, err
		}
		cfg.SpoolDir = o.spoolDir
		if cfg.SpoolDir == "" {
			if cfg.SpoolDir, err = os.MkdirTemp("", "sluice-edge-spool-"); err != nil {
				return edge.Config{}, fmt.Errorf("creating the spool folder: %w", err)
			}
		}
	}
	return cfg, nil
}

// verifierFromFlags builds the signature checker from --signing-key values.
func verifierFromFlags(keys []string, trustForwarded bool, trusted []string) (*signing.Verifier, error) {
	parsed := make([]signing.Key, 0, len(keys))
	for _, k := range keys {
		key, err := readKeyArg(k)
		if err != nil {
			return nil, fmt.Errorf("--signing-key: %w", err)
		}
		parsed = append(parsed, key)
	}
	v, err := signing.NewVerifier(parsed...)
	if err != nil {
		return nil, fmt.Errorf("--signing-key: %w", err)
	}
	v.TrustForwardedFor = trustForwarded
	for _, n := range trusted {
		p, err := netip.ParsePrefix(n)
		if err != nil {
			return nil, fmt.Errorf("--trusted-network %q: not a CIDR such as 10.0.0.0/8", n)
		}
		v.Trusted = append(v.Trusted, p.Masked())
	}
	return v, nil
}
