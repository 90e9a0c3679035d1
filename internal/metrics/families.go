package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Bucket layouts, in seconds.
var (
	latencyBuckets = []float64{0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16}
	requestBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}
	jobBuckets     = []float64{1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200}
	webhookBuckets = []float64{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}
	// stageBuckets resolve the few milliseconds most stages take and the
	// hundreds an encoder may: 1 ms to 2 s, about 1.5 apart.
	stageBuckets = []float64{0.001, 0.002, 0.005, 0.01, 0.015, 0.02, 0.03, 0.04, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 1.5, 2}
)

// IsHistogram reports whether name is one of the histograms Sluice
// exports, which queries and alarms address by their own name.
func IsHistogram(name string) bool {
	switch name {
	case "sluice_packager_segment_availability_latency_seconds",
		"sluice_origin_request_duration_seconds",
		"sluice_edge_origin_request_duration_seconds",
		"sluice_job_duration_seconds",
		"sluice_pipeline_stage_seconds",
		"sluice_webhook_attempt_duration_seconds":
		return true
	}
	return false
}

// families are the metric families Sluice exports. Every label is bounded:
// channel, rendition, input, edge and alarm are resource names, the others
// are small enumerations.
type families struct {
	channelState  *prometheus.GaugeVec
	activeInput   *prometheus.GaugeVec
	inputLoss     *prometheus.CounterVec
	fill          *prometheus.CounterVec
	speed         *prometheus.GaugeVec
	fps           *prometheus.GaugeVec
	dropped       *prometheus.CounterVec
	restarts      *prometheus.CounterVec
	inputBitrate  *prometheus.GaugeVec
	inputBytes    *prometheus.CounterVec
	inputRefused  *prometheus.CounterVec
	ingestRefused *prometheus.CounterVec
	segments      *prometheus.CounterVec
	segLatency    *prometheus.HistogramVec
	stage         *prometheus.HistogramVec
	originReqs    *prometheus.CounterVec
	originBytes   *prometheus.CounterVec
	originDur     *prometheus.HistogramVec
	edgeReqs      *prometheus.CounterVec
	edgeOriginDur *prometheus.HistogramVec
	edgeOriginErr *prometheus.CounterVec
	edgeResponses *prometheus.CounterVec
	edgeBytes     *prometheus.CounterVec
	edgeRefused   *prometheus.CounterVec
	httpRefused   prometheus.Counter
	loginFailures *prometheus.CounterVec
	jobs          *prometheus.GaugeVec
	jobDur        *prometheus.HistogramVec
	events        *prometheus.CounterVec
	eventDrops    prometheus.Counter
	hookAttempts  *prometheus.CounterVec
	hookDur       prometheus.Histogram
	hookDrops     prometheus.Counter
	alarmState    *prometheus.GaugeVec
	frameStreams  *prometheus.GaugeVec
	pipelines     *prometheus.GaugeVec
	frameDecoders *prometheus.GaugeVec
	frameDropped  *prometheus.CounterVec
	frameRefused  *prometheus.CounterVec
	histSeries    prometheus.GaugeFunc
	histDropped   prometheus.CounterFunc

	// byLabel lists the vectors carrying each resource label, so that a
	// deleted resource's series can go.
	byLabel map[string][]*prometheus.MetricVec
}

