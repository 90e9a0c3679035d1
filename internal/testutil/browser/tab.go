package browser

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/chromedp/chromedp"
)

// Tab is a page held open in its own headless Chromium until Close, for
// checks that run beside it (a page that publishes, while the test watches
// the server).
type Tab struct {
	s *session
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

// Errors are what the page reported on its console so far.
func (t *Tab) Errors() []string { return t.s.console.errors() }

// Close closes the browser.
func (t *Tab) Close() { t.s.close() }
