package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	spec "github.com/sluice-video/sluice/api"
	"github.com/sluice-video/sluice/internal/alarm"
	"github.com/sluice-video/sluice/internal/automation"
	"github.com/sluice-video/sluice/internal/channel"
	"github.com/sluice-video/sluice/internal/controlplane"
	"github.com/sluice-video/sluice/internal/event"
	"github.com/sluice-video/sluice/internal/input"
	"github.com/sluice-video/sluice/internal/input/live"
	"github.com/sluice-video/sluice/internal/metrics"
	"github.com/sluice-video/sluice/internal/output"
	"github.com/sluice-video/sluice/internal/problem"
	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/store"
	"github.com/sluice-video/sluice/internal/testutil/contract"
	"github.com/sluice-video/sluice/internal/testutil/poll"
)

// newServer runs the API on a real manager and a real SQLite store.
func newServer(t *testing.T, token string) *httptest.Server {
	t.Helper()
	return newServerWith(t, Config{Token: token})
}

// newServerWith is newServer with more of the API's configuration: its
// manager, metrics, bus and frames are filled in.
func newServerWith(t *testing.T, cfg Config) *httptest.Server {
	t.Helper()
	dir := t.TempDir()
	st, err := store.Open(context.Background(), filepath.Join(dir, "sluice.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	m := channel.New(channel.Config{Store: st, Resolver: input.Resolver{MediaRoot: dir}, Live: endpointsOnly{}})
	t.Cleanup(func() { m.Close(context.Background()) })
	mx := metrics.New(metrics.Config{})
	bus := event.NewBus(event.BusConfig{Metrics: mx})
	t.Cleanup(func() { _ = bus.Close(context.Background()) })
	runner := &event.Actions{Channels: m}
	auto := automation.New(automation.Config{
		Store:  st,
		Alarms: alarm.New(alarm.Config{Metrics: mx, Store: st, Actions: runner}),
		Rules:  event.NewRules(event.RulesConfig{Bus: bus, Runner: runner}),
	})
	mux := http.NewServeMux()
	frames := func(ctx context.Context, ref string, req output.FrameRequest) (FrameRun, error) {
		fs, err := m.OpenFrames(ctx, ref, req)
		if err != nil {
			return FrameRun{}, err
		}
		return FrameRun{Channel: fs.Channel, Spec: fs.Spec, Protected: fs.Protected, Run: fs.Run}, nil
	}
	cfg.Manager, cfg.Version, cfg.Metrics, cfg.Bus, cfg.Frames = controlPlane{m, auto}, "test", mx, bus, frames
	cfg.Kinds = controlplane.Plane{Channels: m, Automation: auto}.Kinds()
	New(cfg).Register(mux)
	return serveAPI(t, mux)
}

// serveAPI serves mux on loopback for a test. Its client holds every
// exchange with /api/v1 to api/openapi.yaml: a request to a route the
// document lacks, an undocumented status or a body that does not match
// its schema fails the test that sent it.
func serveAPI(t *testing.T, mux http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	srv.Client().Transport = contract.NewTransport(t, srv.Client().Transport)
	return srv
}

// contractClient is an HTTP client that holds every exchange with
// /api/v1 to api/openapi.yaml, as serveAPI's does.
func contractClient(t *testing.T) *http.Client {
	t.Helper()
	return &http.Client{Transport: contract.NewTransport(t, nil)}
}

// endpointsOnly is the live side of inputs reduced to what the API shows:
// publishing endpoints. Media handling is tested with the real listeners
// in the input packages and the end-to-end tests.
type endpointsOnly struct{}

func (endpointsOnly) Apply(resource.Input, map[string]resource.SecurityGroup) {}
func (endpointsOnly) Remove(string)                                           {}
func (endpointsOnly) Hub(string) (*live.Hub, bool)                            { return nil, false }
func (endpointsOnly) Status(string) *resource.LiveStatus                      { return nil }
func (endpointsOnly) Demand(map[string]bool, map[string]bool)                 {}
func (endpointsOnly) Endpoints(in resource.Input) []string {
	return []string{"rtmp://127.0.0.1:1935/live/" + in.StreamKey}
}

func (e endpointsOnly) NodeEndpoints(in resource.Input, _ string) []string { return e.Endpoints(in) }

// controlPlane is every resource operation, as the server composes it.
type controlPlane struct {
	*channel.Manager
	*automation.Service
}

// call sends a request as the CLI does: changes carry the JSON media type,
// with a body or without.
func call(t *testing.T, srv *httptest.Server, method, path, body, token string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if method != http.MethodGet && method != http.MethodHead {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	data, _ := io.ReadAll(resp.Body)
	return resp, data
}

func problemOf(t *testing.T, resp *http.Response, data []byte) problem.Details {
	t.Helper()
	if ct := resp.Header.Get("Content-Type"); ct != problem.ContentType {
		t.Fatalf("Content-Type %q, want %q (body %s)", ct, problem.ContentType, data)
	}
	var p problem.Details
	if err := json.Unmarshal(data, &p); err != nil || p.Status != resp.StatusCode || p.Title == "" {
		t.Fatalf("not a problem document: %s (%v)", data, err)
	}
	return p
}

// TestRoutesMatchOpenAPI holds the router and api/openapi.yaml to the same
// operations, both ways: a route the document lacks, or an operation
// the router does not serve, fails it by name.
func TestRoutesMatchOpenAPI(t *testing.T) {
	var doc struct {
		Paths map[string]map[string]yaml.Node `yaml:"paths"`
	}
	if err := yaml.Unmarshal(spec.OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	inSpec := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			if method == "parameters" || method == "summary" || method == "description" {
				continue
			}
			inSpec[strings.ToUpper(method)+" "+path] = true
		}
	}
	inRouter := map[string]bool{}
	for _, r := range Routes() {
		inRouter[r.Method+" "+r.Path] = true
	}
	for _, missing := range difference(inRouter, inSpec) {
		t.Errorf("the router serves %s, which api/openapi.yaml does not describe", missing)
	}
	for _, missing := range difference(inSpec, inRouter) {
		t.Errorf("api/openapi.yaml describes %s, which the router does not serve", missing)
	}
	if len(inRouter) == 0 {
		t.Error("the router has no routes")
	}
}

// difference lists, sorted, what a has and b lacks.
func difference(a, b map[string]bool) []string {
	var out []string
	for k := range a {
		if !b[k] {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

func TestBadRequestsAreProblems(t *testing.T) {
	srv := newServer(t, "")
	cases := []struct {
		name, method, path, body string
		status                   int
		detail                   string
		field                    string
	}{
		{"broken JSON", "POST", "/api/v1/inputs", `{"name": "x",`, 400, "the JSON ends early", ""},
		{"syntax error", "POST", "/api/v1/inputs", `{"name" "x"}`, 400, "invalid JSON at byte", ""},
		{"wrong type", "POST", "/api/v1/inputs", `{"name": 5, "type": "FILE"}`, 400, "field name: expected string", ""},
		{"unknown field", "POST", "/api/v1/inputs", `{"name": "a", "type": "FILE", "uri": "x.mp4"}`, 400, `unknown field "uri"`, ""},
		{"empty body", "POST", "/api/v1/channels", ``, 400, "empty", ""},
		{"trailing data", "POST", "/api/v1/inputs", `{"name":"a","type":"TEST_PATTERN"} {}`, 400, "data after the JSON value", ""},
		{"invalid field", "POST", "/api/v1/inputs", `{"name": "Bad Name", "type": "FILE", "url": "x.mp4"}`, 400, "not a valid name", "name"},
		{"hostile url", "POST", "/api/v1/inputs", `{"name": "a", "type": "FILE", "url": "../../etc/passwd.mp4"}`, 400, "inside the media directory", "url"},
		{"other scheme", "POST", "/api/v1/inputs", `{"name": "a", "type": "FILE", "url": "concat:a.mp4|b.mp4"}`, 400, "", "url"},
		{"bad bitrate", "POST", "/api/v1/channels", `{"name":"c","inputAttachments":[{"input":"i"}],"encoder":{"video":[{"name":"v","width":640,"height":360,"bitrate":"fast"}]}}`, 400, "not a bitrate", ""},
		{"unknown ladder", "POST", "/api/v1/channels", `{"name":"c","inputAttachments":[{"input":"i"}],"encoder":{"ladder":"huge"}}`, 400, "unknown ladder", "encoder.ladder"},
		{"missing input", "POST", "/api/v1/channels", `{"name":"c","inputAttachments":[{"input":"nope"}],"encoder":{"ladder":"test-360p"}}`, 400, "does not exist", "inputAttachments[0].input"},
		{"unknown channel", "GET", "/api/v1/channels/nope", ``, 404, `channel "nope"`, ""},
		{"unknown operation", "GET", "/api/v1/nothing", ``, 404, "no such API operation", ""},
		{"bad history limit", "GET", "/api/v1/channels/x/history?limit=0", ``, 400, "", "limit"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, data := call(t, srv, c.method, c.path, c.body, "")
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, c.status, data)
			}
			p := problemOf(t, resp, data)
			if !strings.Contains(p.Detail, c.detail) {
				t.Errorf("detail %q does not say %q", p.Detail, c.detail)
			}
			if c.field != "" && (len(p.Errors) == 0 || p.Errors[0].Path != c.field) {
				t.Errorf("errors %+v do not name %s", p.Errors, c.field)
			}
		})
	}
}

func TestChangesNeedTheToken(t *testing.T) {
	srv := newServer(t, "s3cret-token")
	body := `{"name": "bars", "type": "TEST_PATTERN"}`
	resp, data := call(t, srv, "POST", "/api/v1/inputs", body, "")
	if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") == "" {
		t.Fatalf("no token: %d %s", resp.StatusCode, data)
	}
	problemOf(t, resp, data)
	if resp, data = call(t, srv, "POST", "/api/v1/inputs", body, "wrong"); resp.StatusCode != 401 || !strings.Contains(string(data), "wrong") {
		t.Fatalf("wrong token: %d %s", resp.StatusCode, data)
	}
	if resp, data = call(t, srv, "POST", "/api/v1/inputs", body, "s3cret-token"); resp.StatusCode != 201 {
		t.Fatalf("right token: %d %s", resp.StatusCode, data)
	}
	if resp, _ = call(t, srv, "GET", "/api/v1/inputs", "", ""); resp.StatusCode != 200 {
		t.Fatalf("reading needs no token, got %d", resp.StatusCode)
	}
}

func TestInputAndChannelLifecycle(t *testing.T) {
	srv := newServer(t, "")
	resp, data := call(t, srv, "POST", "/api/v1/inputs", `{"name": "bars", "type": "TEST_PATTERN", "testPattern": {"width": 640, "height": 360}}`, "")
	if resp.StatusCode != 201 || resp.Header.Get("Location") == "" {
		t.Fatalf("create input: %d %s", resp.StatusCode, data)
	}
	if resp, data = call(t, srv, "POST", "/api/v1/inputs", `{"name": "bars", "type": "TEST_PATTERN"}`, ""); resp.StatusCode != 409 {
		t.Fatalf("duplicate input: %d %s", resp.StatusCode, data)
	}
	resp, data = call(t, srv, "POST", "/api/v1/channels", `{"name":"news","inputAttachments":[{"input":"bars"}],"encoder":{"ladder":"test-360p"}}`, "")
	if resp.StatusCode != 201 {
		t.Fatalf("create channel: %d %s", resp.StatusCode, data)
	}
	var ch resource.Channel
	if err := json.Unmarshal(data, &ch); err != nil || ch.ID == "" || len(ch.Endpoints) != 2 {
		t.Fatalf("channel answer: %s", data)
	}
	waitState(t, srv, "news", resource.StateIdle)

	var in resource.Input
	_, data = call(t, srv, "GET", "/api/v1/inputs/bars", "", "")
	if err := json.Unmarshal(data, &in); err != nil || in.State != resource.InputAttached || in.AttachedChannels[0] != "news" {
		t.Fatalf("input should be attached to news: %s", data)
	}
	if resp, data = call(t, srv, "DELETE", "/api/v1/inputs/bars", "", ""); resp.StatusCode != 409 || !strings.Contains(string(data), "news") {
		t.Fatalf("deleting an attached input: %d %s", resp.StatusCode, data)
	}
	if resp, data = call(t, srv, "PUT", "/api/v1/channels/news", `{"name":"news","inputAttachments":[{"input":"bars"}],"encoder":{"ladder":"default-720p"}}`, ""); resp.StatusCode != 200 {
		t.Fatalf("update channel: %d %s", resp.StatusCode, data)
	}
	waitState(t, srv, "news", resource.StateIdle)

	// The update's way through UPDATING back to IDLE is recorded as it
	// happens, after the answer: wait for it rather than for IDLE, which
	// the channel may still show from before.
	var hist []resource.StateChange
	poll.Until(t, "the update's history", 30*time.Second, func() (bool, string) {
		_, data = call(t, srv, "GET", "/api/v1/channels/"+ch.ID+"/history", "", "")
		if err := json.Unmarshal(data, &hist); err != nil {
			t.Fatalf("history: %s", data)
		}
		return len(hist) >= 4 && hist[len(hist)-1].To == resource.StateIdle, string(data)
	})
	want := []resource.ChannelState{resource.StateCreating, resource.StateIdle, resource.StateUpdating, resource.StateIdle}
	for i, w := range want {
		if hist[i].To != w || hist[i].At.IsZero() || hist[i].Reason == "" {
			t.Errorf("history[%d] = %+v, want a dated change to %s with a reason", i, hist[i], w)
		}
	}
	if resp, data = call(t, srv, "DELETE", "/api/v1/channels/news", "", ""); resp.StatusCode != 202 {
		t.Fatalf("delete channel: %d %s", resp.StatusCode, data)
	}
	if resp, _ = call(t, srv, "GET", "/api/v1/channels/news", "", ""); resp.StatusCode != 404 {
		t.Fatalf("deleted channel still answers %d", resp.StatusCode)
	}
	if resp, data = call(t, srv, "DELETE", "/api/v1/inputs/bars", "", ""); resp.StatusCode != 204 {
		t.Fatalf("delete input: %d %s", resp.StatusCode, data)
	}
}

func waitState(t *testing.T, srv *httptest.Server, name string, want resource.ChannelState) {
	t.Helper()
	var ch resource.Channel
	poll.Until(t, fmt.Sprintf("channel %s to be %s", name, want), 30*time.Second, func() (bool, string) {
		_, data := call(t, srv, "GET", "/api/v1/channels/"+name, "", "")
		err := json.Unmarshal(data, &ch)
		return err == nil && ch.State == want, fmt.Sprintf("%s (%s)", ch.State, ch.StateReason)
	})
}

func TestFramesRefusals(t *testing.T) {
	srv := newServer(t, "")
	if resp, data := call(t, srv, "POST", "/api/v1/inputs", `{"name": "bars", "type": "TEST_PATTERN"}`, ""); resp.StatusCode != 201 {
		t.Fatalf("create input: %d %s", resp.StatusCode, data)
	}
	if resp, data := call(t, srv, "POST", "/api/v1/channels", `{"name":"news","inputAttachments":[{"input":"bars"}],"encoder":{"ladder":"test-360p"}}`, ""); resp.StatusCode != 201 {
		t.Fatalf("create channel: %d %s", resp.StatusCode, data)
	}
	waitState(t, srv, "news", resource.StateIdle)
	cases := []struct {
		path   string
		status int
		detail string
	}{
		{"/api/v1/channels/news/frames?fps=500", 400, "fps: must be a number"},
		{"/api/v1/channels/news/frames?width=100", 400, "width and height together"},
		{"/api/v1/channels/nope/frames", 404, "nope"},
		{"/api/v1/channels/news/frames?fps=5", 409, "not running"},
	}
	for _, c := range cases {
		resp, data := call(t, srv, "GET", c.path, "", "")
		p := problemOf(t, resp, data)
		if resp.StatusCode != c.status || !strings.Contains(p.Detail, c.detail) {
			t.Errorf("%s: %d %q, want %d …%s…", c.path, resp.StatusCode, p.Detail, c.status, c.detail)
		}
	}
}

func TestStreamKeysNeedTheToken(t *testing.T) {
	srv := newServer(t, "s3cret-token")
	if resp, data := call(t, srv, "POST", "/api/v1/security-groups", `{"name": "studio", "allow": ["10.0.0.0/8"]}`, "s3cret-token"); resp.StatusCode != 201 {
		t.Fatalf("create group: %d %s", resp.StatusCode, data)
	}
	resp, data := call(t, srv, "POST", "/api/v1/inputs", `{"name": "cam", "type": "RTMP_PUSH", "securityGroups": ["studio"]}`, "s3cret-token")
	if resp.StatusCode != 201 {
		t.Fatalf("create input: %d %s", resp.StatusCode, data)
	}
	var created resource.Input
	if err := json.Unmarshal(data, &created); err != nil || created.StreamKey == "" || created.StreamKey == resource.HiddenStreamKey {
		t.Fatalf("the creator sees the stream key: %s", data)
	}
	for _, path := range []string{"/api/v1/inputs/cam", "/api/v1/inputs"} {
		_, data = call(t, srv, "GET", path, "", "")
		if strings.Contains(string(data), created.StreamKey) || !strings.Contains(string(data), resource.HiddenStreamKey) {
			t.Errorf("GET %s without the token shows the stream key: %s", path, data)
		}
		_, data = call(t, srv, "GET", path, "", "s3cret-token")
		if !strings.Contains(string(data), created.StreamKey) {
			t.Errorf("GET %s with the token hides the stream key: %s", path, data)
		}
	}
}

func TestRTMPDestinationKeysNeedTheToken(t *testing.T) {
	srv := newServer(t, "s3cret-token")
	if resp, data := call(t, srv, "POST", "/api/v1/inputs", `{"name": "bars", "type": "TEST_PATTERN"}`, "s3cret-token"); resp.StatusCode != 201 {
		t.Fatalf("create input: %d %s", resp.StatusCode, data)
	}
	body := `{"name":"news","inputAttachments":[{"input":"bars"}],"encoder":{"ladder":"test-360p"},
		"outputs":[{"name":"hls","type":"HLS"},{"name":"yt","type":"RTMP","destination":"rtmp://live.example.com/app/push-key-123"}]}`
	if resp, data := call(t, srv, "POST", "/api/v1/channels", body, "s3cret-token"); resp.StatusCode != 201 {
		t.Fatalf("create channel: %d %s", resp.StatusCode, data)
	}
	for _, path := range []string{"/api/v1/channels/news", "/api/v1/channels"} {
		if _, data := call(t, srv, "GET", path, "", ""); strings.Contains(string(data), "push-key-123") || !strings.Contains(string(data), resource.HiddenStreamKey) {
			t.Errorf("GET %s without the token shows the push key: %s", path, data)
		}
		if _, data := call(t, srv, "GET", path, "", "s3cret-token"); !strings.Contains(string(data), "push-key-123") {
			t.Errorf("GET %s with the token hides the push key: %s", path, data)
		}
	}
}

func TestLimitIsCheckedAlikeOnEveryPagedRoute(t *testing.T) {
	srv := newServer(t, "")
	for _, path := range []string{"/api/v1/channels/none/history?limit=0", "/api/v1/alarms/none/history?limit=x", "/api/v1/events?limit=1001"} {
		resp, data := call(t, srv, "GET", path, "", "")
		if resp.StatusCode != 400 {
			t.Errorf("%s: %d %s, want 400", path, resp.StatusCode, data)
			continue
		}
		if p := problemOf(t, resp, data); len(p.Errors) != 1 || p.Errors[0].Path != "limit" {
			t.Errorf("%s: the problem does not name limit: %s", path, data)
		}
	}
}

func TestRotateStreamKey(t *testing.T) {
	srv := newServer(t, "s3cret-token")
	if resp, data := call(t, srv, "POST", "/api/v1/security-groups", `{"name": "studio", "allow": ["10.0.0.0/8"]}`, "s3cret-token"); resp.StatusCode != 201 {
		t.Fatalf("create group: %d %s", resp.StatusCode, data)
	}
	resp, data := call(t, srv, "POST", "/api/v1/inputs", `{"name": "cam", "type": "RTMP_PUSH", "securityGroups": ["studio"]}`, "s3cret-token")
	if resp.StatusCode != 201 {
		t.Fatalf("create input: %d %s", resp.StatusCode, data)
	}
	var before resource.Input
	if err := json.Unmarshal(data, &before); err != nil {
		t.Fatal(err)
	}
	if resp, _ = call(t, srv, "POST", "/api/v1/inputs/cam/rotate-key", "", ""); resp.StatusCode != 401 {
		t.Errorf("rotating without the token: %d, want 401", resp.StatusCode)
	}
	resp, data = call(t, srv, "POST", "/api/v1/inputs/cam/rotate-key", "", "s3cret-token")
	var after resource.Input
	if resp.StatusCode != 200 || json.Unmarshal(data, &after) != nil {
		t.Fatalf("rotate: %d %s", resp.StatusCode, data)
	}
	if after.StreamKey == "" || after.StreamKey == before.StreamKey {
		t.Fatalf("the key did not change: %q then %q", before.StreamKey, after.StreamKey)
	}
	if len(after.Endpoints) == 0 || !strings.HasSuffix(after.Endpoints[0], "/"+after.StreamKey) {
		t.Errorf("the endpoints do not carry the new key: %v", after.Endpoints)
	}
	_, data = call(t, srv, "GET", "/api/v1/inputs/cam", "", "s3cret-token")
	if !strings.Contains(string(data), after.StreamKey) || strings.Contains(string(data), before.StreamKey) {
		t.Errorf("reading the input after rotation: %s", data)
	}
	if resp, data = call(t, srv, "POST", "/api/v1/inputs/none/rotate-key", "", "s3cret-token"); resp.StatusCode != 404 {
		t.Errorf("rotating an unknown input: %d %s", resp.StatusCode, data)
	}
}
