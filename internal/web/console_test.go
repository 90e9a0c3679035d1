package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sluice-video/sluice/internal/api"
	"github.com/sluice-video/sluice/internal/auth"
	"github.com/sluice-video/sluice/internal/kinds"
	"github.com/sluice-video/sluice/internal/resource"
)

// hostile is text a user could put in a resource: a page must show it as
// text, never run it.
const hostile = `<script>alert("x")</script><img src=x onerror=alert(1)>`

// newConsoleServer serves the console over one kind, security groups,
// whose one group lists hostile text, to a caller of the given role.
func newConsoleServer(t *testing.T, role auth.Role) *httptest.Server {
	t.Helper()
	group := resource.SecurityGroup{ID: "sg-1", SecurityGroupSpec: resource.SecurityGroupSpec{Name: "lobby", Allow: []string{hostile}}}
	table := kinds.NewTable(kinds.Bind(kinds.SecurityGroups(), kinds.Funcs[resource.SecurityGroup, resource.SecurityGroupSpec, resource.SecurityGroup]{
		List: func(context.Context) ([]resource.SecurityGroup, error) { return []resource.SecurityGroup{group}, nil },
		Get: func(_ context.Context, ref string) (resource.SecurityGroup, error) {
			if ref != group.Name {
				return resource.SecurityGroup{}, resource.ErrNotFound
			}
			return group, nil
		},
	}))
	guard := func(_ auth.Role, page http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p := auth.Principal{Kind: auth.KindSession, Name: "pat" + hostile, Role: role, Session: &auth.Session{CSRF: "token-of-the-test"}}
			page.ServeHTTP(w, r.WithContext(auth.WithPrincipal(r.Context(), p)))
		})
	}
	mux := http.NewServeMux()
	New(nil, nil).RegisterConsole(mux, Console{
		Kinds: table, Guard: guard, Allows: api.Allows,
		Readable: func(_ *http.Request, v any) (any, error) { return v, nil },
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// TestConsolePagesEscapeWhatTheyShow renders the list, the detail and the
// editor of a resource holding markup: it appears escaped, and the pages
// carry the login's CSRF token for their scripts.
func TestConsolePagesEscapeWhatTheyShow(t *testing.T) {
	srv := newConsoleServer(t, auth.RoleAdmin)
	for _, path := range []string{"/console/security-groups", "/console/security-groups/lobby", "/console/security-groups/lobby/edit", "/console"} {
		resp, body := get(t, srv, path)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
		}
		if strings.Contains(body, "<script>alert") || strings.Contains(body, "<img src=x") {
			t.Errorf("GET %s shows markup unescaped:\n%s", path, body)
		}
		if !strings.Contains(body, `content="token-of-the-test"`) {
			t.Errorf("GET %s lacks the CSRF token", path)
		}
		if path != "/console" && !strings.Contains(body, "&lt;script&gt;") {
			t.Errorf("GET %s does not show the text escaped", path)
		}
	}
	if resp, _ := get(t, srv, "/console/security-groups/nothing"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("a missing resource: %d", resp.StatusCode)
	}
	if resp, _ := get(t, srv, "/console/no-such-kind"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("a kind the server does not run: %d", resp.StatusCode)
	}
}

// TestConsoleOffersOnlyWhatTheRoleMay compares a viewer's and an admin's
// pages: the actions come from the API's role table.
func TestConsoleOffersOnlyWhatTheRoleMay(t *testing.T) {
	for _, tc := range []struct {
		role  auth.Role
		offer bool
	}{{auth.RoleViewer, false}, {auth.RoleOperator, false}, {auth.RoleAdmin, true}} {
		srv := newConsoleServer(t, tc.role)
		_, list := get(t, srv, "/console/security-groups")
		_, detail := get(t, srv, "/console/security-groups/lobby")
		for what, got := range map[string]bool{
			"New":    strings.Contains(list, `id="new"`),
			"Delete": strings.Contains(detail, `id="delete"`),
			"Change": strings.Contains(detail, `id="edit"`),
		} {
			if got != tc.offer {
				t.Errorf("%s: %s offered: %v, want %v", tc.role, what, got, tc.offer)
			}
		}
	}
}
