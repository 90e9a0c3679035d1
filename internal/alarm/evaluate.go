package alarm

import (
	"context"
	"fmt"
	"maps"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-video/sluice/internal/metrics"
	"github.com/sluice-video/sluice/internal/resource"
)

// datapoint is the statistic of one evaluated period; ok is false for a
// period without data.
type datapoint struct {
	value float64
	ok    bool
}

// outcome is what one evaluation concluded.
type outcome struct {
	state  resource.AlarmState
	reason string
	keep   bool // ignore: too little data, the state stays as it is
}

// Evaluate evaluates every alarm at now over the last EvaluationPeriods
// complete periods, and applies the transitions. It first ends the
// silences whose time has come, and after a transition-free evaluation of
// an alarm in ALARM runs the reminder it owes (see remind).
func (e *Evaluator) Evaluate(now time.Time) {
	e.evalMu.Lock()
	defer e.evalMu.Unlock()
	e.mu.Lock()
	type job struct {
		alarm   resource.Alarm
		version uint64
	}
	jobs := make([]job, 0, len(e.alarms))
	for _, en := range e.alarms {
		jobs = append(jobs, job{en.alarm, en.version})
	}
	e.mu.Unlock()
	sort.Slice(jobs, func(i, j int) bool { return jobs[i].alarm.Name < jobs[j].alarm.Name })

	for _, j := range jobs {
		if s := j.alarm.Silence; s != nil && !s.Active(now) {
			e.endSilence(j.alarm.ID, s)
		}
		dps, err := e.datapoints(j.alarm, now)
		if err != nil {
			e.logger.Warn("evaluating alarm", "alarm", j.alarm.Name, "error", err)
			continue
		}
		out := decide(&j.alarm.AlarmSpec, dps, j.alarm.State)
		if out.keep || out.state == j.alarm.State {
			e.remind(j.alarm.ID, now)
			continue
		}
		ch := resource.AlarmChange{At: now, Type: resource.AlarmStateChanged, From: j.alarm.State, To: out.state, Reason: out.reason}
		e.mu.Lock()
		en := e.alarms[j.alarm.ID]
		if en == nil || en.version != j.version {
			// Removed or replaced while evaluating: the next evaluation
			// sees the new alarm.
			e.mu.Unlock()
			continue
		}
		en.alarm.State, en.alarm.StateReason, en.alarm.StateChangedAt = ch.To, ch.Reason, ch.At
		if ch.To != resource.AlarmAlarm {
			// An acknowledgement lasts while the alarm stays in ALARM.
			en.alarm.Acknowledgement = nil
		}
		silenced := en.alarm.Silence.Active(now)
		en.notified = time.Time{}
		if ch.To == resource.AlarmAlarm && !silenced {
			en.notified = now
		}
		e.record(en, ch)
		a := en.alarm
		e.mu.Unlock()
		e.apply(a, ch, silenced)
	}
}

// record appends a change to the history kept in memory; e.mu is held.
func (e *Evaluator) record(en *entry, ch resource.AlarmChange) {
	en.history = append(en.history, ch)
	if len(en.history) > e.cfg.HistoryLimit {
		en.history = en.history[len(en.history)-e.cfg.HistoryLimit:]
	}
}

// apply persists a transition, publishes it and, unless the alarm is
// silenced, runs the actions of its new state. The event of a silenced
// alarm's transition says so (detail silenced=true), and rules do not act
// on it either.
func (e *Evaluator) apply(a resource.Alarm, ch resource.AlarmChange, silenced bool) {
	e.logger.Info("alarm state changed", "alarm", a.Name, "from", ch.From, "to", ch.To, "reason", ch.Reason, "silenced", silenced)
	e.save(a, ch)
	ev := Event(a, ch)
	if silenced {
		until := a.Silence.Until.UTC().Format(time.RFC3339)
		ev.Detail["silenced"] = "true"
		ev.Detail["silencedUntil"] = until
		ev.Message += " (silenced until " + until + ": no action runs)"
	}
	e.publish(ev)
	if silenced {
		e.logger.Info("alarm actions suppressed: the alarm is silenced", "alarm", a.Name, "until", a.Silence.Until, "by", a.Silence.By)
		return
	}
	var actions []resource.Action
	switch ch.To {
	case resource.AlarmAlarm:
		actions = a.AlarmActions
	case resource.AlarmOK:
		actions = a.OKActions
	case resource.AlarmInsufficientData:
		actions = a.InsufficientDataActions
	}
	e.runActions(a, actions, ev)
}

