// Package api is Sluice's REST API under /api/v1: inputs, channels, their
// state history and stacks, as JSON, with RFC 9457 problem details for
// every error.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	spec "github.com/sluice-video/sluice/api"
	"github.com/sluice-video/sluice/internal/event"
	"github.com/sluice-video/sluice/internal/kinds"
	"github.com/sluice-video/sluice/internal/metrics"
	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/signing"
)

// Manager is what the API drives beyond the resource kinds' verbs: the
// actions and histories of inputs, channels and alarms, and the channel
// a frames stream reads.
type Manager interface {
	RotateStreamKey(ctx context.Context, ref string) (resource.Input, error)
	GetChannel(ctx context.Context, ref string) (resource.Channel, error)
	StartChannel(ctx context.Context, ref string) (resource.Channel, error)
	StopChannel(ctx context.Context, ref string) (resource.Channel, error)
	RestartChannel(ctx context.Context, ref string) (resource.Channel, error)
	History(ctx context.Context, ref string, limit int) ([]resource.StateChange, error)
	AlarmHistory(ctx context.Context, ref string, limit int) ([]resource.AlarmChange, error)
	// SilenceAlarm, UnsilenceAlarm and AcknowledgeAlarm act for the
	// caller by (the user of a login, the name of a token).
	SilenceAlarm(ctx context.Context, ref, by string, req resource.SilenceRequest) (resource.Alarm, error)
	UnsilenceAlarm(ctx context.Context, ref, by string, req resource.UnsilenceRequest) (resource.Alarm, error)
	AcknowledgeAlarm(ctx context.Context, ref, by string, req resource.AcknowledgeRequest) (resource.Alarm, error)
}

// Config configures the API.
type Config struct {
	Manager Manager
	Logger  *slog.Logger
	// Token, when set, is an admin's token: "Authorization: Bearer
	// <token>". A server without one trusts every caller as an admin (it
	// listens on loopback only).
	Token string
	// Auth knows the users, named tokens, sessions and the audit log;
	// without it only Token admits anyone, and the routes of users,
	// tokens, sessions and the audit log answer 404.
	Auth Auth
	// RequireLogin refuses reads to callers who proved nothing (401);
	// otherwise they read as viewers, with secrets hidden.
	RequireLogin bool
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
	// WebRTC lists the WebRTC viewers; without it the channels have none.
	WebRTC WebRTCSessions
	// Kinds are the resource kinds the server runs: their routes, and the
	// stacks' plan, apply and destroy. A kind it lacks answers 404.
	Kinds kinds.Table
	// Nodes lists the nodes of the server's cluster; without it the route
	// answers 404.
	Nodes Nodes
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
	// specJSON is api/openapi.yaml as JSON; specErr says why it is nil.
	specJSON []byte
	specErr  error
}

