package e2e

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/apiclient"
	"github.com/sluice-video/sluice/internal/problem"
	"github.com/sluice-video/sluice/internal/testutil/poll"
)

// TestGeneratedClientDrivesTheServer drives a real server through the Go
// client generated from api/openapi.yaml: an input and a channel from
// creation to deletion, the read-only routes, and problems decoded as the
// document says. Its HTTP client also holds every exchange to the
// document (see server.http).
func TestGeneratedClientDrivesTheServer(t *testing.T) {
	t.Parallel()
	s := startServer(t, t.TempDir())
	c, err := apiclient.NewClientWithResponses(s.url(""), apiclient.WithHTTPClient(s.http))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	status := func(what string, resp interface{ StatusCode() int }, err error, want int) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if resp.StatusCode() != want {
			t.Fatalf("%s: %d, want %d", what, resp.StatusCode(), want)
		}
	}

	width, height := 320, 180
	in, err := c.CreateInputWithResponse(ctx, apiclient.InputSpec{
		Name:        "bars",
		Type:        apiclient.InputSpecTypeTESTPATTERN,
		TestPattern: &apiclient.TestPattern{Width: &width, Height: &height},
	})
	status("create input", in, err, http.StatusCreated)
	if in.JSON201 == nil || in.JSON201.Id == "" || in.JSON201.Name != "bars" {
		t.Fatalf("create input answered %s", in.Body)
	}

	ladder, preset := "test-360p", "ultrafast"
	ch, err := c.CreateChannelWithResponse(ctx, apiclient.ChannelSpec{
		Name:             "news",
		InputAttachments: []apiclient.InputAttachment{{Input: "bars"}},
		Encoder:          apiclient.EncoderSettings{Ladder: &ladder, Preset: &preset},
	})
	status("create channel", ch, err, http.StatusCreated)
	if ch.JSON201 == nil || ch.JSON201.State != apiclient.ChannelStateCREATING {
		t.Fatalf("create channel answered %s", ch.Body)
	}

	// Start is queued while the channel is being created.
	started, err := c.StartChannelWithResponse(ctx, "news", apiclient.Empty{})
	status("start", started, err, http.StatusAccepted)
	state := func() apiclient.ChannelState {
		got, err := c.GetChannelWithResponse(ctx, "news")
		status("get channel", got, err, http.StatusOK)
		if got.JSON200 == nil {
			t.Fatalf("get channel answered %s", got.Body)
		}
		return got.JSON200.State
	}
	poll.Until(t, "the channel runs", 90*time.Second, func() (bool, string) {
		st := state()
		return st == apiclient.ChannelStateRUNNING, string(st)
	})

	list, err := c.ListChannelsWithResponse(ctx)
	status("list channels", list, err, http.StatusOK)
	if list.JSON200 == nil || len(*list.JSON200) != 1 || (*list.JSON200)[0].Name != "news" {
		t.Fatalf("list channels answered %s", list.Body)
	}
	hist, err := c.GetChannelHistoryWithResponse(ctx, "news", &apiclient.GetChannelHistoryParams{})
	status("history", hist, err, http.StatusOK)
	if hist.JSON200 == nil || len(*hist.JSON200) < 3 {
		t.Fatalf("history answered %s", hist.Body)
	}

	// Problems decode as the document says.
	missing, err := c.GetChannelWithResponse(ctx, "nope")
	status("get a missing channel", missing, err, http.StatusNotFound)
	if p := missing.ApplicationproblemJSON404; p == nil || p.Type != problem.NotFound.URI() || p.Detail == nil || *p.Detail == "" {
		t.Errorf("a missing channel's problem: %s", missing.Body)
	}
	huge := "huge"
	invalid, err := c.CreateChannelWithResponse(ctx, apiclient.ChannelSpec{
		Name:             "other",
		InputAttachments: []apiclient.InputAttachment{{Input: "bars"}},
		Encoder:          apiclient.EncoderSettings{Ladder: &huge},
	})
	status("create an invalid channel", invalid, err, http.StatusBadRequest)
	if p := invalid.ApplicationproblemJSON400; p == nil || p.Type != problem.Validation.URI() || p.Errors == nil || len(*p.Errors) == 0 || (*p.Errors)[0].Path != "encoder.ladder" {
		t.Errorf("an invalid channel's problem: %s", invalid.Body)
	}
	inUse, err := c.DeleteInputWithResponse(ctx, "bars", apiclient.Empty{})
	status("delete an input in use", inUse, err, http.StatusConflict)
	if p := inUse.ApplicationproblemJSON409; p == nil || p.Type != problem.Conflict.URI() {
		t.Errorf("an input in use's problem: %s", inUse.Body)
	}

	readOnly(ctx, t, c)

	deleted, err := c.DeleteChannelWithResponse(ctx, "news", apiclient.Empty{})
	status("delete channel", deleted, err, http.StatusAccepted)
	poll.Until(t, "the channel is gone", 60*time.Second, func() (bool, string) {
		got, err := c.GetChannelWithResponse(ctx, "news")
		if err != nil {
			return false, err.Error()
		}
		return got.StatusCode() == http.StatusNotFound, got.Status()
	})
	gone, err := c.DeleteInputWithResponse(ctx, "bars", apiclient.Empty{})
	status("delete input", gone, err, http.StatusNoContent)
}

