// Package browser drives a headless Chromium for Sluice's tests: it opens the
// player page, waits for playback and reports what the page's player saw, or
// takes a screenshot. It never asserts; the calling test decides.
package browser

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"

	"github.com/chromedp/chromedp"
)

// debianChromium is where Debian's chromium package installs the browser.
const debianChromium = "/usr/bin/chromium"

// Available reports the chromium path or an error saying it is missing.
func Available() (string, error) {
	if st, err := os.Stat(debianChromium); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
		return debianChromium, nil
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p, nil
	}
	return "", errors.New("chromium is not installed: neither " + debianChromium +
		" nor chromium on PATH was found (on Debian: apt-get install chromium)")
}

// session is one headless Chromium with one tab, started for one call.
type session struct {
	// ctx runs actions in the tab; it ends when the session is closed.
	ctx     context.Context
	console *consoleErrors
	close   func()
}

// start launches a headless Chromium with a fresh profile directory, which
// close removes again once the browser has exited.
func start(ctx context.Context, extra ...chromedp.ExecAllocatorOption) (*session, error) {
	path, err := Available()
	if err != nil {
		return nil, err
	}
	profile, err := os.MkdirTemp("", "sluice-chromium-")
	if err != nil {
		return nil, fmt.Errorf("browser: creating the profile directory: %w", err)
	}
	opts := append(slices.Clone(chromedp.DefaultExecAllocatorOptions[:]),
		chromedp.ExecPath(path),
		chromedp.UserDataDir(profile),
		chromedp.Headless,
		chromedp.NoSandbox, // tests run as root
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		chromedp.WindowSize(1280, 900),
	)
	opts = append(opts, extra...)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	tabCtx, cancelTab := chromedp.NewContext(allocCtx)
	s := &session{ctx: tabCtx}
	s.close = func() {
		cancelTab()
		cancelAlloc() // waits for the browser process to exit
		if s.console != nil {
			s.console.wait()
		}
		_ = os.RemoveAll(profile)
	}
	// Start the browser now, so that a missing or broken browser fails here.
	if err := chromedp.Do(tabCtx); err != nil {
		s.close()
		return nil, fmt.Errorf("browser: starting %s: %w", path, err)
	}
	s.console = collectConsoleErrors(tabCtx)
	return s, nil
}