// save persists an alarm's status and a change of its history.
func (e *Evaluator) save(a resource.Alarm, ch resource.AlarmChange) {
	if e.cfg.Store == nil {
		return
	}
	if err := e.cfg.Store.SaveAlarmChange(context.Background(), a, ch); err != nil {
		e.logger.Error("saving alarm state", "alarm", a.Name, "change", ch.Type, "error", err)
	}
}

func (e *Evaluator) publish(ev resource.Event) {
	if e.cfg.Publish != nil {
		e.cfg.Publish(ev)
	}
}

// runActions runs actions for an event, each within the action timeout.
func (e *Evaluator) runActions(a resource.Alarm, actions []resource.Action, ev resource.Event) {
	if e.cfg.Actions == nil {
		return
	}
	for _, act := range actions {
		actx, cancel := context.WithTimeout(context.Background(), e.cfg.ActionTimeout)
		err := e.cfg.Actions.Run(actx, act, ev)
		cancel()
		if err != nil {
			e.logger.Warn("alarm action failed", "alarm", a.Name, "action", act.Type, "error", err)
		}
	}
}

// Event returns the alarm.state_changed event of a transition. Its detail
// holds the alarm's labels (so rules can match channel=news and channel
// actions find their channel) and alarm, alarmId, metric, from, to.
func Event(a resource.Alarm, ch resource.AlarmChange) resource.Event {
	detail := details(a)
	detail["from"] = string(ch.From)
	detail["to"] = string(ch.To)
	return resource.Event{
		At:       ch.At,
		Type:     resource.EventAlarmStateChanged,
		Resource: "alarm/" + a.Name,
		Detail:   detail,
		Message:  fmt.Sprintf("Alarm %s changed from %s to %s: %s", a.Name, ch.From, ch.To, ch.Reason),
	}
}

// details are the detail fields every event of an alarm has: its labels,
// alarm, alarmId and metric.
func details(a resource.Alarm) map[string]string {
	detail := maps.Clone(a.Labels)
	if detail == nil {
		detail = map[string]string{}
	}
	detail["alarm"] = a.Name
	detail["alarmId"] = a.ID
	detail["metric"] = a.Metric
	return detail
}

// datapoints queries the statistic of the last EvaluationPeriods complete
// periods before now, oldest first. When several series match, each
// period's datapoint is the worst of them: the highest for a greater-than
// comparison, the lowest for a less-than one.
func (e *Evaluator) datapoints(a resource.Alarm, now time.Time) ([]datapoint, error) {
	p := a.Period()
	n := a.EvaluationPeriods
	end := alignDown(now, p)
	start := end.Add(-time.Duration(n) * p)
	res, err := e.cfg.Metrics.Query(metrics.Query{
		Name: a.Metric, Labels: a.Labels, Stat: a.Statistic, Period: p,
		From: start, To: end, Rate: true,
	})
	if err != nil {
		return nil, err
	}
	dps := make([]datapoint, n)
	higher := a.Comparison == resource.GreaterThan || a.Comparison == resource.GreaterThanOrEqual
	for _, s := range res.Series {
		for _, pt := range s.Points {
			i := int(pt.Time.Sub(start) / p)
			if i < 0 || i >= n || pt.Samples == 0 {
				continue
			}
			d := &dps[i]
			if !d.ok || (higher && pt.Value > d.value) || (!higher && pt.Value < d.value) {
				*d = datapoint{value: pt.Value, ok: true}
			}
		}
	}
	return dps, nil
}

func alignDown(t time.Time, p time.Duration) time.Time {
	ns := t.UnixNano()
	r := ns % int64(p)
	if r < 0 {
		r += int64(p)
	}
	return time.Unix(0, ns-r).UTC()
}

// breaches reports whether a value is on the alarm side of the threshold.
func breaches(cmp string, v, threshold float64) bool {
	switch cmp {
	case resource.GreaterThanOrEqual:
		return v >= threshold
	case resource.GreaterThan:
		return v > threshold
	case resource.LessThan:
		return v < threshold
	case resource.LessThanOrEqual:
		return v <= threshold
	}
	return false
}

