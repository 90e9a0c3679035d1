package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/whep"
)

// rttBuckets are the round-trip times of WebRTC viewers, in seconds.
var rttBuckets = []float64{0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.4, 0.8}

// webrtcFamilies are the WebRTC playback figures, per channel and
// endpoint (never per session: session IDs are unbounded).
type webrtcFamilies struct {
	sessions *prometheus.GaugeVec
	started  *prometheus.CounterVec
	bytes    *prometheus.CounterVec
	packets  *prometheus.CounterVec
	lost     *prometheus.CounterVec
	nacks    *prometheus.CounterVec
	frames   *prometheus.CounterVec
	rtt      *prometheus.HistogramVec
}

func newWebRTCFamilies() webrtcFamilies {
	labels := []string{"channel", "endpoint"}
	return webrtcFamilies{
		sessions: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "sluice_webrtc_sessions",
			Help: "WebRTC (WHEP) viewers of the channel's endpoint now.",
		}, labels),
		started: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_webrtc_sessions_started_total",
			Help: "WebRTC (WHEP) sessions the channel's endpoint started.",
		}, labels),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_webrtc_sent_bytes_total",
			Help: "RTP payload and header bytes sent to the endpoint's WebRTC viewers.",
		}, labels),
		packets: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_webrtc_sent_packets_total",
			Help: "RTP packets sent to the endpoint's WebRTC viewers.",
		}, labels),
		lost: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_webrtc_lost_packets_total",
			Help: "RTP packets the endpoint's WebRTC viewers reported lost (receiver reports).",
		}, labels),
		nacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_webrtc_nacks_total",
			Help: "Retransmission requests (NACK) from the endpoint's WebRTC viewers.",
		}, labels),
		frames: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_webrtc_sent_frames_total",
			Help: "Video frames sent to the endpoint's WebRTC viewers.",
		}, labels),
		rtt: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "sluice_webrtc_rtt_seconds",
			Help:    "Round-trip times of the endpoint's WebRTC viewers, from their receiver reports, one observation per viewer every two seconds.",
			Buckets: rttBuckets,
		}, labels),
	}
}

func (f *webrtcFamilies) collectors() []prometheus.Collector {
	return []prometheus.Collector{f.sessions, f.started, f.bytes, f.packets, f.lost, f.nacks, f.frames, f.rtt}
}

func (f *webrtcFamilies) deleteChannel(channel string) {
	for _, v := range []*prometheus.MetricVec{
		f.sessions.MetricVec, f.started.MetricVec, f.bytes.MetricVec, f.packets.MetricVec,
		f.lost.MetricVec, f.nacks.MetricVec, f.frames.MetricVec, f.rtt.MetricVec,
	} {
		v.DeletePartialMatch(prometheus.Labels{"channel": channel})
	}
}

// WebRTCObserver reports WHEP sessions into the metrics and their starts
// and ends as events on the bus.
type WebRTCObserver struct {
	Metrics *Metrics
	Publish func(resource.Event)
}

// SessionStarted counts a new viewer.
func (o WebRTCObserver) SessionStarted(info whep.Info) {
	f := &o.Metrics.rtc
	f.sessions.WithLabelValues(info.Channel, info.Endpoint).Inc()
	f.started.WithLabelValues(info.Channel, info.Endpoint).Inc()
	o.publish(resource.EventWebRTCSessionStarted, info, "a WebRTC viewer joined channel "+info.Channel, nil)
}

// SessionEnded counts a viewer gone.
func (o WebRTCObserver) SessionEnded(info whep.Info, reason string) {
	o.Metrics.rtc.sessions.WithLabelValues(info.Channel, info.Endpoint).Dec()
	o.publish(resource.EventWebRTCSessionEnded, info, "a WebRTC viewer left channel "+info.Channel+": "+reason, map[string]string{"reason": reason})
}

// SessionStats adds a session's figures.
func (o WebRTCObserver) SessionStats(channel, endpoint string, d whep.Stats) {
	f := &o.Metrics.rtc
	f.bytes.WithLabelValues(channel, endpoint).Add(float64(d.BytesSent))
	f.packets.WithLabelValues(channel, endpoint).Add(float64(d.PacketsSent))
	if d.PacketsLost > 0 {
		f.lost.WithLabelValues(channel, endpoint).Add(float64(d.PacketsLost))
	}
	f.nacks.WithLabelValues(channel, endpoint).Add(float64(d.NACKs))
	f.frames.WithLabelValues(channel, endpoint).Add(float64(d.Frames))
	if d.RTT > 0 {
		f.rtt.WithLabelValues(channel, endpoint).Observe(d.RTT)
	}
}

func (o WebRTCObserver) publish(typ string, info whep.Info, msg string, extra map[string]string) {
	if o.Publish == nil {
		return
	}
	// The viewer's address stays in the log: events are read by every
	// viewer of the API, who are not shown addresses.
	detail := map[string]string{"channel": info.Channel, "endpoint": info.Endpoint, "session": info.ID}
	for k, v := range extra {
		detail[k] = v
	}
	o.Publish(resource.Event{Type: typ, Resource: "channel/" + info.Channel, Detail: detail, Message: msg})
}
