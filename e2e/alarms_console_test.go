package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sluice-video/sluice/internal/testutil/poll"
)

// TestConsoleSilencesAndAcknowledgesAlarms runs the real binary: an alarm
// goes to ALARM; the CLI silences it and ends the silence; an operator
// logged in to the console in headless Chromium acknowledges it from its
// page, silences it from the alarms list with a comment and ends the
// silence from its page, each through the page's forms and buttons (the
// API with the login's CSRF token); the alarm's history on the page
// names the operator and the comment.
func TestConsoleSilencesAndAcknowledgesAlarms(t *testing.T) {
	t.Parallel()
	tab := consoleTab(t)
	const token = "e2e-alarms-admin-token-0123456789"
	s := startServerWith(t, t.TempDir(), []string{"--token", token})
	cli := func(stdin string, args ...string) (string, error) {
		cmd := exec.Command(s.bin, append([]string{"--server", "http://" + s.addr, "--token", token}, args...)...)
		cmd.Stdin = strings.NewReader(stdin)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		return out.String(), err
	}
	if out, err := cli("operator-passphrase-alarms\n", "user", "add", "oli", "--role", "operator", "--password-file", "-"); err != nil {
		t.Fatalf("user add: %v\n%s", err, out)
	}
	req, _ := http.NewRequest("POST", s.url("/api/v1/alarms"), strings.NewReader(
		`{"name":"busy","metric":"sluice_encoder_speed_ratio","labels":{"channel":"nowhere"},"statistic":"avg","periodSeconds":10,"evaluationPeriods":1,"threshold":1,"comparison":"LessThanThreshold","treatMissingData":"breaching"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := s.http.Do(req)
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("creating the alarm: %v %v", err, resp)
	}
	_ = resp.Body.Close()
	poll.Until(t, "the alarm goes to ALARM", time.Minute, func() (bool, string) {
		out, err := cli("", "alarm", "get", "busy")
		return err == nil && strings.Contains(out, "ALARM since"), out
	})

	// The CLI silences it and ends the silence.
	if out, err := cli("", "alarm", "silence", "busy", "--for", "1h", "--comment", "from the terminal"); err != nil || !strings.Contains(out, "alarm busy: ALARM, silenced until") {
		t.Fatalf("alarm silence: %v\n%s", err, out)
	}
	if out, err := cli("", "alarm", "unsilence", "busy"); err != nil || !strings.Contains(out, "not silenced") {
		t.Fatalf("alarm unsilence: %v\n%s", err, out)
	}
	if out, err := cli("", "alarm", "unsilence", "busy"); err == nil || !strings.Contains(out, "not silenced") {
		t.Fatalf("alarm unsilence of an alarm that is not silenced: %v\n%s", err, out)
	}
	if out, err := cli("", "alarm", "history", "busy"); err != nil || !strings.Contains(out, "SILENCED") || !strings.Contains(out, "from the terminal") || !strings.Contains(out, "UNSILENCED") {
		t.Fatalf("alarm history: %v\n%s", err, out)
	}

	// The operator logs in to the alarm's page and acknowledges it.
	if err := tab.Do(
		chromedp.Navigate(s.url("/console/alarms/busy")),
		chromedp.WaitVisible(chromedp.CSS(`form.login input[name="name"]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name="name"]`), "oli"),
		chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), "operator-passphrase-alarms"),
		chromedp.Submit(chromedp.CSS(`form.login`)),
		chromedp.WaitVisible(chromedp.CSS(`#alarm-state`)),
	); err != nil {
		t.Fatalf("logging in to the alarm's page: %v (page errors: %v)", err, tab.Errors())
	}
	waitText(t, tab, "the alarm's page shows ALARM", "#alarm-state", "ALARM", time.Minute)
	if err := tab.Do(
		chromedp.Click(chromedp.CSS(`#acknowledge-busy`)),
		chromedp.WaitVisible(chromedp.CSS(`#ack-comment-busy`)),
		chromedp.SendKeys(chromedp.CSS(`#ack-comment-busy`), "on it <now>"),
		chromedp.Click(chromedp.CSS(`#acknowledge-submit-busy`)),
	); err != nil {
		t.Fatalf("acknowledging: %v", err)
	}
	waitText(t, tab, "the page shows the acknowledgement", ".alarm-actions", "Acknowledged by oli", 30*time.Second)

	// From the list, a silence with a comment.
	if err := tab.Do(
		chromedp.Navigate(s.url("/console/alarms")),
		chromedp.WaitVisible(chromedp.CSS(`#list`)),
		chromedp.Click(chromedp.CSS(`#silence-busy`)),
		chromedp.WaitVisible(chromedp.CSS(`#silence-comment-busy`)),
		chromedp.SetValue(chromedp.CSS(`#silence-for-busy`), "14400"),
		chromedp.SendKeys(chromedp.CSS(`#silence-comment-busy`), "encoder maintenance"),
		chromedp.Click(chromedp.CSS(`#silence-submit-busy`)),
	); err != nil {
		t.Fatalf("silencing from the list: %v", err)
	}
	waitText(t, tab, "the list shows the silence", "#list", "Silenced until", 30*time.Second)
	out, err := cli("", "alarm", "get", "busy")
	if err != nil || !strings.Contains(out, "by oli") || !strings.Contains(out, "encoder maintenance") {
		t.Fatalf("the alarm after the console's silence: %v\n%s", err, out)
	}

	// The alarm's page shows both, and its history who did what.
	if err := tab.Do(chromedp.Navigate(s.url("/console/alarms/busy")), chromedp.WaitVisible(chromedp.CSS(`#unsilence-busy`))); err != nil {
		t.Fatal(err)
	}
	waitText(t, tab, "the history names the operator", "#alarm-history", "encoder maintenance", 30*time.Second)
	waitText(t, tab, "the history shows the escaped comment", "#alarm-history", "on it <now>", 30*time.Second)
	if err := os.MkdirAll(screenshotDir, 0o755); err != nil {
		t.Fatal(err)
	}
	shoot(t, tab, "alarm.png")
	if err := tab.Do(
		chromedp.Click(chromedp.CSS(`#unsilence-busy`)),
		chromedp.WaitVisible(chromedp.CSS(`#confirm-yes`)),
		chromedp.Click(chromedp.CSS(`#confirm-yes`)),
	); err != nil {
		t.Fatalf("ending the silence: %v", err)
	}
	poll.Until(t, "the silence has ended", 30*time.Second, func() (bool, string) {
		ctx, cancel := context.WithTimeout(tab.Context(), 5*time.Second)
		defer cancel()
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#unsilence-busy").length`))
		return err == nil && n == 0, fmt.Sprint(n, err)
	})
	waitText(t, tab, "the history shows the end of the silence", "#alarm-history", "UNSILENCED", 30*time.Second)
	if out, err := cli("", "alarm", "history", "busy"); err != nil || strings.Count(out, "oli") < 3 {
		t.Errorf("the history after the console: %v\n%s", err, out)
	}
	if errs := tab.Errors(); len(errs) > 0 {
		t.Errorf("the console's pages reported errors: %s", strings.Join(errs, "\n"))
	}
}
