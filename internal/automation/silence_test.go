package automation

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/resource"
)

// TestSilenceAndAcknowledgementSurviveARestart: an alarm in ALARM,
// acknowledged and silenced through the service, is both after the
// server restarts on the same store, with who did it and why in its
// history; its update keeps both; the silence ends at its time.
func TestSilenceAndAcknowledgementSurviveARestart(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a := f.createAlarm(t, "ops", "news-slow", 0.9)
	f.slowEncoder()
	_ = f.actions.take()
	if _, err := f.svc.AcknowledgeAlarm(ctx, "news-slow", "oli", resource.AcknowledgeRequest{Comment: "on it"}); err != nil {
		t.Fatal(err)
	}
	got, err := f.svc.SilenceAlarm(ctx, a.ID, "ana", resource.SilenceRequest{DurationSeconds: 3600, Comment: "encoder work"})
	if err != nil {
		t.Fatal(err)
	}
	until := t0.Add(12*time.Second + time.Hour)
	if got.Silence == nil || !got.Silence.Until.Equal(until) || got.Silence.By != "ana" || got.Acknowledgement == nil || got.Acknowledgement.By != "oli" || got.Stack != "ops" {
		t.Fatalf("silenced and acknowledged: %+v", got)
	}
	if _, err := f.svc.UpdateAlarm(ctx, "news-slow", "ops", alarmSpec(t, "news-slow", 0.8)); err != nil {
		t.Fatal(err)
	}

	f.restart(t)
	got, err = f.svc.GetAlarm(ctx, "news-slow")
	if err != nil {
		t.Fatal(err)
	}
	if got.State != resource.AlarmAlarm || got.Threshold != 0.8 || got.Silence == nil || !got.Silence.Until.Equal(until) || got.Silence.Comment != "encoder work" ||
		got.Acknowledgement == nil || got.Acknowledgement.By != "oli" || got.Acknowledgement.Comment != "on it" {
		t.Fatalf("after a restart: %+v (silence %+v, acknowledgement %+v)", got, got.Silence, got.Acknowledgement)
	}
	list, err := f.svc.ListAlarms(ctx)
	if err != nil || len(list) != 1 || list[0].Silence == nil || list[0].Acknowledgement == nil {
		t.Fatalf("ListAlarms: %+v %v", list, err)
	}
	h, err := f.svc.AlarmHistory(ctx, "news-slow", 0)
	if err != nil {
		t.Fatal(err)
	}
	var what []string
	for _, c := range h {
		what = append(what, c.Type+" "+c.By+" "+c.Comment)
	}
	if want := []string{"SILENCED ana encoder work", "ACKNOWLEDGED oli on it", "STATE_CHANGED  "}; !slices.Equal(what, want) {
		t.Fatalf("history %q, want %q", what, want)
	}

	// After its time the silence ends; acknowledged, the alarm does not
	// notify (and, its metric without data now, goes to INSUFFICIENT_DATA,
	// which has no action).
	end := until.Add(2 * time.Second)
	f.clock.set(end)
	f.alarms.Evaluate(end)
	if got, _ := f.svc.GetAlarm(ctx, "news-slow"); got.Silence != nil {
		t.Fatalf("the silence outlived its time: %+v", got.Silence)
	}
	if ran := f.actions.take(); len(ran) != 0 {
		t.Fatalf("actions ran for an acknowledged alarm: %q", ran)
	}
	f.restart(t)
	if got, _ := f.svc.GetAlarm(ctx, "news-slow"); got.Silence != nil {
		t.Fatalf("the ended silence came back with a restart: %+v", got.Silence)
	}
	// The metric has no data any more: the silence's end is recorded at
	// its time, before the evaluation's transition.
	if h, _ := f.svc.AlarmHistory(ctx, "news-slow", 2); len(h) != 2 || h[1].Type != resource.AlarmUnsilenced || !h[1].At.Equal(until) || h[0].To != resource.AlarmInsufficientData {
		t.Fatalf("the silence's end in the history: %+v", h)
	}
}

func TestSilenceRefusals(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.createAlarm(t, "", "news-slow", 0.9)
	_, err := f.svc.SilenceAlarm(ctx, "unknown", "ana", resource.SilenceRequest{DurationSeconds: 60})
	wantErr(t, "silencing an unknown alarm", err, resource.ErrNotFound)
	_, err = f.svc.SilenceAlarm(ctx, "news-slow", "ana", resource.SilenceRequest{})
	wantErr(t, "a silence without its end", err, resource.ErrInvalid)
	_, err = f.svc.UnsilenceAlarm(ctx, "news-slow", "ana", resource.UnsilenceRequest{})
	wantErr(t, "ending a silence that is not", err, resource.ErrConflict)
	_, err = f.svc.AcknowledgeAlarm(ctx, "news-slow", "ana", resource.AcknowledgeRequest{})
	wantErr(t, "acknowledging an alarm in INSUFFICIENT_DATA", err, resource.ErrConflict)
	_, err = f.svc.AcknowledgeAlarm(ctx, "news-slow", "ana", resource.AcknowledgeRequest{Comment: "a\nb"})
	wantErr(t, "a comment of two lines", err, resource.ErrInvalid)
	if h, _ := f.svc.AlarmHistory(ctx, "news-slow", 0); len(h) != 0 {
		t.Fatalf("refusals left history: %+v", h)
	}
}
