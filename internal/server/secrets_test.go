package server

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/api"
	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/testutil/contract"
	"github.com/sluice-video/sluice/internal/testutil/media"
	"github.com/sluice-video/sluice/internal/testutil/poll"
	"github.com/sluice-video/sluice/internal/testutil/syncbuf"
)

// TestNoSecretReachesReadersWithoutTheToken runs a real server with an API
// token, configures every kind of secret a resource holds, makes the
// server quote some of them in free text (a failed probe, delivery errors,
// events), and reads every GET route of the API (from api.Routes, so a new
// route is read too), the event stream, the pages and a playlist without
// the token: no configured secret may appear in any answer. With the
// token, every secret must appear somewhere, so the test cannot pass by
// configuring nothing. An operator's login reads them hidden too, and
// users' passwords appear in no answer to anyone, nor in the log.
func TestNoSecretReachesReadersWithoutTheToken(t *testing.T) {
	const token = "api-token-for-the-secrets-test"
	hooks := newHookReceiver(t)
	data := t.TempDir()
	logs := &syncbuf.Buffer{}
	s, err := New(context.Background(), Config{
		Data: data, Token: token, FFmpeg: media.Tool(t, "ffmpeg"), FFprobe: media.Tool(t, "ffprobe"),
		RTMP: "127.0.0.1:0", SRT: "127.0.0.1:0", PublicHost: "127.0.0.1", VODWorkers: 1,
		Logger: slog.New(slog.NewTextHandler(logs, nil)), FirstAdmin: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	// Every exchange with /api/v1 is held to api/openapi.yaml too.
	srv.Client().Transport = contract.NewTransport(t, srv.Client().Transport)
	c := &secretsClient{t: t, srv: srv, token: token}

	closed := closedPort(t)
	secrets := map[string]string{
		"SRT passphrase":              "srt-passphrase-0A1B",
		"SRT caller stream id":        "caller-streamid-7Q2W",
		"SRT caller passphrase":       "caller-passphrase-3C4D",
		"URL_PULL user":               "pull-user-4D5E",
		"URL_PULL password":           "pull-pass-5E6F",
		"URL_PULL query token":        "pull-query-6F7G",
		"remote FILE signature":       "file-sig-7G8H",
		"HLS key token":               "key-token-8H9J-0123456789",
		"RTMP destination key":        "rtmp-dest-key-9J0K",
		"rule webhook query token":    "rule-query-1K2L",
		"rule webhook secret":         "rule-hmac-2L3M",
		"alarm webhook query token":   "alarm-query-3M4N",
		"alarm webhook secret":        "alarm-hmac-4N5P",
		"pipeline notify user":        "notify-user-5P6Q",
		"pipeline notify password":    "notify-pass-6Q7R",
		"pipeline notify query token": "notify-query-7R8S",
		"pipeline notify secret":      "notify-hmac-8R9S",
		"distribution origin user":    "edge-user-8S9T",
		"distribution origin pass":    "edge-pass-9T0U",
	}

	// Rules and alarms first, so that what follows fires their webhooks.
	c.mustDo("POST", "/api/v1/rules", fmt.Sprintf(`{"name":"hook","event":"channel.*","actions":[
		{"type":"WEBHOOK","url":%q,"secret":%q}]}`, hooks.url("/rule?token="+secrets["rule webhook query token"]), secrets["rule webhook secret"]), 201)
	alarmHook := fmt.Sprintf(`{"type":"WEBHOOK","url":%q,"secret":%q}`, hooks.url("/alarm?token="+secrets["alarm webhook query token"]), secrets["alarm webhook secret"])
	c.mustDo("PUT", "/api/v1/stacks/ops", `{"name":"ops","alarms":[{"name":"slow","metric":"sluice_encoder_speed_ratio",
		"statistic":"avg","periodSeconds":10,"evaluationPeriods":1,"threshold":0.5,"comparison":"LessThanThreshold",
		"alarmActions":[`+alarmHook+`],"okActions":[`+alarmHook+`],"insufficientDataActions":[`+alarmHook+`]}]}`, 200)

	// Inputs of every kind that holds a secret.
	c.mustDo("POST", "/api/v1/security-groups", `{"name":"studio","allow":["127.0.0.0/8"]}`, 201)
	c.mustDo("POST", "/api/v1/inputs", `{"name":"cam","type":"RTMP_PUSH","securityGroups":["studio"]}`, 201)
	c.mustDo("POST", "/api/v1/inputs", fmt.Sprintf(`{"name":"srt-in","type":"SRT_LISTENER","securityGroups":["studio"],"srt":{"passphrase":%q}}`, secrets["SRT passphrase"]), 201)
	c.mustDo("POST", "/api/v1/inputs", fmt.Sprintf(`{"name":"caller","type":"SRT_CALLER","url":"srt://127.0.0.1:%d","srt":{"streamId":%q,"passphrase":%q}}`,
		closed, secrets["SRT caller stream id"], secrets["SRT caller passphrase"]), 201)
	c.mustDo("POST", "/api/v1/inputs", fmt.Sprintf(`{"name":"pull","type":"URL_PULL","url":"rtsp://%s:%s@127.0.0.1:%d/cam?token=%s"}`,
		secrets["URL_PULL user"], secrets["URL_PULL password"], closed, secrets["URL_PULL query token"]), 201)
	c.mustDo("POST", "/api/v1/inputs", fmt.Sprintf(`{"name":"remote","type":"FILE","url":"http://127.0.0.1:%d/clip.mp4?signature=%s"}`,
		closed, secrets["remote FILE signature"]), 201)
	c.mustDo("POST", "/api/v1/inputs", `{"name":"bars","type":"TEST_PATTERN","testPattern":{"width":320,"height":180,"fps":25}}`, 201)
	var inputs []resource.Input
	c.mustJSON("/api/v1/inputs", &inputs)
	for _, in := range inputs {
		if in.StreamKey != "" {
			secrets["stream key of "+in.Name] = in.StreamKey
		}
	}
	if len(secrets) != 21 {
		t.Fatalf("want the stream keys of cam and srt-in among the secrets: %v", secrets)
	}

	// A channel whose remote input cannot be probed: the failure quotes
	// the input's URL in the channel's last error and in its events.
	c.mustDo("POST", "/api/v1/channels", `{"name":"remote","inputAttachments":[{"input":"remote"}],"encoder":{"ladder":"test-360p"}}`, 201)
	// A channel of push inputs, for the player page's publishing details.
	c.mustDo("POST", "/api/v1/channels", `{"name":"live","inputAttachments":[{"input":"cam","secondaryInput":"srt-in"}],"encoder":{"ladder":"test-360p"}}`, 201)
	// A running channel with an encrypted, DVR-backed endpoint and an RTMP
	// destination that refuses, so its delivery reports errors.
	c.mustDo("POST", "/api/v1/channels", fmt.Sprintf(`{"name":"news","inputAttachments":[{"input":"bars"}],
		"encoder":{"ladder":"test-360p","segmentSeconds":2},
		"outputs":[{"name":"hls","type":"HLS","dvrWindowSeconds":120,"encryption":{"method":"AES_128","keyToken":%q}},
			{"name":"dash","type":"DASH","dvrWindowSeconds":120},
			{"name":"push","type":"RTMP","destination":"rtmp://127.0.0.1:%d/app/%s"}]}`,
		secrets["HLS key token"], closed, secrets["RTMP destination key"]), 201)
	c.waitChannel("remote", func(ch resource.Channel) bool { return ch.State == resource.StateCreateFailed })
	c.waitChannel("live", func(ch resource.Channel) bool { return ch.State == resource.StateIdle })
	c.waitChannel("news", func(ch resource.Channel) bool { return ch.State == resource.StateIdle })
	c.mustDo("POST", "/api/v1/channels/news/start", "", 202)
	c.waitChannel("news", func(ch resource.Channel) bool {
		return ch.State == resource.StateRunning && len(ch.Deliveries) == 1 && ch.Deliveries[0].Failures > 0
	})

	// On-demand: a pipeline that notifies a webhook, a job and its asset.
	if err := os.MkdirAll(filepath.Join(data, "media", "vod-in"), 0o750); err != nil {
		t.Fatal(err)
	}
	sample := filepath.Base(media.Sample(t, filepath.Join(data, "media", "vod-in"), 320, 180, 2))
	c.mustDo("POST", "/api/v1/presets", `{"name":"mine","kind":"AUDIO"}`, 201)
	notify := fmt.Sprintf("http://%s:%s@%s/notify?token=%s", secrets["pipeline notify user"], secrets["pipeline notify password"],
		strings.TrimPrefix(hooks.srv.URL, "http://"), secrets["pipeline notify query token"])
	c.mustDo("POST", "/api/v1/pipelines", fmt.Sprintf(`{"name":"vod","input":"vod-in","output":"vod-out","presets":["test-abr"],"notify":%q,"notifySecret":%q}`, notify, secrets["pipeline notify secret"]), 201)
	var job struct{ ID, State string }
	if err := json.Unmarshal(c.mustDo("POST", "/api/v1/jobs", fmt.Sprintf(`{"pipeline":"vod","input":%q}`, sample), 201), &job); err != nil {
		t.Fatal(err)
	}
	c.poll("job "+job.ID+" to complete", func() (bool, string) {
		c.mustJSON("/api/v1/jobs/"+job.ID, &job)
		if job.State == "ERROR" || job.State == "CANCELED" {
			t.Fatalf("job %s: %s", job.ID, job.State)
		}
		return job.State == "COMPLETE", job.State
	})
	var assets []struct{ ID string }
	c.mustJSON("/api/v1/assets", &assets)
	if len(assets) != 1 {
		t.Fatalf("assets: %+v", assets)
	}

	// An upload under way into the pipeline whose notify URL is a secret.
	var upload struct{ ID string }
	if err := json.Unmarshal(c.mustDo("POST", "/api/v1/uploads", `{"pipeline":"vod","key":"later.mp4","size":10}`, 201), &upload); err != nil || upload.ID == "" {
		t.Fatalf("an upload: %v", err)
	}

	// A distribution whose origin URL carries credentials.
	c.mustDo("POST", "/api/v1/distributions", fmt.Sprintf(`{"name":"edge","listen":"127.0.0.1:%d","origins":["http://%s:%s@%s"]}`,
		closedPort(t), secrets["distribution origin user"], secrets["distribution origin pass"], strings.TrimPrefix(srv.URL, "http://")), 201)

	// A harvest of the running channel's DVR window.
	var harvest resource.HarvestJob
	c.poll("a harvest job to be accepted", func() (bool, string) {
		now := time.Now()
		body := fmt.Sprintf(`{"channel":"news","endpoint":"dash","start":%q,"end":%q}`,
			now.Add(-7*time.Second).Format(time.RFC3339), now.Add(-time.Second).Format(time.RFC3339))
		status, b := c.do("POST", "/api/v1/harvest-jobs", body, token)
		return status == 201 && json.Unmarshal(b, &harvest) == nil, string(b)
	})

	// Webhooks were delivered, to every receiver kind.
	c.poll("webhook deliveries of the rule and the pipeline", func() (bool, string) {
		var st []struct {
			URL       string
			Delivered int
		}
		c.mustJSON("/api/v1/webhooks/deliveries", &st)
		rule, pipe := false, false
		for _, w := range st {
			rule = rule || (strings.Contains(w.URL, "/rule?") && w.Delivered > 0)
			pipe = pipe || (strings.Contains(w.URL, "/notify?") && w.Delivered > 0)
		}
		return rule && pipe && hooks.count("/rule") > 0 && hooks.count("/notify") > 0, fmt.Sprintf("%+v", st)
	})

	refs := map[string][]string{
		"security-groups": {"studio"},
		"inputs":          {"cam", "srt-in", "caller", "pull", "remote", "bars"},
		"channels":        {"remote", "live", "news"},
		"alarms":          {"slow"},
		"rules":           {"hook"},
		"presets":         {"mine"},
		"pipelines":       {"vod"},
		"jobs":            {job.ID},
		"assets":          {assets[0].ID},
		"distributions":   {"edge"},
		"harvest-jobs":    {harvest.ID},
		"uploads":         {upload.ID},
	}
	// Parameters that routes need to answer more than a refusal.
	query := map[string]string{
		"/api/v1/channels/{ref}/frames": "count=1&fps=5&width=64&height=36",
		"/api/v1/metrics/query":         "name=sluice_encoder_speed_ratio&stat=avg&labels=channel:news",
	}
	var paths []string
	for _, rt := range api.Routes() {
		if rt.Method != http.MethodGet || rt.Path == "/api/v1/events/stream" {
			continue
		}
		for _, p := range expandRoute(t, rt.Path, refs) {
			if q := query[rt.Path]; q != "" {
				p += "?" + q
			}
			paths = append(paths, p)
		}
	}
	var webhookURLs []struct{ URL string }
	c.mustJSON("/api/v1/webhooks/deliveries", &webhookURLs)
	for _, w := range webhookURLs {
		paths = append(paths, "/api/v1/webhooks/deliveries?url="+url.QueryEscape(w.URL))
	}
	paths = append(paths, "/", "/play/remote", "/play/live", "/play/news", "/play/news?player=dash",
		"/vod-play/"+url.PathEscape(assets[0].ID), "/live/news/hls/index.m3u8", "/metrics")

	// The event stream from the start, up to the newest event.
	var events struct{ Next uint64 }
	c.mustJSON("/api/v1/events?limit=1000", &events)

	withToken := map[string]string{}
	for _, p := range paths {
		status, body := c.do("GET", p, "", token)
		if status >= 500 {
			t.Errorf("GET %s with the token: %d %s", p, status, body)
		}
		withToken[p] = string(body)
	}
	withToken["event stream"] = c.stream(events.Next, token)

	for _, p := range paths {
		status, body := c.do("GET", p, "", "")
		if status >= 500 {
			t.Errorf("GET %s: %d %s", p, status, body)
		}
		t.Logf("GET %s without the token: %d, %d bytes", p, status, len(body))
		checkNoSecret(t, "GET "+p, string(body), secrets)
	}
	checkNoSecret(t, "the event stream", c.stream(events.Next, ""), secrets)

	// An operator's login sees secrets hidden as well: only admins read
	// them. Passwords are no answer's, whoever asks, nor the log's.
	passwords := map[string]string{"operator's password": "operator-passphrase-0Z9Y", "viewer's password": "viewer-passphrase-1X8W"}
	c.mustDo("POST", "/api/v1/users", fmt.Sprintf(`{"name":"oli","role":"operator","password":%q}`, passwords["operator's password"]), 201)
	c.mustDo("POST", "/api/v1/users", `{"name":"vic","role":"viewer","password":"viewer-passphrase-0000"}`, 201)
	c.mustDo("PUT", "/api/v1/users/vic/password", fmt.Sprintf(`{"password":%q}`, passwords["viewer's password"]), 204)
	cookie := c.login("oli", passwords["operator's password"])
	for _, p := range paths {
		status, body := c.doWith("GET", p, "", http.Header{"Cookie": {cookie}})
		if status >= 500 {
			t.Errorf("GET %s as an operator: %d %s", p, status, body)
		}
		checkNoSecret(t, "GET "+p+" as an operator", string(body), secrets)
	}
	for _, p := range append(paths, "/api/v1/users", "/api/v1/audit?limit=1000", "/api/v1/session") {
		for _, who := range []http.Header{{"Cookie": {cookie}}, {"Authorization": {"Bearer " + token}}, {}} {
			_, body := c.doWith("GET", p, "", who)
			checkNoSecret(t, "GET "+p, string(body), passwords)
		}
	}
	checkNoSecret(t, "the log", logs.String(), passwords)

	// With the token every secret is there to hide, also where free text
	// quotes it: a route that is read without it is a real test.
	all := strings.Join(mapValues(withToken), "\n")
	for what, v := range secrets {
		if !strings.Contains(all, v) {
			t.Errorf("the %s (%s) appears in no answer to the token's holder: the test configures it wrongly", what, v)
		}
	}
	for _, p := range []string{"/api/v1/channels/remote", "/api/v1/events", "event stream"} {
		if !strings.Contains(withToken[p], secrets["remote FILE signature"]) {
			t.Errorf("%s does not quote the remote input's URL in its free text: %s", p, withToken[p])
		}
	}

	// What stands in for a secret says so.
	_, body := c.do("GET", "/api/v1/inputs/srt-in", "", "")
	_, chBody := c.do("GET", "/api/v1/channels/news", "", "")
	for _, want := range []string{resource.HiddenStreamKey, resource.HiddenPassphrase} {
		if !strings.Contains(string(body), want) {
			t.Errorf("the SRT input without the token does not show %s: %s", want, body)
		}
	}
	for _, want := range []string{resource.HiddenKeyToken, "/app/" + resource.HiddenStreamKey} {
		if !strings.Contains(string(chBody), want) {
			t.Errorf("the channel without the token does not show %s: %s", want, chBody)
		}
	}
}

// checkNoSecret fails the test for every configured secret in body.
func checkNoSecret(t *testing.T, what, body string, secrets map[string]string) {
	t.Helper()
	for name, v := range secrets {
		if i := strings.Index(body, v); i >= 0 {
			t.Errorf("%s without the token shows the %s: …%s…", what, name, body[max(0, i-120):min(len(body), i+len(v)+40)])
		}
	}
}

// expandRoute fills the {…} of a route with every ref of its collection,
// the path segment before the placeholder.
func expandRoute(t *testing.T, route string, refs map[string][]string) []string {
	t.Helper()
	i := strings.Index(route, "{")
	if i < 0 {
		return []string{route}
	}
	j := strings.Index(route[i:], "}")
	collection := route[strings.LastIndex(route[:i-1], "/")+1 : i-1]
	list, ok := refs[collection]
	if !ok {
		t.Errorf("route %s reads %s, of which the test makes none: configure one (with its secrets) so the route is read", route, collection)
		return nil
	}
	var out []string
	for _, ref := range list {
		out = append(out, route[:i]+url.PathEscape(ref)+route[i+j+1:])
	}
	return out
}

func mapValues(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// closedPort is a loopback TCP port nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	return port
}

// hookReceiver is a webhook receiver on loopback that counts deliveries by
// path.
type hookReceiver struct {
	srv *httptest.Server
	mu  sync.Mutex
	got map[string]int
}

func newHookReceiver(t *testing.T) *hookReceiver {
	h := &hookReceiver{got: map[string]int{}}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		h.mu.Lock()
		h.got[r.URL.Path]++
		h.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hookReceiver) url(pathQuery string) string { return h.srv.URL + pathQuery }

func (h *hookReceiver) count(path string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.got[path]
}

// secretsClient calls the server under test.
type secretsClient struct {
	t     *testing.T
	srv   *httptest.Server
	token string
}

// do sends a request, with the bearer token when token is set; a route
// that streams without end fails the test when the (generous) deadline
// cuts it.
func (c *secretsClient) do(method, path, body, token string) (int, []byte) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, c.srv.URL+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if method != http.MethodGet {
		// Every change needs the JSON media type, even without a body.
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.srv.Client().Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("%s %s: reading the answer: %v (a route that streams needs its own reader)", method, path, err)
	}
	return resp.StatusCode, b
}

// doWith sends a request with the given headers.
func (c *secretsClient) doWith(method, path, body string, header http.Header) (int, []byte) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.srv.URL+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if method != http.MethodGet {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.srv.Client().Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp.StatusCode, b
}

// login logs a user in and returns the Cookie header of the session.
func (c *secretsClient) login(name, password string) string {
	c.t.Helper()
	req, err := http.NewRequest("POST", c.srv.URL+"/api/v1/session", strings.NewReader(fmt.Sprintf(`{"name":%q,"password":%q}`, name, password)))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.srv.Client().Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	for _, ck := range resp.Cookies() {
		if ck.Name == api.SessionCookie {
			return ck.Name + "=" + ck.Value
		}
	}
	c.t.Fatalf("the login of %s set no cookie: %d", name, resp.StatusCode)
	return ""
}

// mustDo sends a request with the token and wants the status.
func (c *secretsClient) mustDo(method, path, body string, want int) []byte {
	c.t.Helper()
	status, b := c.do(method, path, body, c.token)
	if status != want {
		c.t.Fatalf("%s %s: %d %s, want %d", method, path, status, b, want)
	}
	return b
}

// mustJSON reads a resource with the token.
func (c *secretsClient) mustJSON(path string, v any) {
	c.t.Helper()
	if err := json.Unmarshal(c.mustDo("GET", path, "", 200), v); err != nil {
		c.t.Fatalf("GET %s: %v", path, err)
	}
}

// poll waits for cond, with a generous deadline.
func (c *secretsClient) poll(what string, cond func() (bool, string)) {
	c.t.Helper()
	poll.Until(c.t, what, 5*time.Minute, cond)
}

// waitChannel polls a channel until cond holds.
func (c *secretsClient) waitChannel(name string, cond func(resource.Channel) bool) {
	c.t.Helper()
	c.poll("channel "+name, func() (bool, string) {
		var ch resource.Channel
		c.mustJSON("/api/v1/channels/"+name, &ch)
		return cond(ch), fmt.Sprintf("%s %s %s %+v", ch.State, ch.StateReason, ch.LastError, ch.Deliveries)
	})
}

// stream reads the event stream from the first event until the one with
// sequence number last.
func (c *secretsClient) stream(last uint64, token string) string {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", c.srv.URL+"/api/v1/events/stream?after=0", nil)
	if err != nil {
		c.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.srv.Client().Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var sb strings.Builder
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		sb.WriteString(line + "\n")
		if id, ok := strings.CutPrefix(line, "id: "); ok {
			if n, err := strconv.ParseUint(id, 10, 64); err == nil && n >= last {
				return sb.String()
			}
		}
	}
	c.t.Fatalf("the event stream ended before event %d: %v\n%s", last, sc.Err(), sb.String())
	return ""
}
