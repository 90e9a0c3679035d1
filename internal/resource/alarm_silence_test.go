package resource

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestSilenceRequestEnd(t *testing.T) {
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name string
		req  SilenceRequest
		want time.Time
		err  string // a part of the field error
	}{
		{"a duration", SilenceRequest{DurationSeconds: 3600, Comment: "maintenance"}, now.Add(time.Hour), ""},
		{"a time", SilenceRequest{Until: "2026-11-22T12:30:00+01:00"}, time.Date(2026, 11, 22, 11, 30, 0, 0, time.UTC), ""},
		{"the longest", SilenceRequest{DurationSeconds: int64(MaxSilence / time.Second)}, now.Add(MaxSilence), ""},
		{"nothing", SilenceRequest{}, time.Time{}, "until: a silence needs its end"},
		{"both", SilenceRequest{Until: "2026-11-22T12:30:00Z", DurationSeconds: 60}, time.Time{}, "not both"},
		{"a past time", SilenceRequest{Until: "2026-11-22T09:00:00Z"}, time.Time{}, "has passed"},
		{"now", SilenceRequest{Until: "2026-11-22T10:00:00Z"}, time.Time{}, "has passed"},
		{"not a time", SilenceRequest{Until: "tomorrow"}, time.Time{}, "RFC 3339"},
		{"too far", SilenceRequest{Until: "2027-11-22T10:00:00Z"}, time.Time{}, "at most 90 days"},
		{"too long", SilenceRequest{DurationSeconds: int64(MaxSilence/time.Second) + 1}, time.Time{}, "durationSeconds: must be from 1"},
		{"negative", SilenceRequest{DurationSeconds: -5}, time.Time{}, "durationSeconds"},
		{"a long comment", SilenceRequest{DurationSeconds: 60, Comment: strings.Repeat("é", MaxAlarmComment+1)}, time.Time{}, "comment: is 501 characters long"},
		{"two lines", SilenceRequest{DurationSeconds: 60, Comment: "a\nb"}, time.Time{}, "one line"},
		{"not UTF-8", SilenceRequest{DurationSeconds: 60, Comment: "\xff"}, time.Time{}, "UTF-8"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.req.End(now)
			if c.err == "" {
				if err != nil || !got.Equal(c.want) || got.Location() != time.UTC {
					t.Errorf("End = %v, %v; want %v", got, err, c.want)
				}
				return
			}
			if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.err) {
				t.Errorf("End = %v, %v; want an invalid request saying %q", got, err, c.err)
			}
		})
	}
	if err := (AcknowledgeRequest{Comment: "on it"}).Validate(); err != nil {
		t.Error(err)
	}
	if err := (AcknowledgeRequest{Comment: "on\tit"}).Validate(); err == nil {
		t.Error("a comment with a tab was taken")
	}
}

func TestRenotifySecondsAreChecked(t *testing.T) {
	spec := AlarmSpec{Name: "a", Metric: "m", Statistic: "avg", PeriodSeconds: 60, EvaluationPeriods: 1, Comparison: LessThan}
	for n, ok := range map[int]bool{0: true, 60: true, 604800: true, 59: false, -1: false, 604801: false} {
		spec.RenotifySeconds = n
		err := spec.Validate()
		if (err == nil) != ok || (err != nil && !strings.Contains(err.Error(), "renotifySeconds")) {
			t.Errorf("renotifySeconds %d: %v", n, err)
		}
	}
}
