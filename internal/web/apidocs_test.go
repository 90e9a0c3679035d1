package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	spec "github.com/sluice-video/sluice/api"
	"github.com/sluice-video/sluice/internal/testutil/browser"
)

func TestAPIDocsPage(t *testing.T) {
	srv := newTestServer(t, &fakeChannels{})
	resp, body := get(t, srv, "/api-docs")
	checkHTML(t, resp, http.StatusOK)
	checkNoInlineCode(t, body)
	checkAssetLinks(t, srv, body)
	mustContain(t, body, `data-spec-url="/api/v1/openapi.json"`, `data-renderer="/assets/vendor/redoc.standalone.js?v=`, `<script defer src="/assets/vendor/redoc.standalone.js?v=`)
}

// TestAPIDocsRenderInABrowser renders the API reference in headless
// Chromium under the pages' Content-Security-Policy: Redoc must draw the
// document's operations without a single violation or script error.
func TestAPIDocsRenderInABrowser(t *testing.T) {
	needTool(t, "chromium", browser.Available, requireBrowserEnv)
	mux := http.NewServeMux()
	New(&fakeChannels{}, nil).Register(mux)
	doc, err := spec.JSON()
	if err != nil {
		t.Fatal(err)
	}
	mux.HandleFunc("GET "+APISpecURL, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(doc)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	png := ""
	if dir := os.Getenv(screenshotDirEnv); dir != "" {
		png = filepath.Join(dir, "api-docs.png")
	}
	// The operation's summary appears once Redoc has rendered the document.
	page, err := browser.Open(ctx, srv.URL+"/api-docs", "#api-docs h1", png)
	if err != nil {
		t.Fatalf("%v\nconsole: %s", err, strings.Join(pageErrors(page), "\n"))
	}
	if !strings.Contains(page.Text, "Sluice API") {
		t.Errorf("the reference's title reads %q", page.Text)
	}
	for _, e := range page.Errors {
		if strings.Contains(e, redocLogo) && strings.Contains(e, "img-src") {
			continue // refused by the policy, as it should be: no request leaves the page
		}
		t.Errorf("the page reported: %s", e)
	}
}

// redocLogo is the attribution image Redoc links from its CDN; the page's
// policy refuses it.
const redocLogo = "https://cdn.redoc.ly/"

func pageErrors(p *browser.Page) []string {
	if p == nil {
		return nil
	}
	return p.Errors
}
