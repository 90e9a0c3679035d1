package server

import (
	"net/http"
	"strings"
	"testing"

	"github.com/sluice-video/sluice/internal/api"
	"github.com/sluice-video/sluice/internal/auth"
	"github.com/sluice-video/sluice/internal/kinds"
	"github.com/sluice-video/sluice/internal/web"
)

// consolePaths fills the console's route table (web.ConsolePages) with
// every kind and with resources that exist (and one that does not).
func consolePaths(refs map[string]string) []string {
	var paths []string
	for _, pattern := range web.ConsolePages() {
		if !strings.Contains(pattern, "{kind}") {
			paths = append(paths, pattern)
			continue
		}
		for _, info := range kinds.Infos() {
			p := strings.ReplaceAll(pattern, "{kind}", info.Path)
			if !strings.Contains(p, "{ref}") {
				paths = append(paths, p)
				continue
			}
			for _, ref := range []string{refs[info.Path], "nothing-here"} {
				if ref != "" {
					paths = append(paths, strings.ReplaceAll(p, "{ref}", ref))
				}
			}
		}
	}
	return paths
}

// TestConsoleHoldsEveryRoleToTheRouteTable reads every console page as
// each role: a viewer sees every page and is offered no change; the
// changes the console's scripts make are the API's routes, and a viewer's
// login with its CSRF token (what the scripts send) gets 403 on every one
// of them that changes anything; an operator is offered starting and
// stopping but no configuration; stream keys show to admins only; the
// nodes page shows the server as its only node. A caller without a login
// is sent to the login page.
func TestConsoleHoldsEveryRoleToTheRouteTable(t *testing.T) {
	a := newAuthServer(t, false)
	ana, _ := a.login("ana")
	oli, _ := a.login("oli")
	vic, _ := a.login("vic")
	for _, body := range []struct{ path, json string }{
		{"/api/v1/inputs", `{"name":"bars","type":"TEST_PATTERN","testPattern":{"width":320,"height":180}}`},
		{"/api/v1/security-groups", `{"name":"anyone","allow":["0.0.0.0/0"]}`},
		{"/api/v1/inputs", `{"name":"studio","type":"RTMP_PUSH","securityGroups":["anyone"]}`},
		{"/api/v1/channels", `{"name":"news","inputAttachments":[{"input":"bars"}],"encoder":{"ladder":"test-360p"}}`},
	} {
		if ans := a.do("POST", body.path, body.json, ana); ans.status != http.StatusCreated {
			t.Fatalf("POST %s: %d %s", body.path, ans.status, ans.body)
		}
	}
	var key string
	if ans := a.do("GET", "/api/v1/inputs/studio", "", ana); ans.status == http.StatusOK {
		_, rest, _ := strings.Cut(ans.body, `"streamKey": "`)
		key, _, _ = strings.Cut(rest, `"`)
	}
	if len(key) < 8 {
		t.Fatalf("no stream key for the push input")
	}

	noRedirects := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	paths := consolePaths(map[string]string{"inputs": "studio", "channels": "news"})
	if len(paths) < 30 {
		t.Fatalf("only %d console pages: %v", len(paths), paths)
	}
	for _, path := range paths {
		missing := strings.Contains(path, "nothing-here")
		for _, who := range []struct {
			name string
			c    creds
		}{{"viewer", vic}, {"operator", oli}, {"admin", ana}} {
			ans := a.do("GET", path, "", who.c)
			want := http.StatusOK
			if missing {
				want = http.StatusNotFound
			}
			if ans.status != want {
				t.Errorf("GET %s as %s: %d, want %d: %.300s", path, who.name, ans.status, want, ans.body)
				continue
			}
			if ans.header.Get("Content-Security-Policy") == "" {
				t.Errorf("GET %s has no Content-Security-Policy", path)
			}
			if who.name == "viewer" {
				for _, offer := range []string{"data-api=", "data-alarm-form", `id="new"`, `id="edit"`, `id="plan"`, `id="apply"`, `data-can-cancel="true"`} {
					if strings.Contains(ans.body, offer) {
						t.Errorf("GET %s offers a viewer a change (%s)", path, offer)
					}
				}
			}
			if who.name != "admin" && strings.Contains(ans.body, key) {
				t.Errorf("GET %s shows the stream key to the %s", path, who.name)
			}
		}
		// Without a login the console sends the browser to log in.
		resp, err := noRedirects.Get(a.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login?next=") {
			t.Errorf("GET %s without a login: %d %v", path, resp.StatusCode, resp.Header.Get("Location"))
		}
	}

	// What each role is offered on a channel's page.
	page := func(c creds, path string) string { return a.do("GET", path, "", c).body }
	ops := page(oli, "/console/channels/news")
	if !strings.Contains(ops, `id="stop"`) || !strings.Contains(ops, `id="start"`) || !strings.Contains(ops, `data-api="/api/v1/channels/news/restart"`) || strings.Contains(ops, `id="delete"`) || strings.Contains(ops, `id="edit"`) {
		t.Errorf("the operator's channel page offers the wrong actions")
	}
	admin := page(ana, "/console/channels/news")
	if !strings.Contains(admin, `id="delete"`) || !strings.Contains(admin, `id="edit"`) {
		t.Errorf("the admin's channel page lacks delete or change")
	}
	// The nodes page shows what GET /api/v1/nodes answers: a server
	// without a database is its only node.
	if nodes := page(vic, "/console/nodes"); !strings.Contains(nodes, `<span class="muted">(this)</span>`) || !strings.Contains(nodes, `<span class="badge state-live">LIVE</span>`) {
		t.Errorf("the viewer's nodes page does not show the server as its node:\n%s", nodes)
	}
	if !strings.Contains(page(ana, "/console/inputs/studio"), key) {
		t.Errorf("the admin's input page does not show the stream key")
	}

	// Every change the console could make, made with the viewer's login
	// as the console's scripts make it.
	changes := 0
	for _, rt := range api.Routes() {
		if rt.Method == http.MethodGet || rt.Role() == auth.RoleNone {
			continue
		}
		changes++
		ans := a.do(rt.Method, fill(rt.Path), "{}", vic, "Origin", a.srv.URL)
		if ans.status != http.StatusForbidden {
			t.Errorf("%s %s as the console's viewer: %d %s, want 403", rt.Method, rt.Path, ans.status, ans.body)
		}
	}
	if changes < 30 {
		t.Errorf("only %d changing routes in the route table", changes)
	}
	if ans := a.do("GET", "/api/v1/channels/news", "", vic); ans.status != http.StatusOK || !strings.Contains(ans.body, `"state": "IDLE"`) {
		t.Errorf("the channel after the viewer's attempts: %d %s", ans.status, ans.body)
	}
}
