package web

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/api"
	"github.com/sluice-video/sluice/internal/auth"
	"github.com/sluice-video/sluice/internal/kinds"
	"github.com/sluice-video/sluice/internal/resource"
)

// hostile is text a user could put in a resource: a page must show it as
// text, never run it.
const hostile = `<script>alert("x")</script><img src=x onerror=alert(1)>`

// hostileNodes are the nodes of a cluster whose fields hold hostile text:
// the node that answers and one it could not reach, holding channel news.
func hostileNodes(context.Context) ([]resource.Node, error) {
	return []resource.Node{
		{ID: "n1", Advertise: "http://n1.example:8080", MaxChannels: 4, Version: "dev", State: resource.NodeLive, Self: true, Channels: []string{}},
		{
			ID: "n2" + hostile, Advertise: "javascript:alert(1)//" + hostile, MaxChannels: 2, Version: hostile, State: resource.NodeLost,
			HeartbeatAgeSeconds: 31.25, LastHeartbeat: time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC),
			Channels: []string{"news", hostile}, Load: 2,
			Reachability: &resource.Reachability{Reachable: false, Error: "dial: " + hostile},
		},
	}, nil
}

// newConsoleServer serves the console over two kinds, security groups,
// whose one group lists hostile text, and channels, whose one channel
// news is held by a node named with hostile text, and the nodes of
// hostileNodes, to a caller of the given role.
func newConsoleServer(t *testing.T, role auth.Role) *httptest.Server {
	t.Helper()
	return newConsoleServerOf(t, role, hostileNodes)
}

// newConsoleServerOf is newConsoleServer with the given list of nodes.
func newConsoleServerOf(t *testing.T, role auth.Role, nodes NodeLister) *httptest.Server {
	t.Helper()
	group := resource.SecurityGroup{ID: "sg-1", SecurityGroupSpec: resource.SecurityGroupSpec{Name: "lobby", Allow: []string{hostile}}}
	news := resource.Channel{ID: "ch-1", ChannelSpec: resource.ChannelSpec{Name: "news"}, State: resource.StateRunning, Node: "n2" + hostile}
	table := kinds.NewTable(kinds.Bind(kinds.SecurityGroups(), kinds.Funcs[resource.SecurityGroup, resource.SecurityGroupSpec, resource.SecurityGroup]{
		List: func(context.Context) ([]resource.SecurityGroup, error) { return []resource.SecurityGroup{group}, nil },
		Get: func(_ context.Context, ref string) (resource.SecurityGroup, error) {
			if ref != group.Name {
				return resource.SecurityGroup{}, resource.ErrNotFound
			}
			return group, nil
		},
	}), kinds.Bind(kinds.Channels(), kinds.Funcs[resource.Channel, resource.ChannelSpec, resource.Channel]{
		List: func(context.Context) ([]resource.Channel, error) { return []resource.Channel{news}, nil },
		Get: func(_ context.Context, ref string) (resource.Channel, error) {
			if ref != news.Name {
				return resource.Channel{}, resource.ErrNotFound
			}
			return news, nil
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
		Nodes:    nodes,
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// TestConsolePagesEscapeWhatTheyShow renders the list, the detail and the
// editor of a resource holding markup, the nodes page and a channel's
// page naming its node: the markup appears escaped, and the pages carry
// the login's CSRF token for their scripts.
func TestConsolePagesEscapeWhatTheyShow(t *testing.T) {
	srv := newConsoleServer(t, auth.RoleAdmin)
	for _, path := range []string{"/console/security-groups", "/console/security-groups/lobby", "/console/security-groups/lobby/edit", "/console", "/console/nodes", "/console/channels/news"} {
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

// TestConsoleShowsTheNodes reads the nodes page as each role: every role
// finds it in the navigation and sees each node's state, advertised URL,
// load against its capacity, heartbeat, reachability and channels, with
// nothing to change; a channel's page names the node that holds it. A
// server without a list of nodes is its only node, and a failing list is
// said on the page.
func TestConsoleShowsTheNodes(t *testing.T) {
	for _, role := range []auth.Role{auth.RoleViewer, auth.RoleOperator, auth.RoleAdmin} {
		srv := newConsoleServer(t, role)
		resp, body := get(t, srv, "/console/nodes")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /console/nodes as %s: %d %s", role, resp.StatusCode, body)
		}
		for _, want := range []string{
			`<a href="/console/nodes" class="active" aria-current="page">Nodes</a>`,
			`id="list"`, `<tr id="node-n1"`, `n1 <span class="muted">(this)</span>`, "http://n1.example:8080",
			`<span class="badge state-live">LIVE</span>`, `<span class="badge state-lost">LOST</span>`,
			"0/4", "2/2", `<meter min="0" max="2" value="2"`, "31.3s ago", `title="2026-12-07T08:00:00Z"`,
			"this node", "no: dial: &lt;script&gt;", `<a href="/console/channels/news">news</a>`,
		} {
			if !strings.Contains(body, want) {
				t.Errorf("GET /console/nodes as %s lacks %s:\n%s", role, want, body)
			}
		}
		for _, offer := range []string{"data-api=", `id="new"`, `id="edit"`, "<form id="} {
			if strings.Contains(body, offer) {
				t.Errorf("GET /console/nodes as %s offers a change (%s)", role, offer)
			}
		}
		if strings.Contains(body, "javascript:alert") && !strings.Contains(body, "<td>javascript:alert(1)//&lt;script&gt;") {
			t.Errorf("GET /console/nodes as %s shows an advertised URL other than as text", role)
		}
		_, page := get(t, srv, "/console")
		if !strings.Contains(page, `<a href="/console/nodes">Nodes</a>`) {
			t.Errorf("the %s's navigation lacks the nodes page", role)
		}
		_, channel := get(t, srv, "/console/channels/news")
		if !strings.Contains(channel, `<div id="holder"><dt>Node</dt><dd><a id="holder-node" href="/console/nodes#node-n2%3cscript%3e`) ||
			!strings.Contains(channel, `>n2&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;`) {
			t.Errorf("the channel's page as %s does not name its node:\n%s", role, channel)
		}
	}

	srv := newConsoleServerOf(t, auth.RoleViewer, nil)
	if resp, body := get(t, srv, "/console/nodes"); resp.StatusCode != http.StatusOK || !strings.Contains(body, "its only node") {
		t.Errorf("the nodes page of a server without a list of nodes: %d %s", resp.StatusCode, body)
	}
	if _, body := get(t, srv, "/console/channels/news"); !strings.Contains(body, `<div id="holder"`) {
		t.Errorf("the channel's page lacks the place of its node")
	}

	srv = newConsoleServerOf(t, auth.RoleViewer, func(context.Context) ([]resource.Node, error) {
		return nil, errors.New("the database is gone " + hostile)
	})
	resp, body := get(t, srv, "/console/nodes")
	if resp.StatusCode != http.StatusInternalServerError || !strings.Contains(body, "Sluice could not list the nodes: the database is gone &lt;script&gt;") {
		t.Errorf("the nodes page when the list fails: %d %s", resp.StatusCode, body)
	}
}
