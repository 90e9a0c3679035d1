// Package api is Sluice's REST API under /api/v1: inputs, channels, their
// state history and stacks, as JSON, with RFC 9457 problem details for
// every error.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/sluice-video/sluice/internal/event"
	"github.com/sluice-video/sluice/internal/metrics"
	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/signing"
	"github.com/sluice-video/sluice/internal/stack"
)

// Manager is the control plane the API drives.
type Manager interface {
	stack.Manager
	GetInput(ctx context.Context, ref string) (resource.Input, error)
	RotateStreamKey(ctx context.Context, ref string) (resource.Input, error)
	GetSecurityGroup(ctx context.Context, ref string) (resource.SecurityGroup, error)
	StartChannel(ctx context.Context, ref string) (resource.Channel, error)
	StopChannel(ctx context.Context, ref string) (resource.Channel, error)
	History(ctx context.Context, ref string, limit int) ([]resource.StateChange, error)
	GetAlarm(ctx context.Context, ref string) (resource.Alarm, error)
	AlarmHistory(ctx context.Context, ref string, limit int) ([]resource.AlarmChange, error)
	GetRule(ctx context.Context, ref string) (event.RuleStatus, error)
}

// Config configures the API.
type Config struct {
	Manager Manager
	Logger  *slog.Logger
	// Token, when set, must be presented as "Authorization: Bearer <token>"
	// on every request that changes something.
	Token string
	// Version is reported by GET /api/v1/version.
	Version string
	// Metrics answers metric queries; Bus holds the events; Hooks delivers
	// webhooks. Each is optional: its routes answer 404 without it.
	Metrics *metrics.Metrics
	Bus     *event.Bus
	Hooks   *event.Deliverer
	// VOD is on-demand transcoding; optional like the above.
	VOD VOD
	// Distributions runs the distributions' edges; without it their routes
	// answer 404.
	Distributions Distributions
	// Harvests runs live-to-VOD harvest jobs; without it their routes
	// answer 404.
	Harvests Harvests
	// Signing holds the server's signing keys, for POST /api/v1/sign.
	Signing *signing.Keyring
	// Now is the clock of signatures (default time.Now).
	Now func() time.Time
	// Frames opens frames streams; without it the frames route answers 404.
	Frames FrameOpener
	// FrameLimits bound the frames streams served at once and how long a
	// client may leave a frame untaken; zero values take the defaults.
	FrameLimits FrameLimits
}

// API serves /api/v1.
type API struct {
	cfg    Config
	m      Manager
	logger *slog.Logger
	sse    *event.SSE
	// verifier checks the signatures frames requests may carry instead
	// of the token; nil without signing keys.
	verifier *signing.Verifier
	slots    *streamSlots
}

// New returns the API.
func New(cfg Config) *API {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.FrameLimits = cfg.FrameLimits.withDefaults()
	a := &API{cfg: cfg, m: cfg.Manager, logger: cfg.Logger, slots: newStreamSlots(cfg.FrameLimits)}
	if cfg.Bus != nil {
		a.sse = event.NewSSE(cfg.Bus, event.SSEConfig{})
	}
	if v := cfg.Signing.Verifier(); v != nil {
		if cfg.Now != nil {
			v.Now = cfg.Now
		}
		a.verifier = v
	}
	return a
}

// Route is one operation of the API.
type Route struct {
	Method, Path string
	handler      func(*API, http.ResponseWriter, *http.Request)
}

