package browser

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/chromedp/chromedp"
)

// Tab is one headless Chromium tab that a test drives step by step: it
// keeps its cookies from page to page, as a person's browser does (a
// login, then the pages behind it), or holds a page open for checks that
// run beside it (a page that publishes, while the test watches the
// server).
type Tab struct {
	s *session
}

// NewTab starts a headless Chromium with one tab; Close ends it.
func NewTab(ctx context.Context) (*Tab, error) {
	s, err := start(ctx)
	if err != nil {
		return nil, err
	}
	return &Tab{s: s}, nil
}

// OpenWithFakeMedia opens pageURL in a Chromium whose camera and
// microphone are fakes (a test picture and a beep) that pages may use
// without asking.
func OpenWithFakeMedia(ctx context.Context, pageURL string) (*Tab, error) {
	s, err := start(ctx,
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("use-fake-ui-for-media-stream", true),
	)
	if err != nil {
		return nil, err
	}
	if err := chromedp.Do(s.ctx, chromedp.Navigate(pageURL)); err != nil {
		s.close()
		return nil, fmt.Errorf("browser: opening %s: %w", pageURL, err)
	}
	return &Tab{s: s}, nil
}

// Context runs chromedp actions in the tab: chromedp.Run(t.Context(), …).
func (t *Tab) Context() context.Context { return t.s.ctx }

// Do runs steps in the tab.
func (t *Tab) Do(steps ...chromedp.Action[chromedp.Void]) error {
	return chromedp.Do(t.s.ctx, steps...)
}

// Eval evaluates a JavaScript expression in the page into out.
func (t *Tab) Eval(ctx context.Context, js string, out any) error {
	ectx, cancel := context.WithTimeout(t.s.ctx, evalTimeout)
	defer cancel()
	stop := context.AfterFunc(ctx, cancel)
	defer stop()
	raw, err := chromedp.Run(ectx, chromedp.Evaluate[json.RawMessage](js))
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, out)
}

// Errors are what the tab's pages reported on their console so far:
// script errors, failed loads, Content-Security-Policy violations.
func (t *Tab) Errors() []string { return t.s.console.errors() }

// Screenshot saves a PNG of what the tab shows now (the window, not the
// whole page), for a person to look at.
func (t *Tab) Screenshot(pngPath string) error {
	png, err := chromedp.Run(t.s.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		return fmt.Errorf("browser: capturing the tab: %w", err)
	}
	if err := os.WriteFile(pngPath, png, 0o644); err != nil {
		return fmt.Errorf("browser: saving the screenshot: %w", err)
	}
	return nil
}

// Close ends the browser and removes its profile.
func (t *Tab) Close() { t.s.close() }
