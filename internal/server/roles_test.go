package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/api"
	"github.com/sluice-video/sluice/internal/auth"
	"github.com/sluice-video/sluice/internal/problem"
	"github.com/sluice-video/sluice/internal/testutil/contract"
	"github.com/sluice-video/sluice/internal/testutil/syncbuf"
)

// fakeClock is the clock of sessions and the login back-off in tests.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

const adminToken = "admin-token-of-the-roles-test"

// Passwords of the test's users: none may appear in any answer, log or
// audit entry.
var testPasswords = map[string]string{
	"ana": "ana-secret-passphrase-1",
	"oli": "oli-secret-passphrase-2",
	"vic": "vic-secret-passphrase-3",
}

// authServer is a whole server with users, on a real listener.
type authServer struct {
	t     *testing.T
	srv   *httptest.Server
	s     *Server
	clock *fakeClock
	log   *syncbuf.Buffer
}

func newAuthServer(t *testing.T, requireLogin bool) *authServer {
	t.Helper()
	a := &authServer{t: t, clock: &fakeClock{now: time.Now()}, log: &syncbuf.Buffer{}}
	s, err := New(context.Background(), Config{
		Data: t.TempDir(), FFmpeg: "ffmpeg", FFprobe: "ffprobe", Token: adminToken, RequireLogin: requireLogin,
		Logger: slog.New(slog.NewTextHandler(a.log, nil)), FirstAdmin: true,
		Auth: auth.Config{
			Params: auth.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, Now: a.clock.Now,
			SessionLifetime: 8 * time.Hour, SessionIdle: 20 * time.Minute,
			Limiter: auth.LimiterConfig{Free: 3, Base: 2 * time.Second, Max: time.Minute},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	a.s = s
	a.srv = httptest.NewServer(s.Handler())
	t.Cleanup(a.srv.Close)
	// Every exchange with /api/v1 is held to api/openapi.yaml, refusals
	// included.
	a.srv.Client().Transport = contract.NewTransport(t, a.srv.Client().Transport)
	ctx := context.Background()
	for name, role := range map[string]auth.Role{"ana": auth.RoleAdmin, "oli": auth.RoleOperator, "vic": auth.RoleViewer} {
		if _, err := s.Auth().AddUser(ctx, name, role, testPasswords[name]); err != nil {
			t.Fatal(err)
		}
	}
	return a
}

// creds is how a request proves who it is.
type creds struct {
	bearer string
	cookie string
	csrf   string
}

type answer struct {
	status int
	header http.Header
	body   string
}

func (a *authServer) do(method, path, body string, c creds, header ...string) answer {
	a.t.Helper()
	req, err := http.NewRequest(method, a.srv.URL+path, strings.NewReader(body))
	if err != nil {
		a.t.Fatal(err)
	}
	if method != http.MethodGet {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+c.bearer)
	}
	if c.cookie != "" {
		req.AddCookie(&http.Cookie{Name: api.SessionCookie, Value: c.cookie})
	}
	if c.csrf != "" {
		req.Header.Set(api.CSRFHeader, c.csrf)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := a.srv.Client().Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

// login logs a user in and returns the cookie and CSRF token.
func (a *authServer) login(name string, header ...string) (creds, *http.Cookie) {
	a.t.Helper()
	ans := a.do("POST", "/api/v1/session", fmt.Sprintf(`{"name":%q,"password":%q}`, name, testPasswords[name]), creds{}, header...)
	if ans.status != http.StatusCreated {
		a.t.Fatalf("login of %s: %d %s", name, ans.status, ans.body)
	}
	var who api.Whoami
	if err := json.Unmarshal([]byte(ans.body), &who); err != nil || who.CSRFToken == "" || who.Name != name {
		a.t.Fatalf("login of %s answered %s (%v)", name, ans.body, err)
	}
	resp := http.Response{Header: ans.header}
	for _, ck := range resp.Cookies() {
		if ck.Name == api.SessionCookie {
			return creds{cookie: ck.Value, csrf: who.CSRFToken}, ck
		}
	}
	a.t.Fatalf("login of %s set no cookie: %v", name, ans.header)
	return creds{}, nil
}

// fill puts a name in every {…} of a route.
func fill(route string) string {
	for {
		i := strings.Index(route, "{")
		if i < 0 {
			return route
		}
		j := strings.Index(route[i:], "}")
		route = route[:i] + "nothing-here" + route[i+j+1:]
	}
}

func problemType(t *testing.T, ans answer) string {
	t.Helper()
	var p problem.Details
	if err := json.Unmarshal([]byte(ans.body), &p); err != nil {
		t.Fatalf("not a problem: %d %s", ans.status, ans.body)
	}
	return p.Type
}

// TestEveryRouteChecksItsRole calls every route of api.Routes(), the
// route table itself, so a new route is covered: viewers may read but
// get 403 on every change; operators may run channels, jobs and harvests
// and get 403 on configuration; admins (a login, a named admin token and
// the server's --token) are refused nothing.
func TestEveryRouteChecksItsRole(t *testing.T) {
	a := newAuthServer(t, false)
	ctx := context.Background()
	viewerToken, _, err := a.s.Auth().AddToken(ctx, "dash", auth.RoleViewer)
	if err != nil {
		t.Fatal(err)
	}
	opsToken, _, err := a.s.Auth().AddToken(ctx, "ci", auth.RoleOperator)
	if err != nil {
		t.Fatal(err)
	}
	adminNamed, _, err := a.s.Auth().AddToken(ctx, "deploy", auth.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	vic, _ := a.login("vic")
	oli, _ := a.login("oli")
	ana, _ := a.login("ana")
	callers := []struct {
		name string
		role auth.Role
		c    creds
	}{
		{"viewer login", auth.RoleViewer, vic},
		{"viewer token", auth.RoleViewer, creds{bearer: viewerToken}},
		{"operator login", auth.RoleOperator, oli},
		{"operator token", auth.RoleOperator, creds{bearer: opsToken}},
		{"admin login", auth.RoleAdmin, ana},
		{"named admin token", auth.RoleAdmin, creds{bearer: adminNamed}},
		{"--token", auth.RoleAdmin, creds{bearer: adminToken}},
	}
	checked := map[auth.Role]int{}
	for _, rt := range api.Routes() {
		need := rt.Role()
		if rt.Path == "/api/v1/events/stream" || rt.Path == "/api/v1/channels/{ref}/frames" || rt.Path == "/api/v1/session" {
			continue // streams, guarded by frameAccess, or for everyone: below
		}
		checked[need]++
		for _, c := range callers {
			ans := a.do(rt.Method, fill(rt.Path), "{}", c.c)
			refused := ans.status == http.StatusForbidden || ans.status == http.StatusUnauthorized
			switch {
			case c.role.Allows(need) && refused:
				t.Errorf("%s %s as %s (%s may): %d %s", rt.Method, rt.Path, c.name, need, ans.status, ans.body)
			case !c.role.Allows(need) && ans.status != http.StatusForbidden:
				t.Errorf("%s %s as %s (needs %s): %d %s, want 403", rt.Method, rt.Path, c.name, need, ans.status, ans.body)
			case !c.role.Allows(need) && problemType(t, ans) != problem.Role.URI():
				t.Errorf("%s %s as %s: problem type %s, want %s", rt.Method, rt.Path, c.name, problemType(t, ans), problem.Role.URI())
			}
		}
	}
	if checked[auth.RoleViewer] < 20 || checked[auth.RoleOperator] < 5 || checked[auth.RoleAdmin] < 30 {
		t.Errorf("routes checked by role: %v", checked)
	}
	// Logins of the viewer are still valid after all that: no change of
	// theirs went through, but nothing logged them out either.
	if ans := a.do("GET", "/api/v1/session", "", vic); ans.status != 200 || !strings.Contains(ans.body, `"role": "viewer"`) {
		t.Errorf("whoami of the viewer: %d %s", ans.status, ans.body)
	}
}

// TestOperatorsRunChannelsAdminsConfigure goes through a real flow: the
// admin configures, the operator starts and stops, the viewer watches.
func TestOperatorsRunChannelsAdminsConfigure(t *testing.T) {
	a := newAuthServer(t, false)
	ana, _ := a.login("ana")
	oli, _ := a.login("oli")
	vic, _ := a.login("vic")
	input := `{"name":"bars","type":"TEST_PATTERN","testPattern":{"width":320,"height":180}}`
	if ans := a.do("POST", "/api/v1/inputs", input, oli); ans.status != 403 {
		t.Errorf("operator creates an input: %d %s", ans.status, ans.body)
	}
	if ans := a.do("POST", "/api/v1/inputs", input, ana); ans.status != 201 {
		t.Fatalf("admin creates an input: %d %s", ans.status, ans.body)
	}
	if ans := a.do("POST", "/api/v1/channels", `{"name":"news","inputAttachments":[{"input":"bars"}],"encoder":{"ladder":"test-360p"}}`, ana); ans.status != 201 {
		t.Fatalf("admin creates a channel: %d %s", ans.status, ans.body)
	}
	if ans := a.do("POST", "/api/v1/channels/news/start", "", vic); ans.status != 403 {
		t.Errorf("viewer starts: %d %s", ans.status, ans.body)
	}
	if ans := a.do("POST", "/api/v1/channels/news/start", "", oli); ans.status != 202 {
		t.Errorf("operator starts: %d %s", ans.status, ans.body)
	}
	if ans := a.do("POST", "/api/v1/channels/news/restart", "", vic); ans.status != 403 {
		t.Errorf("viewer restarts: %d %s", ans.status, ans.body)
	}
	if ans := a.do("POST", "/api/v1/channels/news/restart", "", oli); ans.status != 202 {
		t.Errorf("operator restarts: %d %s", ans.status, ans.body)
	}
	if ans := a.do("POST", "/api/v1/channels/news/stop", "", oli); ans.status != 202 {
		t.Errorf("operator stops: %d %s", ans.status, ans.body)
	}
	if ans := a.do("PUT", "/api/v1/channels/news", `{"name":"news","inputAttachments":[{"input":"bars"}],"encoder":{"ladder":"test-360p"}}`, oli); ans.status != 403 {
		t.Errorf("operator replaces a channel: %d %s", ans.status, ans.body)
	}
	if ans := a.do("POST", "/api/v1/inputs/bars/rotate-key", "", oli); ans.status != 403 {
		t.Errorf("operator rotates a key: %d %s", ans.status, ans.body)
	}
	if ans := a.do("GET", "/api/v1/channels/news", "", vic); ans.status != 200 {
		t.Errorf("viewer reads: %d %s", ans.status, ans.body)
	}
	if ans := a.do("DELETE", "/api/v1/channels/news", "", ana); ans.status >= 300 {
		t.Errorf("admin deletes: %d %s", ans.status, ans.body)
	}
	// Users: admins only, and the last admin stays.
	if ans := a.do("POST", "/api/v1/users", `{"name":"new","role":"viewer","password":"a long new password"}`, oli); ans.status != 403 {
		t.Errorf("operator adds a user: %d %s", ans.status, ans.body)
	}
	if ans := a.do("PUT", "/api/v1/users/ana/role", `{"role":"viewer"}`, ana); ans.status != 200 {
		t.Errorf("an admin steps down while another admin is left: %d %s", ans.status, ans.body)
	}
	// ana's own login has the new role at once.
	if ans := a.do("GET", "/api/v1/users", "", ana); ans.status != 403 {
		t.Errorf("a former admin lists users: %d %s", ans.status, ans.body)
	}
	if ans := a.do("PUT", "/api/v1/users/admin/role", `{"role":"viewer"}`, creds{bearer: adminToken}); ans.status != 409 {
		t.Errorf("demoting the last admin: %d %s", ans.status, ans.body)
	}
}

func TestChangesWithTheCookieNeedTheCSRFToken(t *testing.T) {
	a := newAuthServer(t, false)
	ana, _ := a.login("ana")
	body := `{"name":"bars","type":"TEST_PATTERN"}`
	noCSRF := creds{cookie: ana.cookie}
	wrong := creds{cookie: ana.cookie, csrf: ana.csrf + "x"}
	for what, c := range map[string]creds{"without": noCSRF, "with a wrong": wrong} {
		ans := a.do("POST", "/api/v1/inputs", body, c)
		if ans.status != 403 || problemType(t, ans) != problem.CSRF.URI() {
			t.Errorf("a change with the cookie %s CSRF token: %d %s", what, ans.status, ans.body)
		}
	}
	if ans := a.do("DELETE", "/api/v1/session", "", noCSRF); ans.status != 403 {
		t.Errorf("logout without the CSRF token: %d %s", ans.status, ans.body)
	}
	if ans := a.do("POST", "/api/v1/inputs", body, ana); ans.status != 201 {
		t.Errorf("with the CSRF token: %d %s", ans.status, ans.body)
	}
	// A bearer token needs none, and a cookie beside it is not used.
	if ans := a.do("DELETE", "/api/v1/inputs/bars", "", creds{bearer: adminToken, cookie: ana.cookie}); ans.status != 204 {
		t.Errorf("with the bearer token: %d %s", ans.status, ans.body)
	}
	// The Origin check stays, before any credentials.
	if ans := a.do("POST", "/api/v1/inputs", body, ana, "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"); ans.status != 403 || !strings.Contains(ans.body, "evil.example") {
		t.Errorf("from another site: %d %s", ans.status, ans.body)
	}
	// Reads need no CSRF token.
	if ans := a.do("GET", "/api/v1/inputs", "", noCSRF); ans.status != 200 {
		t.Errorf("a read with the cookie alone: %d %s", ans.status, ans.body)
	}
	if ans := a.do("DELETE", "/api/v1/session", "", ana); ans.status != 204 {
		t.Errorf("logout: %d %s", ans.status, ans.body)
	}
	if ans := a.do("POST", "/api/v1/inputs", `{"name":"other","type":"TEST_PATTERN"}`, ana); ans.status != 401 || !strings.Contains(ans.body, "log in again") {
		t.Errorf("a change with the cookie of a logged out session: %d %s", ans.status, ans.body)
	}
}

func TestSessionCookiesAndExpiry(t *testing.T) {
	a := newAuthServer(t, false)
	oli, ck := a.login("oli")
	if !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Secure || ck.Path != "/" {
		t.Errorf("cookie over plain HTTP: %+v", ck)
	}
	// Behind a proxy that says the browser used TLS, the cookie is Secure;
	// and a login rotates: the session the browser held ends.
	_, secure := a.login("oli", "X-Forwarded-Proto", "https", "Cookie", api.SessionCookie+"="+oli.cookie)
	if !secure.Secure {
		t.Errorf("cookie behind a TLS proxy: %+v", secure)
	}
	if ans := a.do("GET", "/api/v1/session", "", oli); ans.status != 401 {
		t.Errorf("the session a new login replaced: %d %s", ans.status, ans.body)
	}
	// Idle expiry: used every 15 minutes it lives, unused for 20 it ends.
	vic, _ := a.login("vic")
	for range 3 {
		a.clock.Advance(15 * time.Minute)
		if ans := a.do("GET", "/api/v1/session", "", vic); ans.status != 200 {
			t.Fatalf("a session used every 15 minutes: %d %s", ans.status, ans.body)
		}
	}
	a.clock.Advance(21 * time.Minute)
	if ans := a.do("GET", "/api/v1/session", "", vic); ans.status != 401 {
		t.Errorf("a session idle for 21 minutes: %d %s", ans.status, ans.body)
	}
	// Absolute expiry after 8 hours, however used.
	ana, _ := a.login("ana")
	for range 33 {
		a.clock.Advance(15 * time.Minute)
		a.do("GET", "/api/v1/inputs", "", ana)
	}
	ans := a.do("POST", "/api/v1/inputs", `{"name":"late","type":"TEST_PATTERN"}`, ana)
	if ans.status != 401 || !strings.Contains(ans.body, "the login has ended") {
		t.Errorf("a change 8¼ hours after the login: %d %s", ans.status, ans.body)
	}
}

func TestLoginsBackOffAndRelease(t *testing.T) {
	a := newAuthServer(t, false)
	wrong := `{"name":"ana","password":"not-the-password"}`
	for i := range 3 {
		if ans := a.do("POST", "/api/v1/session", wrong, creds{}); ans.status != 401 || !strings.Contains(ans.body, "wrong user name or password") {
			t.Fatalf("failure %d: %d %s", i+1, ans.status, ans.body)
		}
	}
	if ans := a.do("POST", "/api/v1/session", `{"name":"nobody","password":"whatever-it-is"}`, creds{}); ans.status != 401 {
		t.Fatalf("an unknown user: %d %s", ans.status, ans.body)
	}
	right := fmt.Sprintf(`{"name":"ana","password":%q}`, testPasswords["ana"])
	ans := a.do("POST", "/api/v1/session", right, creds{})
	if ans.status != 429 || ans.header.Get("Retry-After") != "2" {
		t.Fatalf("the right password while closed: %d %v %s", ans.status, ans.header, ans.body)
	}
	a.clock.Advance(time.Second)
	if ans := a.do("POST", "/api/v1/session", right, creds{}); ans.status != 429 || ans.header.Get("Retry-After") != "1" {
		t.Errorf("a second later: %d %v %s", ans.status, ans.header.Get("Retry-After"), ans.body)
	}
	a.clock.Advance(time.Second)
	if ans := a.do("POST", "/api/v1/session", right, creds{}); ans.status != 201 {
		t.Errorf("after the back-off: %d %s", ans.status, ans.body)
	}
	metrics := a.do("GET", "/metrics", "", creds{})
	for _, want := range []string{`sluice_login_failures_total{reason="credentials"} 4`, `sluice_login_failures_total{reason="backoff"} 2`} {
		if !strings.Contains(metrics.body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	log := a.log.String()
	if !strings.Contains(log, "login refused: wrong user name or password") || !strings.Contains(log, "user=nobody") {
		t.Errorf("the log does not tell the failed logins:\n%s", log)
	}
	var page struct{ Entries []auth.AuditEntry }
	ans = a.do("GET", "/api/v1/audit?kind=session", "", creds{bearer: adminToken})
	if err := json.Unmarshal([]byte(ans.body), &page); err != nil {
		t.Fatal(err)
	}
	statuses := map[int]int{}
	for _, e := range page.Entries {
		statuses[e.Status]++
		if e.Actor == "" || e.Address != "127.0.0.1" || e.Route != "/api/v1/session" {
			t.Errorf("login entry %+v", e)
		}
	}
	if statuses[401] != 4 || statuses[429] != 2 || statuses[201] != 1 {
		t.Errorf("login entries by status: %v", statuses)
	}
	checkNoPassword(t, "the log", log)
	checkNoPassword(t, "the audit log", ans.body)
}

func TestTheAuditLogSaysWhoDidWhatWhenAndFromWhere(t *testing.T) {
	before := time.Now()
	a := newAuthServer(t, false)
	ana, _ := a.login("ana")
	oli, _ := a.login("oli")
	a.do("POST", "/api/v1/inputs", `{"name":"bars","type":"TEST_PATTERN"}`, ana)
	a.do("POST", "/api/v1/channels", `{"name":"news","inputAttachments":[{"input":"bars"}],"encoder":{"ladder":"test-360p"}}`, ana)
	a.do("POST", "/api/v1/channels/news/start", "", oli)
	a.do("DELETE", "/api/v1/inputs/bars", "", oli)
	a.do("POST", "/api/v1/users", fmt.Sprintf(`{"name":"zed","role":"viewer","password":%q}`, "zed-secret-passphrase-4"), creds{bearer: adminToken})
	a.do("PUT", "/api/v1/users/zed/password", `{"password":"zed-secret-passphrase-5"}`, ana)
	a.do("GET", "/api/v1/inputs", "", ana)

	if ans := a.do("GET", "/api/v1/audit", "", oli); ans.status != 403 {
		t.Errorf("an operator reads the audit log: %d %s", ans.status, ans.body)
	}
	ans := a.do("GET", "/api/v1/audit?limit=10", "", ana)
	var page struct {
		Entries []auth.AuditEntry
		Next    int64
	}
	if err := json.Unmarshal([]byte(ans.body), &page); err != nil || ans.status != 200 {
		t.Fatalf("%d %s %v", ans.status, ans.body, err)
	}
	var got []string
	for _, e := range page.Entries {
		if e.Route == "first start" {
			continue
		}
		if e.Address != "127.0.0.1" || e.At.Before(before) || e.At.After(time.Now()) || e.Seq == 0 {
			t.Errorf("entry %+v: where or when is wrong", e)
		}
		got = append(got, fmt.Sprintf("%s(%s) %s %s %s/%s %d", e.Actor, e.ActorKind, e.Method, e.Route, e.Kind, e.Name, e.Status))
	}
	want := []string{
		"ana(user) PUT /api/v1/users/{name}/password users/zed 204",
		"token(token) POST /api/v1/users users/zed 201",
		"oli(user) DELETE /api/v1/inputs/{ref} inputs/bars 403",
		"oli(user) POST /api/v1/channels/{ref}/start channels/news 202",
		"ana(user) POST /api/v1/channels channels/news 201",
		"ana(user) POST /api/v1/inputs inputs/bars 201",
		"oli(user) POST /api/v1/session session/ 201",
		"ana(user) POST /api/v1/session session/ 201",
	}
	// The first start's entry comes last; compare the changes above it.
	if len(got) < len(want) || strings.Join(got[:len(want)], "\n") != strings.Join(want, "\n") {
		t.Errorf("audit log, newest first:\n%s\nwant it to start with:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	ans = a.do("GET", "/api/v1/audit?actor=oli&kind=channels", "", ana)
	if strings.Count(ans.body, `"seq"`) != 1 || !strings.Contains(ans.body, `"name": "news"`) {
		t.Errorf("oli's entries about channels: %s", ans.body)
	}
	ans = a.do("GET", "/api/v1/audit?limit=2", "", ana)
	if err := json.Unmarshal([]byte(ans.body), &page); err != nil || len(page.Entries) != 2 || page.Next == 0 {
		t.Fatalf("the first page of 2: %s", ans.body)
	}
	next := a.do("GET", "/api/v1/audit?limit=2&before="+strconv.FormatInt(page.Next, 10), "", ana)
	if !strings.Contains(next.body, "/api/v1/users/{name}/password") && !strings.Contains(next.body, `"oli"`) {
		t.Errorf("the second page: %s", next.body)
	}
	if ans := a.do("GET", "/api/v1/audit?since=yesterday", "", ana); ans.status != 400 || !strings.Contains(ans.body, "since") {
		t.Errorf("a bad since: %d %s", ans.status, ans.body)
	}
	all := a.do("GET", "/api/v1/audit?limit=1000", "", ana).body + a.do("GET", "/api/v1/users", "", ana).body
	checkNoPassword(t, "the audit log and the users", all)
	if strings.Contains(all, "zed-secret-passphrase") || strings.Contains(all, "argon2") {
		t.Errorf("a password or its hash is in an answer: %s", all)
	}
	checkNoPassword(t, "the log", a.log.String())
	if strings.Contains(a.log.String(), "zed-secret-passphrase") {
		t.Error("the log shows a password")
	}
}

func TestRequireLoginClosesReads(t *testing.T) {
	a := newAuthServer(t, true)
	if ans := a.do("GET", "/api/v1/inputs", "", creds{}); ans.status != 401 || !strings.Contains(ans.body, "log in") {
		t.Errorf("an anonymous read: %d %s", ans.status, ans.body)
	}
	vic, _ := a.login("vic")
	if ans := a.do("GET", "/api/v1/inputs", "", vic); ans.status != 200 {
		t.Errorf("a viewer's read: %d %s", ans.status, ans.body)
	}
	if ans := a.do("GET", "/api/v1/session", "", creds{}); ans.status != 401 {
		t.Errorf("whoami, anonymous: %d %s", ans.status, ans.body)
	}
}

func TestWithoutRequireLoginAnonymousCallersReadAsViewers(t *testing.T) {
	a := newAuthServer(t, false)
	if ans := a.do("GET", "/api/v1/inputs", "", creds{}); ans.status != 200 {
		t.Errorf("an anonymous read: %d %s", ans.status, ans.body)
	}
	if ans := a.do("GET", "/api/v1/users", "", creds{}); ans.status != 401 {
		t.Errorf("an anonymous read of the users: %d %s", ans.status, ans.body)
	}
	if ans := a.do("POST", "/api/v1/channels/x/start", "", creds{}); ans.status != 401 || ans.header.Get("WWW-Authenticate") == "" {
		t.Errorf("an anonymous change: %d %s", ans.status, ans.body)
	}
	if ans := a.do("POST", "/api/v1/channels/x/start", "", creds{bearer: "wrong"}); ans.status != 401 || !strings.Contains(ans.body, "the API token is wrong") {
		t.Errorf("a change with a wrong token: %d %s", ans.status, ans.body)
	}
}

// checkNoPassword fails for any of the test users' passwords in text.
func checkNoPassword(t *testing.T, what, text string) {
	t.Helper()
	for name, pw := range testPasswords {
		if strings.Contains(text, pw) {
			t.Errorf("%s shows the password of %s", what, name)
		}
	}
}

// TestTheLoginPage logs in with the form, without scripts, under the
// pages' strict policy, and logs out with the form's CSRF token.
func TestTheLoginPage(t *testing.T) {
	a := newAuthServer(t, false)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	post := func(path string, form url.Values, header ...string) *http.Response {
		req, _ := http.NewRequest("POST", a.srv.URL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		return resp
	}
	ans := a.do("GET", "/login?next=/console", "", creds{})
	if ans.status != 200 || !strings.Contains(ans.body, `name="password"`) || !strings.Contains(ans.body, `value="/console"`) || ans.header.Get("Content-Security-Policy") == "" {
		t.Errorf("the login page: %d %v %s", ans.status, ans.header, ans.body)
	}
	if resp := post("/login", url.Values{"name": {"oli"}, "password": {"wrong"}}); resp.StatusCode != 401 {
		t.Errorf("a wrong password: %d", resp.StatusCode)
	}
	if resp := post("/login", url.Values{"name": {"oli"}, "password": {testPasswords["oli"]}, "next": {"/x"}}, "Origin", "https://evil.example"); resp.StatusCode != 403 {
		t.Errorf("a login form posted from another site: %d", resp.StatusCode)
	}
	for next, want := range map[string]string{"/console?c=news": "/console?c=news", "//evil.example/": "/", "https://evil.example/": "/", "/\\evil.example": "/"} {
		resp := post("/login", url.Values{"name": {"oli"}, "password": {testPasswords["oli"]}, "next": {next}})
		if resp.StatusCode != 303 || resp.Header.Get("Location") != want {
			t.Errorf("login to %s: %d %s, want 303 to %s", next, resp.StatusCode, resp.Header.Get("Location"), want)
		}
	}
	resp := post("/login", url.Values{"name": {"oli"}, "password": {testPasswords["oli"]}})
	var cookie string
	for _, ck := range resp.Cookies() {
		cookie = ck.Name + "=" + ck.Value
	}
	session := a.do("GET", "/api/v1/session", "", creds{}, "Cookie", cookie)
	var who api.Whoami
	if err := json.Unmarshal([]byte(session.body), &who); err != nil || who.Name != "oli" {
		t.Fatalf("whoami after the form: %s", session.body)
	}
	if resp := post("/logout", url.Values{}, "Cookie", cookie); resp.StatusCode != 403 {
		t.Errorf("logout without the CSRF token: %d", resp.StatusCode)
	}
	if resp := post("/logout", url.Values{"csrf": {who.CSRFToken}}, "Cookie", cookie); resp.StatusCode != 303 || resp.Header.Get("Location") != "/login" {
		t.Errorf("logout: %d %v", resp.StatusCode, resp.Header)
	}
	if ans := a.do("GET", "/api/v1/session", "", creds{}, "Cookie", cookie); ans.status != 401 {
		t.Errorf("whoami after logging out: %d", ans.status)
	}
}
