package resource

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// MaxSilence is the longest an alarm may be silenced for: a silence
// meant to last for ever is better done by changing or deleting the
// alarm.
const MaxSilence = 90 * 24 * time.Hour

// MaxAlarmComment bounds the comment of a silence or an acknowledgement,
// in characters.
const MaxAlarmComment = 500

// AlarmSilence keeps an alarm's actions (its own, and the rules' on its
// state changes) from running until Until. The alarm is still evaluated,
// changes state and keeps its history; an alarm still in ALARM when the
// silence ends, having gone there while silenced, runs its alarm actions
// then unless it was acknowledged.
type AlarmSilence struct {
	Until time.Time `json:"until"`
	// By is who silenced the alarm, At when, Comment why.
	By      string    `json:"by"`
	At      time.Time `json:"at"`
	Comment string    `json:"comment,omitempty"`
}

// Active reports whether the silence holds at t.
func (s *AlarmSilence) Active(t time.Time) bool { return s != nil && t.Before(s.Until) }

// AlarmAcknowledgement says someone is on an alarm in ALARM: the alarm
// does not notify again while it stays there. It ends when the alarm
// leaves ALARM.
type AlarmAcknowledgement struct {
	By      string    `json:"by"`
	At      time.Time `json:"at"`
	Comment string    `json:"comment,omitempty"`
}

// SilenceRequest silences an alarm until a time or for a number of
// seconds from now, one of the two.
type SilenceRequest struct {
	// Until is an RFC 3339 time.
	Until           string `json:"until,omitempty"`
	DurationSeconds int64  `json:"durationSeconds,omitempty"`
	Comment         string `json:"comment,omitempty"`
}

// End checks the request and returns when the silence it asks for ends,
// seen at now: after now, at most MaxSilence later.
func (r SilenceRequest) End(now time.Time) (time.Time, error) {
	var errs FieldErrors
	var end time.Time
	switch {
	case r.Until != "" && r.DurationSeconds != 0:
		errs.Add("until", "give either until or durationSeconds, not both")
	case r.Until != "":
		t, err := time.Parse(time.RFC3339, r.Until)
		switch {
		case err != nil:
			errs.Add("until", "must be an RFC 3339 time such as 2026-12-01T09:00:00Z")
		case !t.After(now):
			errs.Add("until", fmt.Sprintf("%s has passed: a silence ends in the future", r.Until))
		case t.Sub(now) > MaxSilence:
			errs.Add("until", fmt.Sprintf("is more than %d days away: silence an alarm for at most %d days", MaxSilence/(24*time.Hour), MaxSilence/(24*time.Hour)))
		default:
			end = t.UTC()
		}
	case r.DurationSeconds < 0 || r.DurationSeconds > int64(MaxSilence/time.Second):
		errs.Add("durationSeconds", fmt.Sprintf("must be from 1 to %d (%d days)", int64(MaxSilence/time.Second), MaxSilence/(24*time.Hour)))
	case r.DurationSeconds > 0:
		end = now.Add(time.Duration(r.DurationSeconds) * time.Second).UTC()
	default:
		errs.Add("until", "a silence needs its end: until (an RFC 3339 time) or durationSeconds")
	}
	checkComment(&errs, r.Comment)
	if err := errs.Err(); err != nil {
		return time.Time{}, err
	}
	return end, nil
}

// AcknowledgeRequest acknowledges an alarm in ALARM.
type AcknowledgeRequest struct {
	Comment string `json:"comment,omitempty"`
}

// Validate checks the request.
func (r AcknowledgeRequest) Validate() error {
	var errs FieldErrors
	checkComment(&errs, r.Comment)
	return errs.Err()
}

// UnsilenceRequest ends a silence before its time; its body is optional.
type UnsilenceRequest struct {
	Comment string `json:"comment,omitempty"`
}

// Validate checks the request.
func (r UnsilenceRequest) Validate() error {
	var errs FieldErrors
	checkComment(&errs, r.Comment)
	return errs.Err()
}

// checkComment refuses a comment that is too long, not UTF-8 or holds
// control characters (a comment is one line of text).
func checkComment(errs *FieldErrors, c string) {
	switch {
	case !utf8.ValidString(c):
		errs.Add("comment", "must be UTF-8 text")
	case utf8.RuneCountInString(c) > MaxAlarmComment:
		errs.Add("comment", fmt.Sprintf("is %d characters long: at most %d", utf8.RuneCountInString(c), MaxAlarmComment))
	case strings.ContainsFunc(c, unicode.IsControl):
		errs.Add("comment", "must be one line of text, without control characters")
	}
}
