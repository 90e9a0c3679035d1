package kinds

import (
	"testing"

	"github.com/sluice-video/sluice/internal/resource"
)

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
