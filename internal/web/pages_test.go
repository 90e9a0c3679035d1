package web

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/sluice-video/sluice/internal/resource"
)

// newTestServer serves the pages over the fake channels.
func newTestServer(t *testing.T, ch Channels) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	New(ch, nil).Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// get fetches path and returns the response with its body read.
func get(t *testing.T, srv *httptest.Server, path string, header ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading body: %v", path, err)
	}
	return resp, string(body)
}

// checkHTML asserts the status and the headers every page carries.
func checkHTML(t *testing.T, resp *http.Response, wantStatus int) {
	t.Helper()
	if resp.StatusCode != wantStatus {
		t.Errorf("status = %d, want %d", resp.StatusCode, wantStatus)
	}
	if got := resp.Header.Get("Content-Type"); got != "text/html; charset=utf-8" {
		t.Errorf("Content-Type = %q", got)
	}
	csp := resp.Header.Get("Content-Security-Policy")
	for _, want := range []string{
		"script-src 'self'",
		"media-src 'self' blob:",
		"connect-src 'self'",
		"worker-src 'self' blob:",
	} {
		if !strings.Contains(csp, want) {
			t.Errorf("Content-Security-Policy %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("Content-Security-Policy %q allows inline code", csp)
	}
}

func mustContain(t *testing.T, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("page lacks %q", w)
		}
	}
}

func mustNotContain(t *testing.T, body string, unwanted ...string) {
	t.Helper()
	for _, w := range unwanted {
		if strings.Contains(body, w) {
			t.Errorf("page contains %q", w)
		}
	}
}

var (
	scriptTag   = regexp.MustCompile(`<script[^>]*>`)
	inlineEvent = regexp.MustCompile(`(?i)\son[a-z]+\s*=`)
	styleAttr   = regexp.MustCompile(`(?i)\sstyle\s*=`)
	assetLink   = regexp.MustCompile(`(?:src|href)="(/assets/[^"]+)"`)
)

// checkNoInlineCode asserts the page would run under its CSP: every script
// is external and no element carries inline handlers or styles.
func checkNoInlineCode(t *testing.T, body string) {
	t.Helper()
	for _, tag := range scriptTag.FindAllString(body, -1) {
		if !strings.Contains(tag, ` src="/assets/`) {
			t.Errorf("inline or foreign script %s", tag)
		}
	}
	if m := inlineEvent.FindString(body); m != "" {
		t.Errorf("inline event handler %q", m)
	}
	if m := styleAttr.FindString(body); m != "" {
		t.Errorf("inline style %q", m)
	}
}

// checkAssetLinks fetches every asset the page links and expects it served.
func checkAssetLinks(t *testing.T, srv *httptest.Server, body string) {
	t.Helper()
	links := assetLink.FindAllStringSubmatch(body, -1)
	if len(links) == 0 {
		t.Fatal("page links no assets")
	}
	for _, m := range links {
		path := strings.ReplaceAll(m[1], "&amp;", "&")
		resp, _ := get(t, srv, path)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s = %d", path, resp.StatusCode)
		}
	}
}

func TestListPage(t *testing.T) {
	srv := newTestServer(t, &fakeChannels{channels: []resource.Channel{failedChannel(), demoChannel()}})
	resp, body := get(t, srv, "/")
	checkHTML(t, resp, http.StatusOK)
	mustContain(t, body,
		`<a href="/play/demo">demo</a>`,
		`<span class="badge state-running">RUNNING</span>`,
		`<span class="badge state-create-failed">CREATE_FAILED</span>`,
		`encoder running`,
		`input &lt;cam&gt; does not exist`, // escaped
		`href="/play/demo?player=hls"`,
		`href="/play/demo?player=dash"`,
		`href="/live/demo/hls/index.m3u8"`,
		`href="/live/demo/dash/manifest.mpd"`,
		`/assets/channels.js?v=`,
		`/assets/style.css?v=`,
	)
	if strings.Index(body, ">broken<") > strings.Index(body, ">demo<") {
		t.Error("channels are not sorted by name")
	}
	// The failed channel has no endpoints, so no player links.
	mustNotContain(t, body, `/play/broken?player=`)
	checkNoInlineCode(t, body)
	checkAssetLinks(t, srv, body)
}

