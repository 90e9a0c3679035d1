package resource

import (
	"slices"
	"strconv"
	"time"
)

// AlarmState is the state of an alarm.
type AlarmState string

// Alarm states.
const (
	AlarmOK               AlarmState = "OK"
	AlarmAlarm            AlarmState = "ALARM"
	AlarmInsufficientData AlarmState = "INSUFFICIENT_DATA"
)

// MissingData says how an alarm treats periods without datapoints.
type MissingData string

// Missing-data treatments.
const (
	// MissingMissing: periods without data are skipped; with none at all the
	// alarm goes INSUFFICIENT_DATA.
	MissingMissing MissingData = "missing"
	// MissingIgnore: the alarm keeps its current state.
	MissingIgnore MissingData = "ignore"
	// MissingBreaching: a period without data counts as breaching.
	MissingBreaching MissingData = "breaching"
	// MissingNotBreaching: a period without data counts as fine.
	MissingNotBreaching MissingData = "notBreaching"
)

// Comparison operators of an alarm.
const (
	GreaterThanOrEqual = "GreaterThanOrEqualToThreshold"
	GreaterThan        = "GreaterThanThreshold"
	LessThan           = "LessThanThreshold"
	LessThanOrEqual    = "LessThanOrEqualToThreshold"
)

// Statistics an alarm can evaluate over a period.
var Statistics = []string{"avg", "min", "max", "sum", "count", "p90"}

// AlarmSpec declares a threshold alarm on a metric.
type AlarmSpec struct {
	Name string `json:"name"`
	// Metric is a Prometheus metric name Sluice exports, e.g.
	// "sluice_encoder_speed_ratio".
	Metric string `json:"metric"`
	// Labels select the series, e.g. {"channel": "news"}.
	Labels            map[string]string `json:"labels,omitempty"`
	Statistic         string            `json:"statistic"`
	PeriodSeconds     int               `json:"periodSeconds"`
	EvaluationPeriods int               `json:"evaluationPeriods"`
	// DatapointsToAlarm of the last EvaluationPeriods must breach (default all).
	DatapointsToAlarm int         `json:"datapointsToAlarm,omitempty"`
	Threshold         float64     `json:"threshold"`
	Comparison        string      `json:"comparison"`
	TreatMissingData  MissingData `json:"treatMissingData,omitempty"`
	// RenotifySeconds, when not 0, runs the alarm actions again every so
	// many seconds while the alarm stays in ALARM, unless it is
	// acknowledged or silenced.
	RenotifySeconds int `json:"renotifySeconds,omitempty"`
	// Actions run on transitions into the named state.
	AlarmActions            []Action `json:"alarmActions,omitempty"`
	OKActions               []Action `json:"okActions,omitempty"`
	InsufficientDataActions []Action `json:"insufficientDataActions,omitempty"`
}

// Action is something an alarm transition or an event rule does.
type Action struct {
	// Type is WEBHOOK, START_CHANNEL, STOP_CHANNEL, RESTART_CHANNEL or
	// SUBMIT_JOB.
	Type string `json:"type"`
	// URL is the webhook's address; Secret signs its body (HMAC-SHA256).
	// Both are secrets: receivers often authenticate by a token in the
	// URL's query, and the signing secret proves a body came from Sluice.
	URL    string `json:"url,omitempty" secret:"url"`
	Secret string `json:"secret,omitempty" secret:"value"`
	// Channel names the channel of a channel action; empty means the
	// channel the event or the alarm's labels name.
	Channel string `json:"channel,omitempty"`
	// Pipeline, Input and Presets make the on-demand job of SUBMIT_JOB:
	// Input is the object key under the pipeline's input location; empty
	// takes the event's detail "input" (or "key").
	Pipeline string   `json:"pipeline,omitempty"`
	Input    string   `json:"input,omitempty"`
	Presets  []string `json:"presets,omitempty"`
}

// Action types.
const (
	ActionWebhook        = "WEBHOOK"
	ActionStartChannel   = "START_CHANNEL"
	ActionStopChannel    = "STOP_CHANNEL"
	ActionRestartChannel = "RESTART_CHANNEL"
	ActionSubmitJob      = "SUBMIT_JOB"
)

// Alarm is an alarm as the server keeps it.
type Alarm struct {
	ID    string `json:"id"`
	Stack string `json:"stack,omitempty"`
	AlarmSpec
	State          AlarmState `json:"state"`
	StateReason    string     `json:"stateReason"`
	StateChangedAt time.Time  `json:"stateChangedAt"`
	// Silence, while it lasts, keeps the alarm's actions from running.
	Silence *AlarmSilence `json:"silence,omitempty"`
	// Acknowledgement says someone is on an alarm in ALARM; it ends when
	// the alarm leaves ALARM.
	Acknowledgement *AlarmAcknowledgement `json:"acknowledgement,omitempty"`
	CreatedAt       time.Time             `json:"createdAt"`
	UpdatedAt       time.Time             `json:"updatedAt"`
}

