package browser

import (
	"context"
	"fmt"
	"time"

	"github.com/chromedp/chromedp"
)

// Page is what a page showed once it was ready.
type Page struct {
	// Errors are what the page reported on its console: script errors,
	// failed loads, Content-Security-Policy violations.
	Errors []string
	// Text is the text of the element that was waited for.
	Text string
}

// Open opens pageURL, waits until an element matches the CSS selector
// ready (or until ctx ends), and returns that element's text and the
// errors the page reported meanwhile. When pngPath is not empty it also
// saves a screenshot there, for a person to look at.
func Open(ctx context.Context, pageURL, ready, pngPath string) (*Page, error) {
	s, err := start(ctx)
	if err != nil {
		return nil, err
	}
	defer s.close()
	page := &Page{}
	err = chromedp.Do(s.ctx, chromedp.Navigate(pageURL), chromedp.WaitVisible(chromedp.CSS(ready)))
	if err == nil {
		page.Text, err = chromedp.Run(s.ctx, chromedp.Text(chromedp.CSS(ready)))
	}
	if err == nil && pngPath != "" {
		err = Screenshot(ctx, pageURL, pngPath, 3*time.Second)
	}
	page.Errors = s.console.errors()
	if err != nil {
		return page, fmt.Errorf("browser: %s: %w", pageURL, err)
	}
	return page, nil
}