func TestListPageEmpty(t *testing.T) {
	srv := newTestServer(t, &fakeChannels{})
	resp, body := get(t, srv, "/")
	checkHTML(t, resp, http.StatusOK)
	mustContain(t, body, "No channels yet.", `<table id="channels" class="channels" hidden>`)
}

func TestListPageControlPlaneError(t *testing.T) {
	srv := newTestServer(t, &fakeChannels{listErr: errBroken})
	resp, body := get(t, srv, "/")
	checkHTML(t, resp, http.StatusInternalServerError)
	mustContain(t, body, "could not list the channels: store unavailable")
}

func TestOnlyTheRootIsTheList(t *testing.T) {
	srv := newTestServer(t, &fakeChannels{})
	resp, _ := get(t, srv, "/nothing-here")
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /nothing-here = %d, want 404", resp.StatusCode)
	}
}

func TestPlayPage(t *testing.T) {
	srv := newTestServer(t, &fakeChannels{channels: []resource.Channel{demoChannel()}})
	cases := []struct {
		path, kind, manifest, script, otherScript string
	}{
		{"/play/demo", "hls", "/live/demo/hls/index.m3u8", "vendor/hls.min.js", "vendor/dash.all.min.js"},
		{"/play/demo?player=hls", "hls", "/live/demo/hls/index.m3u8", "vendor/hls.min.js", "vendor/dash.all.min.js"},
		{"/play/demo?player=dash", "dash", "/live/demo/dash/manifest.mpd", "vendor/dash.all.min.js", "vendor/hls.min.js"},
		{"/play/ch-1?player=dash", "dash", "/live/demo/dash/manifest.mpd", "vendor/dash.all.min.js", "vendor/hls.min.js"},
	}
	for _, c := range cases {
		t.Run(c.path, func(t *testing.T) {
			resp, body := get(t, srv, c.path)
			checkHTML(t, resp, http.StatusOK)
			mustContain(t, body,
				`data-kind="`+c.kind+`"`,
				`data-manifest="`+c.manifest+`"`,
				`data-api="/api/v1/channels/demo"`,
				`/assets/`+c.script+`?v=`,
				`/assets/player.js?v=`,
				`<video id="video" muted autoplay playsinline controls>`,
				`href="/play/demo?player=hls"`,
				`href="/play/demo?player=dash"`,
				`class="active" aria-current="page">`+strings.ToUpper(c.kind)+`</a>`,
				`<span id="state" class="badge state-running">RUNNING</span>`,
			)
			mustNotContain(t, body, "/assets/"+c.otherScript)
			checkNoInlineCode(t, body)
			checkAssetLinks(t, srv, body)
		})
	}
}

func TestPlayPageWithoutEndpointYet(t *testing.T) {
	ch := demoChannel()
	ch.State, ch.Endpoints = resource.StateStarting, nil
	srv := newTestServer(t, &fakeChannels{channels: []resource.Channel{ch}})
	resp, body := get(t, srv, "/play/demo")
	checkHTML(t, resp, http.StatusOK)
	// The page's script finds the endpoint once the API reports one.
	mustContain(t, body, `data-manifest=""`, "none yet", "state-starting")
}

func TestPlayUnknownChannel(t *testing.T) {
	srv := newTestServer(t, &fakeChannels{channels: []resource.Channel{demoChannel()}})
	resp, body := get(t, srv, "/play/nope")
	checkHTML(t, resp, http.StatusNotFound)
	mustContain(t, body, "<h1>Channel not found</h1>", "There is no channel named nope.", `href="/"`)
	checkNoInlineCode(t, body)
}

func TestPlayControlPlaneError(t *testing.T) {
	srv := newTestServer(t, &brokenGet{})
	resp, body := get(t, srv, "/play/demo")
	checkHTML(t, resp, http.StatusInternalServerError)
	mustContain(t, body, "store unavailable")
}

func TestPlayUnknownPlayer(t *testing.T) {
	srv := newTestServer(t, &fakeChannels{channels: []resource.Channel{demoChannel()}})
	resp, body := get(t, srv, "/play/demo?player=flash")
	checkHTML(t, resp, http.StatusBadRequest)
	mustContain(t, body, "player=hls, dash, llhls, lldash, hlsts or webrtc")
}