// AlarmChange is one entry of an alarm's history: a transition, or what
// someone did to the alarm (Type).
type AlarmChange struct {
	At time.Time `json:"at"`
	// Type is STATE_CHANGED, SILENCED, UNSILENCED or ACKNOWLEDGED; the
	// entries other than STATE_CHANGED have From and To both the state
	// the alarm was in.
	Type   string     `json:"type"`
	From   AlarmState `json:"from"`
	To     AlarmState `json:"to"`
	Reason string     `json:"reason"`
	// By is who silenced or acknowledged the alarm ("" when a silence
	// ended at its time); Comment is what they said; Until is the end of
	// a silence.
	By      string    `json:"by,omitempty"`
	Comment string    `json:"comment,omitempty"`
	Until   time.Time `json:"until,omitzero"`
}

// Types of an alarm's history entries.
const (
	AlarmStateChanged = "STATE_CHANGED"
	AlarmSilenced     = "SILENCED"
	AlarmUnsilenced   = "UNSILENCED"
	AlarmAcknowledged = "ACKNOWLEDGED"
)

// Renotify returns how often the alarm actions run again while the alarm
// stays in ALARM; 0 is never.
func (a *AlarmSpec) Renotify() time.Duration { return wholeSeconds(a.RenotifySeconds) }

// Period returns the alarm's period.
func (a *AlarmSpec) Period() time.Duration { return wholeSeconds(a.PeriodSeconds) }

// Datapoints returns how many of the last EvaluationPeriods must breach:
// datapointsToAlarm, all of them by default.
func (a *AlarmSpec) Datapoints() int {
	if a.DatapointsToAlarm <= 0 {
		return a.EvaluationPeriods
	}
	return a.DatapointsToAlarm
}

// Validate checks the alarm and names every wrong field.
func (a *AlarmSpec) Validate() error {
	var errs FieldErrors
	errs.CheckName("name", a.Name)
	if a.Metric == "" {
		errs.Add("metric", "is required: a metric name such as sluice_encoder_speed_ratio")
	}
	if !slices.Contains(Statistics, a.Statistic) {
		errs.Add("statistic", "must be one of avg, min, max, sum, count, p90")
	}
	if a.PeriodSeconds < 10 || a.PeriodSeconds%10 != 0 || a.PeriodSeconds > 86400 {
		errs.Add("periodSeconds", "must be a multiple of 10 from 10 to 86400")
	}
	if a.EvaluationPeriods < 1 || a.EvaluationPeriods > 100 {
		errs.Add("evaluationPeriods", "must be from 1 to 100")
	}
	if a.RenotifySeconds != 0 && (a.RenotifySeconds < 60 || a.RenotifySeconds > 7*86400) {
		errs.Add("renotifySeconds", "must be 0 (never) or from 60 to 604800 (a week)")
	}
	if a.DatapointsToAlarm < 0 || a.DatapointsToAlarm > a.EvaluationPeriods {
		errs.Add("datapointsToAlarm", "must be from 1 to evaluationPeriods ("+strconv.Itoa(a.EvaluationPeriods)+")")
	}
	switch a.Comparison {
	case GreaterThanOrEqual, GreaterThan, LessThan, LessThanOrEqual:
	default:
		errs.Add("comparison", "must be one of GreaterThanOrEqualToThreshold, GreaterThanThreshold, LessThanThreshold, LessThanOrEqualToThreshold")
	}
	switch a.TreatMissingData {
	case "", MissingMissing, MissingIgnore, MissingBreaching, MissingNotBreaching:
	default:
		errs.Add("treatMissingData", "must be one of missing, ignore, breaching, notBreaching")
	}
	for name, list := range map[string][]Action{"alarmActions": a.AlarmActions, "okActions": a.OKActions, "insufficientDataActions": a.InsufficientDataActions} {
		for i, act := range list {
			errs.Merge(Index(name, i), act.Validate())
		}
	}
	return errs.Err()
}

// Validate checks an action.
func (a *Action) Validate() error {
	var errs FieldErrors
	switch a.Type {
	case ActionWebhook:
		if !hasHTTPScheme(a.URL) {
			errs.Add("url", "a webhook needs an http(s) URL")
		}
	case ActionStartChannel, ActionStopChannel, ActionRestartChannel:
		if a.Channel != "" {
			errs.CheckName("channel", a.Channel)
		}
	case ActionSubmitJob:
		if a.Pipeline == "" {
			errs.Add("pipeline", "a SUBMIT_JOB action needs the pipeline that runs the job")
		} else {
			errs.CheckName("pipeline", a.Pipeline)
		}
	default:
		errs.Add("type", "must be one of WEBHOOK, START_CHANNEL, STOP_CHANNEL, RESTART_CHANNEL, SUBMIT_JOB")
	}
	return errs.Err()
}

func hasHTTPScheme(u string) bool {
	return len(u) > 8 && (u[:7] == "http://" || u[:8] == "https://")
}
