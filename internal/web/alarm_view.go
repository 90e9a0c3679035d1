package web

import (
	"time"

	"github.com/sluice-video/sluice/internal/resource"
)

// alarmRow is what the console's alarm actions need of one alarm: its
// state, its silence and acknowledgement, and what the caller may do.
type alarmRow struct {
	Ref   string
	State string
	// Silenced and SilencedUntil: whether a silence holds, until when
	// (RFC 3339, for the page's script to show in the reader's time).
	Silenced       bool
	SilencedUntil  string
	SilencedBy     string
	Acknowledged   bool
	AcknowledgedBy string

	CanSilence, CanUnsilence, CanAcknowledge bool
}

func newAlarmRow(a resource.Alarm, cp *consolePage) alarmRow {
	row := alarmRow{
		Ref: a.Name, State: string(a.State),
		CanSilence: cp.Can["silence"], CanUnsilence: cp.Can["unsilence"], CanAcknowledge: cp.Can["acknowledge"],
	}
	if s := a.Silence; s != nil {
		row.Silenced, row.SilencedUntil, row.SilencedBy = true, s.Until.UTC().Format(time.RFC3339), s.By
	}
	if k := a.Acknowledgement; k != nil {
		row.Acknowledged, row.AcknowledgedBy = true, k.By
	}
	return row
}

// silenceChoices are the durations the silence form offers, in seconds.
func silenceChoices() []silenceChoice {
	return []silenceChoice{
		{900, "15 minutes"}, {3600, "1 hour"}, {4 * 3600, "4 hours"}, {8 * 3600, "8 hours"},
		{24 * 3600, "1 day"}, {7 * 24 * 3600, "7 days"},
	}
}

type silenceChoice struct {
	Seconds int
	Label   string
}
