package cli

import (
	"errors"
	"strings"
	"testing"

	"github.com/sluice-video/sluice/internal/resource"
)

func TestReadSSE(t *testing.T) {
	body := "retry: 2000\n\n: heartbeat\n\n" +
		"id: 7\nevent: channel.created\ndata: {\"seq\":7,\"type\":\"channel.created\",\"message\":\"a\"}\n\n" +
		"id: 8\nevent: channel.state_changed\ndata: {\"seq\":8,\n" +
		"data: \"type\":\"channel.state_changed\",\"detail\":{\"to\":\"IDLE\"}}\n\n"
	var got []resource.Event
	if err := readSSE(strings.NewReader(body), func(e resource.Event) error { got = append(got, e); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Seq != 7 || got[1].Detail["to"] != "IDLE" {
		t.Errorf("events: %+v", got)
	}
	err := readSSE(strings.NewReader("data: {nope\n\n"), func(resource.Event) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "unreadable event") {
		t.Errorf("bad data: %v", err)
	}
	stop := errors.New("stop")
	if err := readSSE(strings.NewReader(body), func(resource.Event) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("callback error: %v", err)
	}
}

func FuzzReadSSE(f *testing.F) {
	f.Add([]byte("id: 1\nevent: x\ndata: {\"seq\":1}\n\n"))
	f.Add([]byte("data: [1,2]\n\ndata:\n\n: c\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_ = readSSE(strings.NewReader(string(data)), func(resource.Event) error { return nil })
	})
}

func TestDescribe(t *testing.T) {
	a := resource.AlarmSpec{Metric: "sluice_encoder_speed_ratio", Labels: map[string]string{"pipeline": "0", "channel": "news"},
		Statistic: "avg", PeriodSeconds: 60, EvaluationPeriods: 5, DatapointsToAlarm: 3, Threshold: 0.9, Comparison: resource.LessThan}
	if got, want := condition(a), "avg of sluice_encoder_speed_ratio{channel=news,pipeline=0} < 0.9 for 3 of 5 periods of 1m0s"; got != want {
		t.Errorf("condition: %s, want %s", got, want)
	}
	r := resource.RuleSpec{Event: "channel.created", Match: map[string]string{"channel": "lilo"}}
	if got := pattern(r); got != "channel.created where channel=lilo" {
		t.Errorf("pattern: %s", got)
	}
	if got := describeAction(resource.Action{Type: resource.ActionStartChannel}); got != "start the channel of the event" {
		t.Errorf("action: %s", got)
	}
}
