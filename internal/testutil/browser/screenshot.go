package browser

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/chromedp/chromedp"
)

// Screenshot saves a PNG of pageURL after `wait`, so a person can check how
// the page looks, for example during playback.
func Screenshot(ctx context.Context, pageURL, pngPath string, wait time.Duration) error {
	s, err := start(ctx)
	if err != nil {
		return err
	}
	defer s.close()
	if err := chromedp.Do(s.ctx, chromedp.Navigate(pageURL)); err != nil {
		return fmt.Errorf("browser: opening %s: %w", pageURL, err)
	}
	// The wait is the point of the call (let the page play), not a guess at
	// when a condition holds.
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-s.ctx.Done():
		return s.ctx.Err()
	}
	png, err := chromedp.Run(s.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		return fmt.Errorf("browser: capturing %s: %w", pageURL, err)
	}
	if err := os.WriteFile(pngPath, png, 0o644); err != nil {
		return fmt.Errorf("browser: saving the screenshot: %w", err)
	}
	return nil
}
