package api

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-video/sluice/internal/auth"
	"github.com/sluice-video/sluice/internal/problem"
	"github.com/sluice-video/sluice/internal/store"
)

// TestConsolePagesNeedALoginItsRoleAndItsCSRFToken holds a console page
// behind Console to its contract: a login (GET without one goes to the
// login page), the role, and the CSRF token on changes (header or form
// field); the page reads the user from the request's context.
func TestConsolePagesNeedALoginItsRoleAndItsCSRFToken(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "sluice.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = st.Close() }()
	svc := auth.New(auth.Config{Store: st, Params: auth.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}})
	for name, role := range map[string]auth.Role{"oli": auth.RoleOperator, "vic": auth.RoleViewer} {
		if _, err := svc.AddUser(ctx, name, role, "a long enough password"); err != nil {
			t.Fatal(err)
		}
	}
	a := New(Config{Auth: svc, Token: "machines-token"})
	mux := http.NewServeMux()
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := auth.PrincipalFrom(r.Context())
		if !ok || p.Session == nil {
			t.Error("the page has no login in its context")
			return
		}
		fmt.Fprintf(w, "hello %s (%s)", p.Name, p.Role)
	})
	mux.Handle("/console/channels", a.Console(auth.RoleOperator, page))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	login := func(name string) (string, string) {
		cookie, sess, err := svc.Login(ctx, name, "a long enough password", "127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		return SessionCookie + "=" + cookie, sess.CSRF
	}
	send := func(method, cookie string, body url.Values, header ...string) (int, string, string) {
		req, _ := http.NewRequest(method, srv.URL+"/console/channels?x=1", strings.NewReader(body.Encode()))
		if body != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = resp.Body.Close() }()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Location"), string(b)
	}
	if code, loc, _ := send("GET", "", nil); code != 303 || loc != "/login?next=%2Fconsole%2Fchannels%3Fx%3D1" {
		t.Errorf("without a login: %d %s", code, loc)
	}
	if code, _, body := send("GET", "", nil, "Authorization", "Bearer machines-token"); code != 303 {
		t.Errorf("with a token, which is for machines: %d %s", code, body)
	}
	vic, _ := login("vic")
	if code, _, body := send("GET", vic, nil); code != 403 || !strings.Contains(body, problem.Role.URI()) {
		t.Errorf("a viewer on an operator's page: %d %s", code, body)
	}
	oli, csrf := login("oli")
	if code, _, body := send("GET", oli, nil); code != 200 || body != "hello oli (operator)" {
		t.Errorf("the operator: %d %s", code, body)
	}
	if code, _, body := send("POST", oli, url.Values{"x": {"1"}}); code != 403 || !strings.Contains(body, problem.CSRF.URI()) {
		t.Errorf("a form without the CSRF token: %d %s", code, body)
	}
	if code, _, body := send("POST", oli, url.Values{CSRFField: {csrf}}); code != 200 {
		t.Errorf("a form with the CSRF token: %d %s", code, body)
	}
	if code, _, body := send("POST", oli, nil, CSRFHeader, csrf); code != 200 {
		t.Errorf("a script with the CSRF header: %d %s", code, body)
	}
	if code, _, body := send("POST", oli, url.Values{CSRFField: {csrf}}, "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"); code != 403 || !strings.Contains(body, "evil.example") {
		t.Errorf("a form from another site: %d %s", code, body)
	}
	if code, _, _ := send("POST", "", url.Values{CSRFField: {csrf}}); code != 401 {
		t.Errorf("a form without a login: %d", code)
	}
}
