package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sluice-video/sluice/internal/testutil/browser"
	"github.com/sluice-video/sluice/internal/testutil/media"
	"github.com/sluice-video/sluice/internal/testutil/poll"
)

// screenshotDir is where the console test leaves its screenshots, which
// the README shows.
const screenshotDir = "../docs/console"

// consoleTab opens a browser tab, or skips the test without Chromium.
func consoleTab(t *testing.T) *browser.Tab {
	t.Helper()
	if _, err := browser.Available(); err != nil {
		if os.Getenv(media.RequireEnv) == "1" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	t.Cleanup(cancel)
	tab, err := browser.NewTab(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tab.Close)
	return tab
}

// waitText waits until the element matching sel shows want.
func waitText(t *testing.T, tab *browser.Tab, what, sel, want string, timeout time.Duration) {
	t.Helper()
	poll.Until(t, what, timeout, func() (bool, string) {
		ctx, cancel := context.WithTimeout(tab.Context(), 5*time.Second)
		defer cancel()
		got, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](fmt.Sprintf(`(function(){var e=document.querySelector(%q),r=document.getElementById("result");return [e?e.textContent:"",r?r.textContent:""];})()`, sel)))
		if err != nil || len(got) != 2 {
			return false, fmt.Sprint(got, err)
		}
		return strings.Contains(got[0], want), fmt.Sprintf("%s shows %q; the page says %q", sel, got[0], got[1])
	})
}

func shoot(t *testing.T, tab *browser.Tab, name string) {
	t.Helper()
	if err := tab.Screenshot(filepath.Join(screenshotDir, name)); err != nil {
		t.Errorf("screenshot %s: %v", name, err)
	}
}

