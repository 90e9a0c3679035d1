package browser

import (
	"context"
	"sync"

	"github.com/chromedp/chromedp"
)

// consoleErrors collects the errors a page reports on its console: console
// .error calls, uncaught exceptions and browser log errors such as failed
// loads or Content-Security-Policy violations.
type consoleErrors struct {
	mu    sync.Mutex
	lines []string
	done  chan struct{}
}

// collectConsoleErrors subscribes to the tab's console until ctx ends.
func collectConsoleErrors(ctx context.Context) *consoleErrors {
	c := &consoleErrors{done: make(chan struct{})}
	messages := chromedp.Console(ctx) // subscribed from here on
	go func() {
		defer close(c.done)
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type != chromedp.ConsoleError && !m.IsException() {
				continue
			}
			line := "console " + string(m.Type) + ": " + m.Text
			if m.URL != "" {
				line += " (" + m.URL + ")"
			}
			c.mu.Lock()
			c.lines = append(c.lines, line)
			c.mu.Unlock()
		}
	}()
	return c
}

// errors returns the errors seen so far.
func (c *consoleErrors) errors() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.lines...)
}

// wait returns once collection has stopped, after the tab's context ended.
func (c *consoleErrors) wait() {
	<-c.done
}
