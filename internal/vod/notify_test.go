package vod

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/event"
	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/testutil/media"
	"github.com/sluice-video/sluice/internal/testutil/poll"
)

// TestPipelineWebhookIsRetried posts a pipeline's job events to its
// webhook, which fails the first delivery: the delivery is retried, and
// the receiver gets the job's COMPLETE state.
func TestPipelineWebhookIsRetried(t *testing.T) {
	var mu sync.Mutex
	var states []string
	calls := 0
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if calls == 1 {
			http.Error(w, "not yet", http.StatusInternalServerError)
			return
		}
		var e resource.Event
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &e); err != nil || e.Type != resource.EventJobStateChanged {
			t.Errorf("webhook body %s: %v", body, err)
		}
		states = append(states, e.Detail["state"])
	}))
	defer hook.Close()

	dir := t.TempDir()
	s := testService(t, dir)
	ctx := context.Background()
	in := filepath.Join(dir, "hooked-in")
	if err := os.MkdirAll(in, 0o750); err != nil {
		t.Fatal(err)
	}
	sample := media.Sample(t, in, 160, 120, 2)
	if _, err := s.CreatePipeline(ctx, "", Pipeline{Name: "hooked", Input: in, Output: filepath.Join(dir, "hooked-out"), Presets: []string{"test-mp4"}, Notify: hook.URL}); err != nil {
		t.Fatal(err)
	}
	j, err := s.Submit(ctx, SubmitRequest{Pipeline: "hooked", Input: filepath.Base(sample)})
	if err != nil {
		t.Fatal(err)
	}
	if j = waitJob(t, s, j.ID); j.State != StateComplete {
		t.Fatalf("job ended %s: %s", j.State, j.Error)
	}
	var n int
	poll.Until(t, "the webhook to get "+StateComplete, time.Minute, func() (bool, string) {
		mu.Lock()
		got := append([]string(nil), states...)
		n = calls
		mu.Unlock()
		return len(got) > 0 && got[len(got)-1] == StateComplete, fmt.Sprintf("states %v in %d calls", got, n)
	})
	if n < 2 {
		t.Fatalf("%d webhook calls", n)
	}
}

// TestPipelineWebhookIsSigned: a pipeline with a notify secret signs its
// webhook bodies as rule and alarm webhooks are signed; a receiver checks
// them with the documented scheme.
func TestPipelineWebhookIsSigned(t *testing.T) {
	type got struct {
		sig  string
		body []byte
	}
	deliveries := make(chan got, 64)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		deliveries <- got{sig: r.Header.Get(event.SignatureHeader), body: body}
	}))
	defer hook.Close()

	dir := t.TempDir()
	s := testService(t, dir)
	ctx := context.Background()
	in := filepath.Join(dir, "signed-in")
	if err := os.MkdirAll(in, 0o750); err != nil {
		t.Fatal(err)
	}
	sample := media.Sample(t, in, 160, 120, 1)
	p := Pipeline{Name: "signed", Input: in, Output: filepath.Join(dir, "signed-out"), Presets: []string{"test-mp4"}, Notify: hook.URL, NotifySecret: "pipeline-s3cret"}
	if _, err := s.CreatePipeline(ctx, "", p); err != nil {
		t.Fatal(err)
	}
	j, err := s.Submit(ctx, SubmitRequest{Pipeline: "signed", Input: filepath.Base(sample)})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case d := <-deliveries:
		if err := event.Verify("pipeline-s3cret", d.sig, d.body, time.Now(), 5*time.Minute); err != nil {
			t.Fatalf("signature %q: %v", d.sig, err)
		}
		if err := event.Verify("another secret", d.sig, d.body, time.Now(), 0); !errors.Is(err, event.ErrSignatureInvalid) {
			t.Fatalf("a wrong secret: %v", err)
		}
		var e resource.Event
		if err := json.Unmarshal(d.body, &e); err != nil || e.Detail["job"] != j.ID {
			t.Fatalf("body %s: %v", d.body, err)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("no delivery")
	}
	waitJob(t, s, j.ID)
}