// TestConsoleRunsAChannelFromTheBrowser runs the real binary and drives
// the console in headless Chromium as an administrator would: log in with
// the first start's password, create a test-pattern channel from the
// form, watch it go to RUNNING and play, see an event arrive live on the
// events page, restart, stop and delete the channel, upload a file that becomes a
// job and an asset that plays. The pages it passes are saved as
// screenshots under docs/console/.
func TestConsoleRunsAChannelFromTheBrowser(t *testing.T) {
	t.Parallel()
	tab := consoleTab(t)
	data := t.TempDir()
	s := startServer(t, data)
	password, err := os.ReadFile(filepath.Join(data, "admin-password"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(screenshotDir, 0o755); err != nil {
		t.Fatal(err)
	}

	// A console page sends the browser to the login page, which comes back.
	if err := tab.Do(
		chromedp.Navigate(s.url("/console/channels/new")),
		chromedp.WaitVisible(chromedp.CSS(`form.login input[name="name"]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name="name"]`), "admin"),
		chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), strings.TrimSpace(string(password))),
		chromedp.Submit(chromedp.CSS(`form.login`)),
		chromedp.WaitVisible(chromedp.CSS(`#channel-form`)),
		chromedp.WaitReady(chromedp.CSS(`#f-ladder option[value="test-360p"]`)),
	); err != nil {
		t.Fatalf("logging in to the channel form: %v (page errors: %v)", err, tab.Errors())
	}

	// A wrong field is refused with the API's words beside it.
	if err := tab.Do(
		chromedp.SendKeys(chromedp.CSS(`#f-name`), "Bad Name!"),
		chromedp.Click(chromedp.CSS(`#create`)),
	); err != nil {
		t.Fatal(err)
	}
	waitText(t, tab, "the form shows the name's error", "#err-name", "name", 30*time.Second)

	if err := tab.Do(
		chromedp.SetValue(chromedp.CSS(`#f-name`), "lobby"),
		chromedp.SetValue(chromedp.CSS(`#f-input`), "new-test-pattern"),
		chromedp.SetValue(chromedp.CSS(`#f-ladder`), "test-360p"),
	); err != nil {
		t.Fatal(err)
	}
	shoot(t, tab, "new-channel.png")
	if err := tab.Do(
		chromedp.Click(chromedp.CSS(`#create`)),
		chromedp.WaitVisible(chromedp.CSS(`#state`)),
	); err != nil {
		t.Fatalf("creating the channel: %v (page errors: %v)", err, tab.Errors())
	}
	waitText(t, tab, "the channel page shows RUNNING", "#state", "RUNNING", 3*time.Minute)
	poll.Until(t, "the channel page shows the channel's picture", 2*time.Minute, func() (bool, string) {
		ctx, cancel := context.WithTimeout(tab.Context(), 5*time.Second)
		defer cancel()
		w, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.getElementById("thumbnail").naturalWidth`))
		return err == nil && w == 320, fmt.Sprint(w, err)
	})

	// The player the channel page links plays it.
	href, err := chromedp.Run(tab.Context(), chromedp.Evaluate[string](`document.getElementById("watch").getAttribute("href")`))
	if err != nil || href != "/play/lobby" {
		t.Fatalf("the Watch link is %q (%v)", href, err)
	}
	played, err := playInBrowser(t, s.url(href), 6*time.Second)
	if err != nil || played.Fatal != "" || len(played.Samples) == 0 {
		t.Fatalf("playing the channel: %v %+v", err, played)
	}

	// An event appears on the events page as it happens.
	if err := tab.Do(
		chromedp.Navigate(s.url("/console/events")),
		chromedp.WaitReady(chromedp.CSS(`#events[data-live="true"]`)),
	); err != nil {
		t.Fatalf("opening the events page: %v", err)
	}
	resp, err := s.http.Post(s.url("/api/v1/channels"), "application/json",
		strings.NewReader(`{"name":"side","inputAttachments":[{"input":"lobby-bars"}],"encoder":{"ladder":"test-360p"}}`))
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("creating a second channel: %v %v", err, resp)
	}
	_ = resp.Body.Close()
	waitText(t, tab, "the event page shows the new channel's event", "#events", "channel/side", 30*time.Second)

	// An alarm that fires shows on the open events page, and on its own.
	resp, err = s.http.Post(s.url("/api/v1/alarms"), "application/json", strings.NewReader(
		`{"name":"busy","metric":"sluice_encoder_speed_ratio","labels":{"channel":"lobby"},"statistic":"avg","periodSeconds":10,"evaluationPeriods":1,"threshold":0,"comparison":"GreaterThanThreshold"}`))
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("creating an alarm: %v %v", err, resp)
	}
	_ = resp.Body.Close()
	waitText(t, tab, "the event page shows the alarm firing", "#events", "alarm/busy", 2*time.Minute)
	shoot(t, tab, "events.png")
	if err := tab.Do(chromedp.Navigate(s.url("/console/alarms/busy")), chromedp.WaitVisible(chromedp.CSS(`#alarm-state`))); err != nil {
		t.Fatal(err)
	}
	waitText(t, tab, "the alarm's page shows ALARM", "#alarm-state", "ALARM", time.Minute)

	for _, page := range []struct{ path, ready, png string }{
		{"/console", ".cards", "overview.png"},
		{"/console/channels", "#list", "channels.png"},
		{"/console/inputs/lobby-bars", "#fields", "input.png"},
		{"/console/metrics", ".chart h3", "metrics.png"},
	} {
		if err := tab.Do(chromedp.Navigate(s.url(page.path)), chromedp.WaitVisible(chromedp.CSS(page.ready))); err != nil {
			t.Fatalf("opening %s: %v", page.path, err)
		}
		shoot(t, tab, page.png)
	}

	// The stack editor shows the plan, then applies exactly that.
	if err := tab.Do(
		chromedp.Navigate(s.url("/console/stacks")),
		chromedp.WaitVisible(chromedp.CSS(`#plan`)),
		chromedp.Click(chromedp.CSS(`#plan`)),
		chromedp.WaitVisible(chromedp.CSS(`#plan-result`)),
	); err != nil {
		t.Fatalf("planning a stack: %v", err)
	}
	waitText(t, tab, "the plan lists the channel to create", "#plan-changes", "createchannelnews", 30*time.Second)
	if err := tab.Do(chromedp.Click(chromedp.CSS(`#apply`))); err != nil {
		t.Fatal(err)
	}
	waitText(t, tab, "the stack is applied", "#plan-title", "Applied", time.Minute)
	shoot(t, tab, "stacks.png")
	if code, _, _ := s.get("/api/v1/channels/news"); code != http.StatusOK {
		t.Errorf("the applied stack's channel: %d", code)
	}

	// The channel's page, with its charts drawn from the metrics history
	// once there is a sample.
	if err := tab.Do(chromedp.Navigate(s.url("/console/channels/lobby")), chromedp.WaitVisible(chromedp.CSS(`#stop`))); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, "the encoder speed chart has a point", 2*time.Minute, func() (bool, string) {
		ctx, cancel := context.WithTimeout(tab.Context(), 5*time.Second)
		defer cancel()
		n, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector('.chart[data-metric="sluice_encoder_speed_ratio"]')||{dataset:{}}).dataset.points||""`))
		if err != nil {
			return false, err.Error()
		}
		if n == "" || n == "0" {
			// The page asks again every ten seconds.
			_ = tab.Do(chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`#stop`)))
			return false, "points: " + n
		}
		return true, ""
	})
	waitText(t, tab, "the channel page shows RUNNING", "#state", "RUNNING", time.Minute)
	shoot(t, tab, "channel.png")

	// Restart, with the page's confirmation: one command of the API, the
	// channel's history shows it, and it runs again.
	if err := tab.Do(
		chromedp.Click(chromedp.CSS(`#restart`)),
		chromedp.WaitVisible(chromedp.CSS(`#confirm-yes`)),
		chromedp.Click(chromedp.CSS(`#confirm-yes`)),
	); err != nil {
		t.Fatalf("restarting: %v", err)
	}
	poll.Until(t, "the restart is in the channel's history", 2*time.Minute, func() (bool, string) {
		code, _, body := s.get("/api/v1/channels/lobby/history")
		return code == http.StatusOK && strings.Contains(string(body), "restart requested: starting again"), string(body)
	})
	if err := tab.Do(chromedp.WaitVisible(chromedp.CSS(`#stop`))); err != nil {
		t.Fatal(err)
	}
	waitText(t, tab, "the channel page shows RUNNING after the restart", "#state", "RUNNING", 2*time.Minute)

	// Stop, with the page's confirmation, then delete.
	if err := tab.Do(
		chromedp.Click(chromedp.CSS(`#stop`)),
		chromedp.WaitVisible(chromedp.CSS(`#confirm-yes`)),
		chromedp.Click(chromedp.CSS(`#confirm-yes`)),
	); err != nil {
		t.Fatalf("stopping: %v", err)
	}
	waitText(t, tab, "the channel page shows IDLE", "#state", "IDLE", 2*time.Minute)
	if err := tab.Do(
		chromedp.WaitVisible(chromedp.CSS(`#delete`)),
		chromedp.Click(chromedp.CSS(`#delete`)),
		chromedp.WaitVisible(chromedp.CSS(`#confirm-yes`)),
		chromedp.Click(chromedp.CSS(`#confirm-yes`)),
	); err != nil {
		t.Fatalf("deleting: %v", err)
	}
	poll.Until(t, "the channel is gone", 2*time.Minute, func() (bool, string) {
		code, _, _ := s.get("/api/v1/channels/lobby")
		return code == http.StatusNotFound, fmt.Sprint(code)
	})
	// A file uploaded through the jobs page becomes a job whose progress
	// bar reaches 100 %, and an asset that plays.
	sample := media.Sample(t, t.TempDir(), 320, 180, 4)
	if err := tab.Do(
		chromedp.Navigate(s.url("/console/jobs")),
		chromedp.WaitVisible(chromedp.CSS(`#upload-form`)),
		chromedp.SetUploadFiles(chromedp.CSS(`#u-file`), []string{sample}),
		chromedp.Click(chromedp.CSS(`#upload`)),
	); err != nil {
		t.Fatalf("uploading: %v", err)
	}
	waitText(t, tab, "the upload reaches 100 %", "#upload-status", "submitted", 2*time.Minute)
	job, err := chromedp.Run(tab.Context(), chromedp.Evaluate[string](`document.getElementById("upload-form").dataset.job`))
	if err != nil || !strings.HasPrefix(job, "job-") {
		t.Fatalf("the upload's job: %q %v", job, err)
	}
	poll.Until(t, "the job's progress bar reaches 100 %", 5*time.Minute, func() (bool, string) {
		ctx, cancel := context.WithTimeout(tab.Context(), 5*time.Second)
		defer cancel()
		row, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`(function(){
			var rows = document.querySelectorAll("#jobs tbody tr");
			for (var i = 0; i < rows.length; i++) {
				if (rows[i].cells[0].textContent === %q) { return rows[i].textContent + "|" + rows[i].querySelector("progress").value; }
			}
			return "";
		})()`, job)))
		if err != nil {
			return false, err.Error()
		}
		return strings.Contains(row, "COMPLETE") && strings.HasSuffix(row, "|100"), row
	})
	shoot(t, tab, "jobs.png")
	if err := tab.Do(chromedp.Navigate(s.url("/console/assets")), chromedp.WaitVisible(chromedp.CSS(`#assets tbody tr`))); err != nil {
		t.Fatalf("the assets page: %v", err)
	}
	poll.Until(t, "the asset's thumbnail shows", time.Minute, func() (bool, string) {
		ctx, cancel := context.WithTimeout(tab.Context(), 5*time.Second)
		defer cancel()
		w, err := chromedp.Run(ctx, chromedp.Evaluate[int](`(document.querySelector("#assets img.thumb")||{}).naturalWidth||0`))
		return err == nil && w > 0, fmt.Sprint(w, err)
	})
	shoot(t, tab, "assets.png")
	res, err := playInBrowser(t, s.url("/vod-play/"+job), 8*time.Second)
	if err != nil || res.Fatal != "" || len(res.Samples) == 0 {
		t.Fatalf("playing the uploaded asset: %v %+v", err, res)
	}

	// The one failed load expected is the form's refused channel.
	var errs []string
	for _, e := range tab.Errors() {
		if !strings.Contains(e, "status of 400") || !strings.HasSuffix(e, "/api/v1/channels)") {
			errs = append(errs, e)
		}
	}
	if len(errs) > 0 {
		t.Errorf("the console's pages reported errors: %s", strings.Join(errs, "\n"))
	}
}
