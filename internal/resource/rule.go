package resource

import (
	"strings"
	"time"
)

// Event is something that happened, on Sluice's one event bus.
type Event struct {
	// Seq orders events; it only grows.
	Seq  uint64    `json:"seq"`
	At   time.Time `json:"at"`
	Type string    `json:"type"`
	// Resource names what the event is about, e.g. "channel/news".
	Resource string `json:"resource,omitempty"`
	// Detail holds the event's fields, e.g. {"channel": "news", "to": "RUNNING"}.
	Detail map[string]string `json:"detail,omitempty"`
	// Message says what happened in words.
	Message string `json:"message"`
}

// Event types.
const (
	EventChannelCreated      = "channel.created"
	EventChannelDeleted      = "channel.deleted"
	EventChannelStateChanged = "channel.state_changed"
	EventInputLost           = "input.lost"
	EventInputRestored       = "input.restored"
	EventInputSwitched       = "input.switched"
	EventAlarmStateChanged   = "alarm.state_changed"
	// EventAlarmSilenced, EventAlarmUnsilenced and EventAlarmAcknowledged:
	// someone silenced an alarm, its silence ended (by hand or at its
	// time), someone acknowledged it.
	EventAlarmSilenced     = "alarm.silenced"
	EventAlarmUnsilenced   = "alarm.unsilenced"
	EventAlarmAcknowledged = "alarm.acknowledged"
	// EventAlarmReminder: an alarm still in ALARM runs its alarm actions
	// again (its renotifySeconds passed, or its silence ended).
	EventAlarmReminder   = "alarm.reminder"
	EventJobStateChanged = "job.state_changed"
	EventSegmentGap      = "segment.gap"
	// EventWebRTCSessionStarted and EventWebRTCSessionEnded: a WebRTC
	// (WHEP) viewer joined or left a channel.
	EventWebRTCSessionStarted = "webrtc.session_started"
	EventWebRTCSessionEnded   = "webrtc.session_ended"
	// EventPassthroughKeyFrames: a passthrough rung's input key frames
	// left the segment grid or came back to it.
	EventPassthroughKeyFrames = "passthrough.key_frames"
	// EventPipelineDegraded and EventPipelineRecovered: a pipeline of a
	// STANDARD channel stopped delivering (the channel runs on the other),
	// or both deliver again.
	EventPipelineDegraded  = "channel.pipeline.degraded"
	EventPipelineRecovered = "channel.pipeline.recovered"
)

// Silenced reports whether the event is the state change of a silenced
// alarm, on which no action runs: neither the alarm's nor a rule's.
func (e Event) Silenced() bool {
	return e.Type == EventAlarmStateChanged && e.Detail["silenced"] == "true"
}

// RuleSpec turns matching events into actions.
type RuleSpec struct {
	Name string `json:"name"`
	// Event is the event type to match; a trailing ".*" matches a prefix.
	Event string `json:"event"`
	// Match requires detail fields to equal these values.
	Match   map[string]string `json:"match,omitempty"`
	Actions []Action          `json:"actions"`
}

// Rule is a rule as the server keeps it.
type Rule struct {
	ID    string `json:"id"`
	Stack string `json:"stack,omitempty"`
	RuleSpec
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// Matches reports whether the rule applies to an event.
func (r *RuleSpec) Matches(e Event) bool {
	switch {
	case strings.HasSuffix(r.Event, ".*"):
		if !strings.HasPrefix(e.Type, strings.TrimSuffix(r.Event, "*")) {
			return false
		}
	case r.Event != e.Type:
		return false
	}
	for k, v := range r.Match {
		if e.Detail[k] != v {
			return false
		}
	}
	return true
}

// Validate checks the rule and names every wrong field.
func (r *RuleSpec) Validate() error {
	var errs FieldErrors
	errs.CheckName("name", r.Name)
	if r.Event == "" || strings.ContainsAny(r.Event, " \t\n") {
		errs.Add("event", "is required: an event type such as channel.created or channel.*")
	}
	if len(r.Actions) == 0 {
		errs.Add("actions", "a rule needs at least one action")
	}
	for i, a := range r.Actions {
		errs.Merge(Index("actions", i), a.Validate())
	}
	return errs.Err()
}