func newFamilies(h *history) families {
	f := families{
		channelState: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "sluice_channel_state",
			Help: "1 for the state the channel is in, 0 for the others.",
		}, []string{"channel", "state"}),
		activeInput: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "sluice_channel_active_input",
			Help: "1 for the input attachment the channel is encoding from, 0 for its others.",
		}, []string{"channel", "input"}),
		inputLoss: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_input_loss_seconds_total",
			Help: "Seconds during which the channel had no input.",
		}, []string{"channel"}),
		fill: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_channel_fill_seconds_total",
			Help: "Seconds of fill (slate or black) the channel output in place of its input.",
		}, []string{"channel"}),
		speed: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "sluice_encoder_speed_ratio",
			Help: "Encoder speed as a multiple of real time (1 keeps up with a live input).",
		}, []string{"channel"}),
		fps: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "sluice_encoder_frames_per_second",
			Help: "Frames per second the encoder is producing.",
		}, []string{"channel"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_encoder_dropped_frames_total",
			Help: "Frames the encoder dropped.",
		}, []string{"channel"}),
		restarts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_encoder_restarts_total",
			Help: "Times the encoder process of the channel was restarted after it failed.",
		}, []string{"channel"}),
		// In bytes per second, Prometheus's base unit for data (multiply
		// by 8 for the bitrate): the input's recent rate, smoothed as the
		// API reports it, where rate(sluice_input_bytes_total) needs two
		// scrapes.
		inputBitrate: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "sluice_input_bytes_per_second",
			Help: "Bytes per second arriving on the input, over the last seconds (times 8 for the bitrate).",
		}, []string{"input"}),
		inputBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_input_bytes_total",
			Help: "Bytes received on the input.",
		}, []string{"input"}),
		inputRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_input_refused_connections_total",
			Help: "Connections to a push input that were refused, by reason.",
		}, []string{"input", "reason"}),
		// By protocol and reason only: the refused address is in the log,
		// since anyone who reaches the port picks their source address.
		ingestRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_ingest_refused_connections_total",
			Help: "Connections the RTMP and SRT listeners refused or closed before admitting them, by reason.",
		}, []string{"protocol", "reason"}),
		segments: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_packager_segments_total",
			Help: "Segments the packager completed.",
		}, []string{"channel", "rendition"}),
		segLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "sluice_packager_segment_availability_latency_seconds",
			Help:    "Wall-clock time at which a segment became available minus the end of the segment in media time.",
			Buckets: latencyBuckets,
		}, []string{"channel", "rendition"}),
		// By stage only, a fixed set: what the figures are for is where a
		// frame's time goes on this server, and per channel series would
		// multiply twenty buckets by the channels.
		stage: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "sluice_pipeline_stage_seconds",
			Help:    "Time a live frame spends in each stage between its arrival at the ingest and its listing: switcher (arrival to the encoder's input), encoder (to the packager reading it), packager (to its part or segment being listed), origin (to the blocking playlist reload that lists it).",
			Buckets: stageBuckets,
		}, []string{"stage"}),
		originReqs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_origin_requests_total",
			Help: "Requests the origin answered, by kind of object and status class.",
		}, []string{"channel", "kind", "status_class"}),
		originBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_origin_response_bytes_total",
			Help: "Body bytes the origin sent.",
		}, []string{"channel", "kind"}),
		originDur: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "sluice_origin_request_duration_seconds",
			Help:    "Time the origin took to answer a request, blocking playlist reloads included.",
			Buckets: requestBuckets,
		}, []string{"channel", "kind"}),
		edgeReqs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_edge_requests_total",
			Help: "Requests an edge answered, by cache result.",
		}, []string{"edge", "result"}),
		edgeOriginDur: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "sluice_edge_origin_request_duration_seconds",
			Help:    "Time an edge's fetches from its origin took.",
			Buckets: requestBuckets,
		}, []string{"edge"}),
		edgeOriginErr: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_edge_origin_errors_total",
			Help: "An edge's fetches from its origins that failed: connection errors, timeouts, 5xx.",
		}, []string{"edge"}),
		edgeResponses: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_edge_responses_total",
			Help: "Responses an edge sent, by status class.",
		}, []string{"edge", "class"}),
		edgeBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_edge_response_bytes_total",
			Help: "Body bytes an edge sent to viewers.",
		}, []string{"edge"}),
		edgeRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_edge_refused_connections_total",
			Help: "Connections to an edge closed because their client address held as many as it may.",
		}, []string{"edge"}),
		httpRefused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sluice_http_refused_connections_total",
			Help: "Connections to the server's HTTP listener closed because their client address held as many as it may.",
		}),
		loginFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_login_failures_total",
			Help: "Refused logins, by reason: credentials (a wrong user name or password) or backoff (too many failures from the address or for the user name).",
		}, []string{"reason"}),
		jobs: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "sluice_jobs",
			Help: "VOD jobs in each state.",
		}, []string{"state"}),
		jobDur: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "sluice_job_duration_seconds",
			Help:    "Wall time of finished VOD jobs, by final state.",
			Buckets: jobBuckets,
		}, []string{"state"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_events_published_total",
			Help: "Events published on the event bus, by type.",
		}, []string{"type"}),
		eventDrops: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sluice_event_subscriber_dropped_events_total",
			Help: "Events subscribers lost because they fell behind the bus history.",
		}),
		hookAttempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_webhook_attempts_total",
			Help: "Webhook delivery attempts, by result.",
		}, []string{"result"}),
		hookDur: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "sluice_webhook_attempt_duration_seconds",
			Help:    "Time webhook receivers took to answer.",
			Buckets: webhookBuckets,
		}),
		hookDrops: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sluice_webhook_dropped_deliveries_total",
			Help: "Webhook deliveries dropped because a receiver's queue was full.",
		}),
		alarmState: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "sluice_alarm_state",
			Help: "1 for the state the alarm is in, 0 for the others.",
		}, []string{"alarm", "state"}),
		pipelines: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "sluice_channel_pipelines_running",
			Help: "Pipelines of the channel that deliver segments: 2 for a healthy STANDARD channel, 1 for a SINGLE_PIPELINE one; reported by one node that runs the channel.",
		}, []string{"channel"}),
		frameStreams: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "sluice_frame_streams",
			Help: "Frames API streams reading the channel's decoded pictures.",
		}, []string{"channel"}),
		frameDecoders: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "sluice_frame_decoders",
			Help: "Decoders running for the channel's frames API streams, one per rendition, size and rate read, shared by its streams.",
		}, []string{"channel"}),
		frameDropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_frame_stream_dropped_frames_total",
			Help: "Pictures frames API streams of the channel lost because their client read too slowly.",
		}, []string{"channel"}),
		frameRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sluice_frame_stream_refusals_total",
			Help: "Frames API requests refused, by reason: no_credentials, bad_credentials, server_limit, client_limit.",
		}, []string{"reason"}),
		histSeries: prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "sluice_metrics_history_series",
			Help: "Series the in-process metrics history keeps.",
		}, func() float64 { return float64(h.seriesCount.Load()) }),
		histDropped: prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "sluice_metrics_history_dropped_series_total",
			Help: "New series the metrics history did not keep because it was full.",
		}, func() float64 { return float64(h.droppedSeries.Load()) }),
	}
	f.byLabel = map[string][]*prometheus.MetricVec{
		"channel": {
			f.channelState.MetricVec, f.activeInput.MetricVec, f.inputLoss.MetricVec, f.fill.MetricVec,
			f.speed.MetricVec, f.fps.MetricVec, f.dropped.MetricVec, f.restarts.MetricVec,
			f.segments.MetricVec, f.segLatency.MetricVec, f.originReqs.MetricVec, f.originBytes.MetricVec,
			f.originDur.MetricVec, f.frameStreams.MetricVec, f.frameDecoders.MetricVec, f.frameDropped.MetricVec,
			f.pipelines.MetricVec,
		},
		"input": {f.inputBitrate.MetricVec, f.inputBytes.MetricVec, f.inputRefused.MetricVec},
		"edge": {
			f.edgeReqs.MetricVec, f.edgeOriginDur.MetricVec, f.edgeOriginErr.MetricVec,
			f.edgeResponses.MetricVec, f.edgeBytes.MetricVec, f.edgeRefused.MetricVec,
		},
		"alarm": {f.alarmState.MetricVec},
	}
	return f
}

func (f *families) register(reg *prometheus.Registry) {
	reg.MustRegister(
		f.channelState, f.activeInput, f.inputLoss, f.fill,
		f.speed, f.fps, f.dropped, f.restarts,
		f.inputBitrate, f.inputBytes, f.inputRefused, f.ingestRefused,
		f.segments, f.segLatency, f.stage,
		f.originReqs, f.originBytes, f.originDur,
		f.edgeReqs, f.edgeOriginDur, f.edgeOriginErr, f.edgeResponses, f.edgeBytes, f.edgeRefused,
		f.httpRefused,
		f.loginFailures,
		f.jobs, f.jobDur,
		f.events, f.eventDrops, f.hookAttempts, f.hookDur, f.hookDrops,
		f.alarmState, f.frameStreams, f.frameDecoders, f.frameDropped, f.frameRefused,
		f.histSeries, f.histDropped, f.pipelines,
	)
}

// deleteLabel removes every series whose label name has the value.
func (f *families) deleteLabel(name, value string) {
	for _, v := range f.byLabel[name] {
		v.DeletePartialMatch(prometheus.Labels{name: value})
	}
}