// Routes lists every operation; the OpenAPI file must describe exactly these.
func Routes() []Route {
	return []Route{
		{"GET", "/api/v1/version", (*API).version},
		{"GET", "/api/v1/openapi.yaml", (*API).openapi},
		{"GET", "/api/v1/ladders", (*API).ladders},
		{"GET", "/api/v1/security-groups", (*API).listGroups},
		{"POST", "/api/v1/security-groups", (*API).createGroup},
		{"GET", "/api/v1/security-groups/{ref}", (*API).getGroup},
		{"PUT", "/api/v1/security-groups/{ref}", (*API).updateGroup},
		{"DELETE", "/api/v1/security-groups/{ref}", (*API).deleteGroup},
		{"GET", "/api/v1/inputs", (*API).listInputs},
		{"POST", "/api/v1/inputs", (*API).createInput},
		{"GET", "/api/v1/inputs/{ref}", (*API).getInput},
		{"PUT", "/api/v1/inputs/{ref}", (*API).updateInput},
		{"DELETE", "/api/v1/inputs/{ref}", (*API).deleteInput},
		{"POST", "/api/v1/inputs/{ref}/rotate-key", (*API).rotateKey},
		{"GET", "/api/v1/channels", (*API).listChannels},
		{"POST", "/api/v1/channels", (*API).createChannel},
		{"GET", "/api/v1/channels/{ref}", (*API).getChannel},
		{"PUT", "/api/v1/channels/{ref}", (*API).updateChannel},
		{"DELETE", "/api/v1/channels/{ref}", (*API).deleteChannel},
		{"POST", "/api/v1/channels/{ref}/start", (*API).startChannel},
		{"POST", "/api/v1/channels/{ref}/stop", (*API).stopChannel},
		{"GET", "/api/v1/channels/{ref}/history", (*API).channelHistory},
		{"GET", "/api/v1/channels/{ref}/frames", (*API).frames},
		{"GET", "/api/v1/metrics/query", (*API).queryMetrics},
		{"GET", "/api/v1/events", (*API).listEvents},
		{"GET", "/api/v1/events/stream", (*API).streamEvents},
		{"GET", "/api/v1/webhooks/deliveries", (*API).webhookDeliveries},
		{"GET", "/api/v1/alarms", (*API).listAlarms},
		{"POST", "/api/v1/alarms", (*API).createAlarm},
		{"GET", "/api/v1/alarms/{ref}", (*API).getAlarm},
		{"PUT", "/api/v1/alarms/{ref}", (*API).updateAlarm},
		{"DELETE", "/api/v1/alarms/{ref}", (*API).deleteAlarm},
		{"GET", "/api/v1/alarms/{ref}/history", (*API).alarmHistory},
		{"GET", "/api/v1/rules", (*API).listRules},
		{"POST", "/api/v1/rules", (*API).createRule},
		{"GET", "/api/v1/rules/{ref}", (*API).getRule},
		{"PUT", "/api/v1/rules/{ref}", (*API).updateRule},
		{"DELETE", "/api/v1/rules/{ref}", (*API).deleteRule},
		{"GET", "/api/v1/presets", (*API).listPresets},
		{"POST", "/api/v1/presets", (*API).createPreset},
		{"GET", "/api/v1/presets/{name}", (*API).getPreset},
		{"PUT", "/api/v1/presets/{name}", (*API).updatePreset},
		{"DELETE", "/api/v1/presets/{name}", (*API).deletePreset},
		{"GET", "/api/v1/pipelines", (*API).listPipelines},
		{"POST", "/api/v1/pipelines", (*API).createPipeline},
		{"GET", "/api/v1/pipelines/{name}", (*API).getPipeline},
		{"PUT", "/api/v1/pipelines/{name}", (*API).updatePipeline},
		{"DELETE", "/api/v1/pipelines/{name}", (*API).deletePipeline},
		{"GET", "/api/v1/jobs", (*API).listJobs},
		{"POST", "/api/v1/jobs", (*API).submitJob},
		{"GET", "/api/v1/jobs/{id}", (*API).getJob},
		{"POST", "/api/v1/jobs/{id}/cancel", (*API).cancelJob},
		{"GET", "/api/v1/assets", (*API).listAssets},
		{"GET", "/api/v1/assets/{id}", (*API).getAsset},
		{"GET", "/api/v1/distributions", (*API).listDistributions},
		{"POST", "/api/v1/distributions", (*API).createDistribution},
		{"GET", "/api/v1/distributions/{ref}", (*API).getDistribution},
		{"PUT", "/api/v1/distributions/{ref}", (*API).updateDistribution},
		{"DELETE", "/api/v1/distributions/{ref}", (*API).deleteDistribution},
		{"GET", "/api/v1/distributions/{ref}/stats", (*API).distributionStats},
		{"GET", "/api/v1/harvest-jobs", (*API).listHarvestJobs},
		{"POST", "/api/v1/harvest-jobs", (*API).createHarvestJob},
		{"GET", "/api/v1/harvest-jobs/{id}", (*API).getHarvestJob},
		{"POST", "/api/v1/sign", (*API).sign},
		{"POST", "/api/v1/stacks/{name}/plan", (*API).planStack},
		{"PUT", "/api/v1/stacks/{name}", (*API).applyStack},
		{"POST", "/api/v1/stacks/{name}/destroy", (*API).destroyStack},
	}
}

// Register adds every route to mux, behind the checks every request
// passes in this order: not from another site's page, the token, the JSON
// media type of changes, the size of the body.
func (a *API) Register(mux *http.ServeMux) {
	for _, rt := range Routes() {
		h := rt.handler
		mux.Handle(rt.Method+" "+rt.Path, a.sameOrigin(a.authorize(a.jsonOnly(a.limitBody(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h(a, w, r)
		}))))))
	}
	mux.Handle("/api/", http.HandlerFunc(a.unknownRoute))
}
