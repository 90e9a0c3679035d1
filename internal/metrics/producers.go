package metrics

import (
	"strings"
	"time"

	"github.com/sluice-video/sluice/internal/resource"
)

// RequestKind is the kind of object an origin request asked for.
type RequestKind string

// Kinds of origin requests.
const (
	KindManifest RequestKind = "manifest" // HLS playlists and DASH MPDs
	KindSegment  RequestKind = "segment"
	KindPart     RequestKind = "part" // LL-HLS parts
	KindInit     RequestKind = "init" // initialisation segments
	KindKey      RequestKind = "key"  // content keys
	KindOther    RequestKind = "other"
)

// EdgeResult is how an edge answered a request.
type EdgeResult string

// Edge cache results.
const (
	EdgeHit       EdgeResult = "hit"
	EdgeMiss      EdgeResult = "miss"
	EdgeCollapsed EdgeResult = "collapsed" // waited for another request's fetch
	EdgeStale     EdgeResult = "stale"     // served stale while revalidating or on origin error
)

// RefuseReason says why a push input refused a connection.
type RefuseReason string

// Reasons for refusing a push connection.
const (
	RefusedSecurityGroup RefuseReason = "security_group" // source address not allowed
	RefusedStreamKey     RefuseReason = "stream_key"     // wrong or missing stream key
	RefusedBusy          RefuseReason = "busy"           // another publisher holds the input
	RefusedOther         RefuseReason = "other"
)

// Webhook attempt results.
const (
	WebhookSuccess      = "success"
	WebhookClientError  = "client_error"
	WebhookServerError  = "server_error"
	WebhookNetworkError = "network_error"
)

// channelStates are the states sluice_channel_state reports for every channel.
var channelStates = []resource.ChannelState{
	resource.StateCreating, resource.StateCreateFailed, resource.StateIdle, resource.StateStarting,
	resource.StateRunning, resource.StateRecovering, resource.StateUpdating, resource.StateStopping,
	resource.StateFailed, resource.StateDeleting, resource.StateDeleted,
}

var alarmStates = []resource.AlarmState{resource.AlarmOK, resource.AlarmAlarm, resource.AlarmInsufficientData}

// channel returns what Metrics remembers of a channel, registering it.
// Callers hold m.mu.
func (m *Metrics) channel(name string) *channelState {
	c := m.channels[name]
	if c == nil {
		c = &channelState{}
		m.channels[name] = c
	}
	return c
}

// ChannelState reports the state a channel is in. It also makes the channel
// known, so that origin requests for it are counted under its name.
func (m *Metrics) ChannelState(channel string, state resource.ChannelState) {
	m.mu.Lock()
	_, seen := m.channels[channel]
	m.channel(channel).state = string(state)
	m.mu.Unlock()
	if !seen {
		// The channel's counters start at 0, so that their rates exist
		// before the first event they count.
		m.f.restarts.WithLabelValues(channel)
		m.f.dropped.WithLabelValues(channel)
		m.f.inputLoss.WithLabelValues(channel)
		m.f.fill.WithLabelValues(channel)
	}
	known := false
	for _, s := range channelStates {
		v := 0.0
		if s == state {
			v, known = 1, true
		}
		m.f.channelState.WithLabelValues(channel, string(s)).Set(v)
	}
	if !known {
		m.f.channelState.WithLabelValues(channel, string(state)).Set(1)
	}
}

// ActiveInput reports the input attachment a channel encodes from; "" means
// none.
func (m *Metrics) ActiveInput(channel, input string) {
	m.mu.Lock()
	c := m.channel(channel)
	prev := c.input
	c.input = input
	m.mu.Unlock()
	if prev != "" && prev != input {
		m.f.activeInput.WithLabelValues(channel, prev).Set(0)
	}
	if input != "" {
		m.f.activeInput.WithLabelValues(channel, input).Set(1)
	}
}

// InputLoss adds time during which a channel had no input.
func (m *Metrics) InputLoss(channel string, d time.Duration) {
	if d > 0 {
		m.f.inputLoss.WithLabelValues(channel).Add(d.Seconds())
	}
}

// ChannelFill adds time a channel output fill in place of its input.
func (m *Metrics) ChannelFill(channel string, d time.Duration) {
	if d > 0 {
		m.f.fill.WithLabelValues(channel).Add(d.Seconds())
	}
}