// readOnly reads every collection and the server's own documents
// through the client: each answer is held to the document on the way.
func readOnly(ctx context.Context, t *testing.T, c *apiclient.ClientWithResponses) {
	t.Helper()
	type answer interface{ StatusCode() int }
	check := func(what string, resp answer, err error) {
		t.Helper()
		if err != nil {
			t.Errorf("%s: %v", what, err)
			return
		}
		if resp.StatusCode() != http.StatusOK {
			t.Errorf("%s: %d", what, resp.StatusCode())
		}
	}
	v, err := c.GetVersionWithResponse(ctx)
	check("version", v, err)
	if err == nil && (v.JSON200 == nil || v.JSON200.Version == "") {
		t.Errorf("version answered %s", v.Body)
	}
	doc, err := c.GetOpenAPIJSONWithResponse(ctx)
	check("openapi.json", doc, err)
	if err == nil && (doc.JSON200 == nil || doc.JSON200.Openapi == "") {
		t.Errorf("openapi.json answered %.200s", doc.Body)
	}
	yml, err := c.GetOpenAPIWithResponse(ctx)
	check("openapi.yaml", yml, err)
	lad, err := c.ListLaddersWithResponse(ctx)
	check("ladders", lad, err)
	sg, err := c.ListSecurityGroupsWithResponse(ctx)
	check("security groups", sg, err)
	ins, err := c.ListInputsWithResponse(ctx)
	check("inputs", ins, err)
	al, err := c.ListAlarmsWithResponse(ctx)
	check("alarms", al, err)
	ru, err := c.ListRulesWithResponse(ctx)
	check("rules", ru, err)
	di, err := c.ListDistributionsWithResponse(ctx)
	check("distributions", di, err)
	hv, err := c.ListHarvestJobsWithResponse(ctx)
	check("harvest jobs", hv, err)
	pr, err := c.ListPresetsWithResponse(ctx)
	check("presets", pr, err)
	pi, err := c.ListPipelinesWithResponse(ctx)
	check("pipelines", pi, err)
	jo, err := c.ListJobsWithResponse(ctx, &apiclient.ListJobsParams{})
	check("jobs", jo, err)
	as, err := c.ListAssetsWithResponse(ctx)
	check("assets", as, err)
	ev, err := c.ListEventsWithResponse(ctx, &apiclient.ListEventsParams{})
	check("events", ev, err)
	if err == nil && (ev.JSON200 == nil || len(ev.JSON200.Events) == 0) {
		t.Errorf("events answered %s", ev.Body)
	}
	wh, err := c.ListWebhookDeliveriesWithResponse(ctx, &apiclient.ListWebhookDeliveriesParams{})
	check("webhooks", wh, err)
	mq, err := c.QueryMetricsWithResponse(ctx, &apiclient.QueryMetricsParams{Name: "sluice_encoder_speed_ratio"})
	check("metrics", mq, err)
	labels := fmt.Sprintf("channel:%s", "news")
	mq, err = c.QueryMetricsWithResponse(ctx, &apiclient.QueryMetricsParams{Name: "sluice_encoder_speed_ratio", Labels: &labels})
	check("metrics of a channel", mq, err)
}