// decide applies the M-of-N rule and the missing-data treatment to the
// datapoints of the evaluated periods (oldest first):
//
//   - missing: periods without data are skipped. With none at all the alarm
//     goes INSUFFICIENT_DATA; with fewer datapoints than DatapointsToAlarm,
//     every one of them must breach (as CloudWatch does).
//   - ignore: periods without data are skipped, and unless at least
//     DatapointsToAlarm datapoints exist the state stays as it is.
//   - breaching: a period without data breaches.
//   - notBreaching: a period without data does not breach.
func decide(a *resource.AlarmSpec, dps []datapoint, current resource.AlarmState) outcome {
	n := len(dps)
	m := a.Datapoints()
	if m <= 0 || m > n {
		m = n
	}
	present, breaching := 0, 0
	for _, d := range dps {
		if d.ok {
			present++
			if breaches(a.Comparison, d.value, a.Threshold) {
				breaching++
			}
		}
	}
	missing := n - present
	treat := a.TreatMissingData
	if treat == "" {
		treat = resource.MissingMissing
	}
	need := m
	counted := breaching
	switch treat {
	case resource.MissingBreaching:
		counted += missing
	case resource.MissingNotBreaching:
	case resource.MissingIgnore:
		if present < m {
			return outcome{state: current, keep: true}
		}
	default:
		if present == 0 {
			return outcome{state: resource.AlarmInsufficientData, reason: insufficientReason(a, n)}
		}
		need = min(m, present)
	}
	state := resource.AlarmOK
	if counted >= need {
		state = resource.AlarmAlarm
	}
	return outcome{state: state, reason: thresholdReason(a, dps, counted, need, treat, state)}
}

var comparisonWords = map[string]string{
	resource.GreaterThanOrEqual: "greater than or equal to",
	resource.GreaterThan:        "greater than",
	resource.LessThan:           "less than",
	resource.LessThanOrEqual:    "less than or equal to",
}

// thresholdReason says in words why the alarm is in ALARM or OK, e.g.
// "Threshold crossed: 3 of the last 3 datapoints [0.81, 0.79, 0.83] were
// less than the threshold 0.95".
func thresholdReason(a *resource.AlarmSpec, dps []datapoint, counted, need int, treat resource.MissingData, state resource.AlarmState) string {
	var b strings.Builder
	if state == resource.AlarmAlarm {
		b.WriteString("Threshold crossed: ")
	} else {
		b.WriteString("Threshold not crossed: ")
	}
	verb := "were"
	if counted == 1 {
		verb = "was"
	}
	vals := make([]string, len(dps))
	missing := 0
	for i, d := range dps {
		if d.ok {
			vals[i] = formatValue(d.value)
		} else {
			vals[i] = "no data"
			missing++
		}
	}
	fmt.Fprintf(&b, "%d of the last %d datapoints [%s] %s %s the threshold %s",
		counted, len(dps), strings.Join(vals, ", "), verb, comparisonWords[a.Comparison], formatValue(a.Threshold))
	if missing > 0 {
		switch treat {
		case resource.MissingBreaching:
			b.WriteString(" (periods without data count as breaching)")
		case resource.MissingNotBreaching:
			b.WriteString(" (periods without data count as not breaching)")
		default:
			b.WriteString(" (periods without data are skipped)")
		}
	}
	if state == resource.AlarmOK {
		fmt.Fprintf(&b, "; %d needed to alarm", need)
	}
	return b.String()
}

func insufficientReason(a *resource.AlarmSpec, n int) string {
	periods := "periods"
	if n == 1 {
		periods = "period"
	}
	return fmt.Sprintf("Insufficient data: no datapoints of %s in the last %d %s of %s", selector(a.Metric, a.Labels), n, periods, promDuration(a.Period()))
}

// selector renders a metric and labels as name{k="v",...}.
func selector(name string, labels map[string]string) string {
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
		parts[i] = k + "=" + strconv.Quote(labels[k])
	}
	return name + "{" + strings.Join(parts, ",") + "}"
}

// formatValue prints a datapoint with at most four decimals.
func formatValue(v float64) string {
	if math.Abs(v) >= 1e15 || (v != 0 && math.Abs(v) < 1e-4) {
		return strconv.FormatFloat(v, 'g', 4, 64)
	}
	return strconv.FormatFloat(math.Round(v*1e4)/1e4, 'f', -1, 64)
}