// EncoderProgress reports a progress line of a channel's encoder: speed as
// a multiple of real time, frames per second, and the process's running
// total of dropped frames (a total below the previous one means a new
// process, whose count starts again).
func (m *Metrics) EncoderProgress(channel string, speed, fps float64, dropped int64) {
	m.mu.Lock()
	c := m.channel(channel)
	delta := dropped - c.dropped
	if delta < 0 {
		delta = dropped
	}
	c.dropped = dropped
	m.mu.Unlock()
	m.f.speed.WithLabelValues(channel).Set(speed)
	m.f.fps.WithLabelValues(channel).Set(fps)
	c2 := m.f.dropped.WithLabelValues(channel)
	if delta > 0 {
		c2.Add(float64(delta))
	}
}

// EncoderRestarted counts a restart of a channel's encoder after a failure.
func (m *Metrics) EncoderRestarted(channel string) {
	m.mu.Lock()
	m.channel(channel).dropped = 0
	m.mu.Unlock()
	m.f.restarts.WithLabelValues(channel).Inc()
}

// InputBitrate reports the bits per second arriving on an input; the
// metric carries it in bytes per second.
func (m *Metrics) InputBitrate(input string, bitsPerSecond float64) {
	m.f.inputBitrate.WithLabelValues(input).Set(bitsPerSecond / 8)
}

// InputBytes adds bytes received on an input.
func (m *Metrics) InputBytes(input string, n int64) {
	if n > 0 {
		m.f.inputBytes.WithLabelValues(input).Add(float64(n))
	}
}

// InputRefused counts a connection a push input refused.
func (m *Metrics) InputRefused(input string, reason RefuseReason) {
	switch reason {
	case RefusedSecurityGroup, RefusedStreamKey, RefusedBusy:
	default:
		reason = RefusedOther
	}
	m.f.inputRefused.WithLabelValues(input, string(reason)).Inc()
}

// IngestRefused counts a connection an ingest listener refused before
// admitting it, by protocol ("rtmp", "srt") and reason: both from the
// small fixed sets of the listeners, so the series stay few.
func (m *Metrics) IngestRefused(protocol, reason string) {
	m.f.ingestRefused.WithLabelValues(protocol, reason).Inc()
}

// SegmentProduced counts a segment the packager completed and observes its
// availability latency: the wall clock when it became available minus its
// end in media time (negative values count as 0).
func (m *Metrics) SegmentProduced(channel, rendition string, latency time.Duration) {
	m.f.segments.WithLabelValues(channel, rendition).Inc()
	m.f.segLatency.WithLabelValues(channel, rendition).Observe(max(latency, 0).Seconds())
}

// Pipeline stages of sluice_pipeline_stage_seconds, in the order a frame
// passes them.
const (
	StageSwitcher = "switcher"
	StageEncoder  = "encoder"
	StagePackager = "packager"
	StageOrigin   = "origin"
)

// PipelineStage observes how long a frame spent in a stage of a channel's
// pipeline. Stages outside the fixed set are not recorded, so the label
// stays bounded.
func (m *Metrics) PipelineStage(stage string, d time.Duration) {
	switch stage {
	case StageSwitcher, StageEncoder, StagePackager, StageOrigin:
		m.f.stage.WithLabelValues(stage).Observe(max(d, 0).Seconds())
	}
}

// OriginRequest records a request the origin answered. The channel is
// counted under its name only when Metrics knows it (from ChannelState or
// another report about the channel, until RemoveChannel); requests for
// unknown channels (a client can make up any path) count under
// channel="" so that they cannot grow the series without bound.
func (m *Metrics) OriginRequest(channel string, kind RequestKind, status int, bytes int64, dur time.Duration) {
	switch kind {
	case KindManifest, KindSegment, KindPart, KindInit, KindKey:
	default:
		kind = KindOther
	}
	k := originLabels{kind: kind, class: StatusClass(status)}
	m.mu.RLock()
	c, ok := m.channels[channel]
	if !ok {
		channel, c = "", &m.unknown
	}
	s := c.origin[k]
	m.mu.RUnlock()
	if s == nil {
		s = &originSeries{
			requests: m.f.originReqs.WithLabelValues(channel, string(kind), k.class),
			bytes:    m.f.originBytes.WithLabelValues(channel, string(kind)),
			duration: m.f.originDur.WithLabelValues(channel, string(kind)),
		}
		m.mu.Lock()
		if c.origin == nil {
			c.origin = map[originLabels]*originSeries{}
		}
		c.origin[k] = s
		m.mu.Unlock()
	}
	s.requests.Inc()
	if bytes > 0 {
		s.bytes.Add(float64(bytes))
	}
	s.duration.Observe(max(dur, 0).Seconds())
}

// StatusClass maps an HTTP status to its class label: "2xx" … "5xx", or
// "other".
func StatusClass(status int) string {
	switch status / 100 {
	case 1:
		return "1xx"
	case 2:
		return "2xx"
	case 3:
		return "3xx"
	case 4:
		return "4xx"
	case 5:
		return "5xx"
	}
	return "other"
}