// New returns the API.
func New(cfg Config) *API {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.FrameLimits = cfg.FrameLimits.withDefaults()
	a := &API{cfg: cfg, m: cfg.Manager, logger: cfg.Logger, slots: newStreamSlots(cfg.FrameLimits)}
	a.specJSON, a.specErr = spec.JSON()
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

// Routes lists every operation; the OpenAPI file must describe exactly
// these. Every resource kind has the same five (see kindRoutes); the
// others are a kind's own actions and the rest of the API.
func Routes() []Route {
	routes := []Route{
		{"GET", "/api/v1/version", (*API).version},
		{"GET", "/api/v1/openapi.yaml", (*API).openapi},
		{"GET", "/api/v1/openapi.json", (*API).openapiJSON},
		{"GET", "/api/v1/ladders", (*API).ladders},
		{"GET", "/api/v1/nodes", (*API).listNodes},
	}
	routes = append(routes, kindRoutes()...)
	return append(routes,
		Route{"POST", "/api/v1/inputs/{ref}/rotate-key", (*API).rotateKey},
		Route{"POST", "/api/v1/channels/{ref}/start", (*API).startChannel},
		Route{"POST", "/api/v1/channels/{ref}/stop", (*API).stopChannel},
		Route{"POST", "/api/v1/channels/{ref}/restart", (*API).restartChannel},
		Route{"GET", "/api/v1/channels/{ref}/history", (*API).channelHistory},
		Route{"GET", "/api/v1/channels/{ref}/frames", (*API).frames},
		Route{"GET", "/api/v1/channels/{ref}/webrtc-sessions", (*API).webrtcSessions},
		Route{"GET", "/api/v1/metrics/query", (*API).queryMetrics},
		Route{"GET", "/api/v1/events", (*API).listEvents},
		Route{"GET", "/api/v1/events/stream", (*API).streamEvents},
		Route{"GET", "/api/v1/webhooks/deliveries", (*API).webhookDeliveries},
		Route{"GET", "/api/v1/alarms/{ref}/history", (*API).alarmHistory},
		Route{"POST", "/api/v1/alarms/{ref}/silence", (*API).silenceAlarm},
		Route{"DELETE", "/api/v1/alarms/{ref}/silence", (*API).unsilenceAlarm},
		Route{"POST", "/api/v1/alarms/{ref}/acknowledge", (*API).acknowledgeAlarm},
		Route{"GET", "/api/v1/jobs", (*API).listJobs},
		Route{"POST", "/api/v1/jobs", (*API).submitJob},
		Route{"GET", "/api/v1/jobs/{id}", (*API).getJob},
		Route{"POST", "/api/v1/jobs/{id}/cancel", (*API).cancelJob},
		Route{"POST", "/api/v1/uploads", (*API).startUpload},
		Route{"GET", "/api/v1/uploads/{id}", (*API).getUpload},
		Route{"PATCH", "/api/v1/uploads/{id}", (*API).appendUpload},
		Route{"GET", "/api/v1/assets", (*API).listAssets},
		Route{"GET", "/api/v1/assets/{id}", (*API).getAsset},
		Route{"GET", "/api/v1/distributions/{ref}/stats", (*API).distributionStats},
		Route{"GET", "/api/v1/harvest-jobs", (*API).listHarvestJobs},
		Route{"POST", "/api/v1/harvest-jobs", (*API).createHarvestJob},
		Route{"GET", "/api/v1/harvest-jobs/{id}", (*API).getHarvestJob},
		Route{"POST", "/api/v1/sign", (*API).sign},
		Route{"POST", "/api/v1/stacks/{name}/plan", (*API).planStack},
		Route{"PUT", "/api/v1/stacks/{name}", (*API).applyStack},
		Route{"POST", "/api/v1/stacks/{name}/destroy", (*API).destroyStack},
		Route{"GET", "/api/v1/session", (*API).getSession},
		Route{"POST", "/api/v1/session", (*API).login},
		Route{"DELETE", "/api/v1/session", (*API).logout},
		Route{"GET", "/api/v1/users", (*API).listUsers},
		Route{"POST", "/api/v1/users", (*API).addUser},
		Route{"PUT", "/api/v1/users/{name}/role", (*API).setUserRole},
		Route{"PUT", "/api/v1/users/{name}/password", (*API).setUserPassword},
		Route{"DELETE", "/api/v1/users/{name}", (*API).removeUser},
		Route{"GET", "/api/v1/tokens", (*API).listTokens},
		Route{"POST", "/api/v1/tokens", (*API).addToken},
		Route{"DELETE", "/api/v1/tokens/{name}", (*API).removeToken},
		Route{"GET", "/api/v1/audit", (*API).listAudit},
	)
}

// Register adds every route to mux, behind the checks every request
// passes in this order: not from another site's page, who the caller is,
// the audit of changes (which sees the refusals that follow), the role
// the route needs and the CSRF token of a change made with the session
// cookie, the JSON media type of changes, the size of the body.
func (a *API) Register(mux *http.ServeMux) {
	for _, rt := range Routes() {
		h := rt.handler
		mux.Handle(rt.Method+" "+rt.Path, a.sameOrigin(a.authenticate(a.audit(rt, a.authorize(rt, a.jsonOnly(a.limitBody(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h(a, w, r)
		}))))))))
	}
	mux.Handle("/api/", http.HandlerFunc(a.unknownRoute))
}

// now is the API's clock.
func (a *API) now() time.Time {
	if a.cfg.Now != nil {
		return a.cfg.Now()
	}
	return time.Now()
}
