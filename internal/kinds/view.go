package kinds

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-video/sluice/internal/resource"
)

// View is how the CLI lists and shows a kind: the columns of its list
// command and the lines of its get command.
type View[R any] struct {
	// Arg names one resource in the get command's usage: "INPUT".
	Arg string
	// ListHelp and GetHelp are the list and get commands' short help.
	ListHelp, GetHelp string
	// Columns are the list's columns.
	Columns []Column[R]
	// Detail is what get shows, one field a line, given the server's URL
	// (for the addresses a resource is served at); nil shows the resource
	// as JSON.
	Detail func(r R, server string) []Field
}

// Column is one column of a list.
type Column[R any] struct {
	Title string
	Value func(R) string
}

// Field is one line of a get: "Name:  news".
type Field struct {
	Key, Value string
}

// fields collects the lines of a get.
type fields []Field

func (f *fields) add(k, v string) { *f = append(*f, Field{k, v}) }

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func ago(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := time.Since(t).Round(time.Second)
	return t.Local().Format("15:04:05") + " (" + d.String() + " ago)"
}

// at is a time as the views show one: local, to the second.
func at(t time.Time) string { return t.Local().Format("2006-01-02 15:04:05") }

// silencedUntil says until when an alarm is silenced, "-" when it is not.
func silencedUntil(s *resource.AlarmSilence) string {
	if s == nil {
		return "-"
	}
	return "until " + at(s.Until)
}

// acknowledgedBy says who acknowledged an alarm, "-" when nobody did.
func acknowledgedBy(k *resource.AlarmAcknowledgement) string {
	if k == nil {
		return "-"
	}
	return "by " + k.By
}

// withNote adds a comment to a description.
func withNote(s, note string) string {
	if note == "" {
		return s
	}
	return s + ": " + note
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func orDefault(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// source says where an input's media comes from.
func source(in resource.Input) string {
	switch {
	case in.Type == resource.InputTestPattern:
		p := in.TestPattern.WithDefaults()
		return fmt.Sprintf("colour bars %dx%d@%g, %d Hz tone", p.Width, p.Height, p.FPS, p.ToneHz)
	case in.Type.IsPush():
		if in.Live != nil && in.Live.Connected {
			return "connected: " + in.Live.Publisher
		}
		return "waiting for a publisher"
	}
	return in.URL
}

// describeLive says who publishes and what.
func describeLive(l resource.LiveStatus) string {
	if !l.Connected {
		return fmt.Sprintf("not connected (%.0f s since the last media)", l.SinceLastMedia)
	}
	return fmt.Sprintf("connected from %s over %s since %s: %s %dx%d, %s",
		l.Publisher, l.Protocol, l.Since.Local().Format("15:04:05"), l.Video, l.Width, l.Height, dash(l.Audio))
}

// attachment says which inputs a channel reads.
func attachment(ch resource.Channel) string {
	var parts []string
	for _, a := range ch.InputAttachments {
		switch {
		case a.SecondaryInput != "":
			// A failover pair is made of live inputs, which have no end.
			parts = append(parts, fmt.Sprintf("%s, failing over to %s", a.Input, a.SecondaryInput))
		case a.SourceEndBehavior != "":
			parts = append(parts, fmt.Sprintf("%s (%s at the end)", a.Input, a.SourceEndBehavior))
		default:
			parts = append(parts, a.Input)
		}
	}
	return dash(strings.Join(parts, ", "))
}

// ladder names a channel's ladder, or its rungs.
func ladder(ch resource.Channel) string {
	if ch.Encoder.Ladder != "" {
		return ch.Encoder.Ladder
	}
	var rungs []string
	for _, v := range ch.Encoder.Video {
		rungs = append(rungs, v.Name)
	}
	return dash(strings.Join(rungs, "/"))
}

// condition says an alarm's condition in one line:
// "p90 of sluice_x{channel=news} > 2 for 3 of 5 periods of 1m0s".
func condition(a resource.AlarmSpec) string {
	return fmt.Sprintf("%s of %s %s %s for %d of %d periods of %s",
		a.Statistic, labelled(a.Metric, a.Labels), comparisonSign(a.Comparison),
		strconv.FormatFloat(a.Threshold, 'g', -1, 64), a.Datapoints(), a.EvaluationPeriods, a.Period())
}

func labelled(name string, labels map[string]string) string {
	if len(labels) == 0 {
		return name
	}
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + labels[k]
	}
	return name + "{" + strings.Join(parts, ",") + "}"
}

func comparisonSign(c string) string {
	switch c {
	case resource.GreaterThanOrEqual:
		return ">="
	case resource.GreaterThan:
		return ">"
	case resource.LessThan:
		return "<"
	case resource.LessThanOrEqual:
		return "<="
	}
	return c
}

func orMissing(m resource.MissingData) resource.MissingData {
	if m == "" {
		return resource.MissingMissing
	}
	return m
}

// describeAction says what an action does.
func describeAction(a resource.Action) string {
	switch a.Type {
	case resource.ActionWebhook:
		s := "webhook " + a.URL
		if a.Secret != "" {
			s += " (signed)"
		}
		return s
	case resource.ActionStartChannel, resource.ActionStopChannel, resource.ActionRestartChannel:
		verb := strings.ToLower(strings.TrimSuffix(a.Type, "_CHANNEL"))
		if a.Channel == "" {
			return verb + " the channel of the event"
		}
		return verb + " channel " + a.Channel
	case resource.ActionSubmitJob:
		if a.Input == "" {
			return "submit the event's input to pipeline " + a.Pipeline
		}
		return "submit " + a.Input + " to pipeline " + a.Pipeline
	}
	return a.Type
}

// pattern says what events a rule matches: "channel.created where channel=news".
func pattern(r resource.RuleSpec) string {
	if len(r.Match) == 0 {
		return r.Event
	}
	return r.Event + " where " + strings.TrimSuffix(strings.TrimPrefix(labelled("", r.Match), "{"), "}")
}
