package event_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/event"
	"github.com/sluice-video/sluice/internal/metrics"
	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/testutil/poll"
)

// The metrics registry counts what the bus and the webhooks do.
var (
	_ event.BusMetrics     = (*metrics.Metrics)(nil)
	_ event.WebhookMetrics = (*metrics.Metrics)(nil)
)

func TestBusAndWebhooksReportMetrics(t *testing.T) {
	m := metrics.New(metrics.Config{})
	bus := event.NewBus(event.BusConfig{Metrics: m})
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
	}))
	defer hook.Close()
	d := event.NewDeliverer(event.WebhookConfig{Metrics: m, MaxAttempts: 2, Backoff: time.Millisecond})
	defer d.Close(context.Background())
	e := bus.Publish(resource.Event{Type: resource.EventChannelCreated})
	d.Enqueue(event.Webhook{URL: hook.URL}, e)
	poll.UntilTrue(t, "two attempts", 20*time.Second, func() bool { return len(d.Log(hook.URL, 0)) >= 2 })
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`sluice_events_published_total{type="channel.created"} 1`,
		`sluice_webhook_attempts_total{result="server_error"} 2`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