// EdgeRequest records a request an edge answered.
func (m *Metrics) EdgeRequest(edge string, result EdgeResult) {
	switch result {
	case EdgeHit, EdgeMiss, EdgeCollapsed, EdgeStale:
	default:
		result = EdgeMiss
	}
	m.f.edgeReqs.WithLabelValues(edge, string(result)).Inc()
}

// EdgeConnectionRefused counts a connection to an edge closed because its
// client address held as many as it may.
func (m *Metrics) EdgeConnectionRefused(edge string) {
	m.f.edgeRefused.WithLabelValues(edge).Inc()
}

// HTTPConnectionRefused counts a connection to the server's HTTP listener
// closed because its client address held as many as it may.
func (m *Metrics) HTTPConnectionRefused() { m.f.httpRefused.Inc() }

// LoginRefused counts a refused login: reason is "credentials" or
// "backoff" (anything else counts as credentials, so labels stay few).
func (m *Metrics) LoginRefused(reason string) {
	if reason != "backoff" {
		reason = "credentials"
	}
	m.f.loginFailures.WithLabelValues(reason).Inc()
}

// EdgeOriginRequest observes the duration of an edge's fetch from its origin.
func (m *Metrics) EdgeOriginRequest(edge string, dur time.Duration) {
	m.f.edgeOriginDur.WithLabelValues(edge).Observe(max(dur, 0).Seconds())
}

// JobCounts reports how many VOD jobs are in each state; states reported
// before and missing now drop to 0.
func (m *Metrics) JobCounts(counts map[string]int) {
	bounded := make(map[string]int, len(counts))
	for s, n := range counts {
		bounded[jobState(s)] += n
	}
	counts = bounded
	m.mu.Lock()
	for s := range counts {
		m.jobs[s] = true
	}
	states := make([]string, 0, len(m.jobs))
	for s := range m.jobs {
		states = append(states, s)
	}
	m.mu.Unlock()
	for _, s := range states {
		m.f.jobs.WithLabelValues(s).Set(float64(counts[s]))
	}
}

// JobFinished observes the wall time of a VOD job that ended in state
// (COMPLETE, ERROR or CANCELED).
func (m *Metrics) JobFinished(state string, dur time.Duration) {
	m.f.jobDur.WithLabelValues(jobState(state)).Observe(max(dur, 0).Seconds())
}

// jobState bounds a job-state label to the VOD job states; anything else
// is "other".
func jobState(s string) string {
	switch s {
	case "SUBMITTED", "PROGRESSING", "COMPLETE", "ERROR", "CANCELED":
		return s
	}
	return "other"
}

// EventPublished counts an event on the bus. Types outside the
// "word.word" form count as "other".
func (m *Metrics) EventPublished(typ string) {
	if !validEventType(typ) {
		typ = "other"
	}
	m.f.events.WithLabelValues(typ).Inc()
}

func validEventType(t string) bool {
	if len(t) == 0 || len(t) > 64 || strings.Count(t, ".") != 1 {
		return false
	}
	for _, r := range t {
		if (r < 'a' || r > 'z') && r != '_' && r != '.' {
			return false
		}
	}
	return true
}

// SubscriberDropped counts events a bus subscriber lost.
func (m *Metrics) SubscriberDropped(n int) {
	if n > 0 {
		m.f.eventDrops.Add(float64(n))
	}
}

// WebhookAttempt records one webhook delivery attempt: its result
// (WebhookSuccess, WebhookClientError, WebhookServerError or
// WebhookNetworkError) and how long the receiver took.
func (m *Metrics) WebhookAttempt(result string, dur time.Duration) {
	switch result {
	case WebhookSuccess, WebhookClientError, WebhookServerError, WebhookNetworkError:
	default:
		result = WebhookNetworkError
	}
	m.f.hookAttempts.WithLabelValues(result).Inc()
	m.f.hookDur.Observe(max(dur, 0).Seconds())
}

// WebhookDropped counts a webhook delivery dropped on a full queue.
func (m *Metrics) WebhookDropped() { m.f.hookDrops.Inc() }

// AlarmState reports the state an alarm is in.
func (m *Metrics) AlarmState(alarm string, state resource.AlarmState) {
	for _, s := range alarmStates {
		v := 0.0
		if s == state {
			v = 1
		}
		m.f.alarmState.WithLabelValues(alarm, string(s)).Set(v)
	}
}

// RemoveAlarm forgets the series of a deleted alarm.
func (m *Metrics) RemoveAlarm(alarm string) {
	m.f.deleteLabel("alarm", alarm)
	m.hist.removeLabel("alarm", alarm)
}
