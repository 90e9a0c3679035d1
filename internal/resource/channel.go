package resource

import (
	"strconv"
	"strings"
	"time"
)

// ChannelState is where a channel is in its lifecycle.
type ChannelState string

// Channel states. The normal path is CREATING → IDLE → STARTING → RUNNING →
// STOPPING → IDLE; RECOVERING is a running channel whose encoder is being
// restarted; FAILED is a channel that could not start, with the reason in
// lastError.
const (
	StateCreating     ChannelState = "CREATING"
	StateCreateFailed ChannelState = "CREATE_FAILED"
	StateIdle         ChannelState = "IDLE"
	StateStarting     ChannelState = "STARTING"
	StateRunning      ChannelState = "RUNNING"
	StateRecovering   ChannelState = "RECOVERING"
	StateUpdating     ChannelState = "UPDATING"
	StateStopping     ChannelState = "STOPPING"
	StateFailed       ChannelState = "FAILED"
	StateDeleting     ChannelState = "DELETING"
	StateDeleted      ChannelState = "DELETED"
)

// Active reports whether the channel's pipeline is (or should be) running.
func (s ChannelState) Active() bool {
	switch s {
	case StateStarting, StateRunning, StateRecovering, StateUpdating:
		return true
	}
	return false
}

// SourceEnd says what a channel does when a file input reaches its end.
type SourceEnd string

// Source-end behaviours.
const (
	// SourceEndLoop plays the file again from the start, seamlessly.
	SourceEndLoop SourceEnd = "LOOP"
	// SourceEndContinue keeps the channel live after the file ends, showing
	// black with silence until it is stopped.
	SourceEndContinue SourceEnd = "CONTINUE"
)

// OutputType names a kind of output group.
type OutputType string

// Output group types: HLS and DASH are packaging endpoints served by the
// origin; the others deliver the channel elsewhere (see delivery.go).
const (
	OutputHLS  OutputType = "HLS"
	OutputDASH OutputType = "DASH"
	// OutputLLHLS is Low-Latency HLS: partial segments, blocking playlist
	// reload, delta updates and preload hints.
	OutputLLHLS OutputType = "LL_HLS"
	// OutputLLDASH is low-latency DASH: chunked CMAF served while it is
	// written, with availabilityTimeOffset and a latency target.
	OutputLLDASH OutputType = "LL_DASH"
	// OutputHLSTS is HLS with MPEG-TS segments (video and audio muxed),
	// remuxed from the same CMAF segments, for players that read only TS.
	OutputHLSTS OutputType = "HLS_TS"
)

// IsLowLatency reports whether the output type serves parts of the segment
// being written.
func (t OutputType) IsLowLatency() bool { return t == OutputLLHLS || t == OutputLLDASH }

// Low-latency defaults.
const (
	// DefaultLowLatencySegmentSeconds is the segment length of a channel
	// with a low-latency endpoint, unless its encoder sets one.
	DefaultLowLatencySegmentSeconds = 1
	// DefaultPartSeconds is the part (chunk) length of low-latency endpoints.
	DefaultPartSeconds = 0.2
)

// ChannelClass is the redundancy class of a channel: how many pipelines
// (an encoder with its inputs, on a node of a cluster) run it.
type ChannelClass string

// Channel classes.
const (
	// ClassSinglePipeline runs one pipeline (the default).
	ClassSinglePipeline ChannelClass = "SINGLE_PIPELINE"
	// ClassStandard runs two pipelines, on two nodes of a cluster when it
	// has two, each with its own lease, ingest and encoder on one segment
	// grid; the origin serves each segment from whichever delivered it.
	ClassStandard ChannelClass = "STANDARD"
)

// Packaging defaults.
const (
	DefaultSegmentSeconds = 2
	DefaultWindowSeconds  = 60
	MaxWindowSeconds      = 3600
	// MinDVRWindowSeconds and MaxDVRWindowSeconds bound an endpoint's DVR
	// window: from one minute to seven days.
	MinDVRWindowSeconds = 60
	MaxDVRWindowSeconds = 7 * 24 * 3600
)

// ChannelSpec is what a user declares about a channel.
type ChannelSpec struct {
	Name string `json:"name"`
	// ChannelClass is SINGLE_PIPELINE (the default) or STANDARD.
	ChannelClass     ChannelClass      `json:"channelClass,omitempty"`
	InputAttachments []InputAttachment `json:"inputAttachments"`
	Encoder          EncoderSettings   `json:"encoder"`
	// Outputs are the packaging endpoints; none means one HLS endpoint
	// named "hls" and one DASH endpoint named "dash".
	Outputs []OutputGroup `json:"outputs,omitempty"`
	// AutoStart starts the channel as soon as it has been created.
	AutoStart bool `json:"autoStart,omitempty"`
	// InputLoss applies to live inputs.
	InputLoss *InputLossSettings `json:"inputLoss,omitempty"`
	// InputRedundancy says how the pipelines of a STANDARD channel share
	// their push inputs' ingest.
	InputRedundancy *InputRedundancy `json:"inputRedundancy,omitempty"`
}

// InputRedundancy is how the two pipelines of a STANDARD channel take a
// push input: each from the publisher connected to its own node, and,
// with CrossFeed, from the publisher of the other pipeline's node while
// its own has none (a single publisher then feeds both encoders).
type InputRedundancy struct {
	// CrossFeed feeds a pipeline whose node has no publisher of the input
	// from the node that has one (default true).
	CrossFeed *bool `json:"crossFeed,omitempty"`
}

// CrossFeeds reports whether a pipeline whose own push input is lost is
// fed from the other pipeline's ingest: true unless the channel says
// crossFeed: false.
func (s *ChannelSpec) CrossFeeds() bool {
	r := s.InputRedundancy
	return r == nil || r.CrossFeed == nil || *r.CrossFeed
}

// Class returns the channel's class, SINGLE_PIPELINE when none is set.
func (s *ChannelSpec) Class() ChannelClass {
	if s.ChannelClass == "" {
		return ClassSinglePipeline
	}
	return s.ChannelClass
}

// PipelineCount returns how many pipelines run the channel: 2 for a
// STANDARD channel, 1 otherwise.
func (s *ChannelSpec) PipelineCount() int {
	if s.ChannelClass == ClassStandard {
		return 2
	}
	return 1
}

// InputAttachment connects an input to a channel.
type InputAttachment struct {
	Input             string    `json:"input"`
	SourceEndBehavior SourceEnd `json:"sourceEndBehavior,omitempty"`
	// SecondaryInput takes over when Input is lost (live inputs only).
	SecondaryInput string            `json:"secondaryInput,omitempty"`
	Failover       *FailoverSettings `json:"failover,omitempty"`
}

// FailoverPolicy says whether a channel returns to its primary input.
type FailoverPolicy string

// Failover policies.
const (
	// PrimaryPreferred returns to the primary once it has been healthy for
	// ErrorClearMs.
	PrimaryPreferred FailoverPolicy = "PRIMARY_INPUT_PREFERRED"
	// EqualPreference stays on whichever input is active.
	EqualPreference FailoverPolicy = "EQUAL"
)

// FailoverSettings tune automatic input failover.
type FailoverSettings struct {
	Policy FailoverPolicy `json:"policy,omitempty"`
	// ErrorClearMs is how long the primary must be healthy again before a
	// PRIMARY_INPUT_PREFERRED channel returns to it (default 10000).
	ErrorClearMs int `json:"errorClearMs,omitempty"`
}

// FillType is what a channel shows while its live input is lost.
type FillType string

// Fill types.
const (
	FillBlack     FillType = "BLACK"
	FillSlate     FillType = "SLATE"
	FillLastFrame FillType = "LAST_FRAME"
)

// InputLossSettings say when a live input counts as lost and what the
// channel shows meanwhile (always with silence).
type InputLossSettings struct {
	// InputLossMs without media makes the input lost (default 1000).
	InputLossMs int      `json:"inputLossMs,omitempty"`
	Fill        FillType `json:"fill,omitempty"`
	// Slate is the image shown with fill SLATE: a path under the media
	// directory.
	Slate string `json:"slate,omitempty"`
}

// Live-input defaults.
const (
	DefaultInputLossMs  = 1000
	DefaultErrorClearMs = 10000
)

// ErrorClear returns how long the primary input must be healthy again
// before a PRIMARY_INPUT_PREFERRED channel returns to it: errorClearMs,
// ten seconds by default (and for a nil f).
func (f *FailoverSettings) ErrorClear() time.Duration {
	if f == nil || f.ErrorClearMs <= 0 {
		return DefaultErrorClearMs * time.Millisecond
	}
	return time.Duration(f.ErrorClearMs) * time.Millisecond
}

// LostAfter returns how long a live input may go without media before it
// counts as lost: inputLossMs, one second by default (and for a nil l).
func (l *InputLossSettings) LostAfter() time.Duration {
	if l == nil || l.InputLossMs <= 0 {
		return DefaultInputLossMs * time.Millisecond
	}
	return time.Duration(l.InputLossMs) * time.Millisecond
}

// EncoderSettings describe the ABR ladder a channel encodes.
type EncoderSettings struct {
	// Ladder names a built-in ladder; Video lists rungs explicitly. One of the two.
	Ladder string             `json:"ladder,omitempty"`
	Video  []VideoDescription `json:"video,omitempty"`
	Audio  *AudioDescription  `json:"audio,omitempty"`
	// Preset overrides the x264 preset of every rung ("ultrafast" for tests).
	Preset string `json:"preset,omitempty"`
	// SegmentSeconds is the segment length and the GOP length (default 2).
	SegmentSeconds float64 `json:"segmentSeconds,omitempty"`
}

// VideoDescription is one rung of the ladder.
type VideoDescription struct {
	Name       string  `json:"name"`
	Width      int     `json:"width,omitempty"`
	Height     int     `json:"height,omitempty"`
	Bitrate    Bitrate `json:"bitrate,omitempty"`
	MaxBitrate Bitrate `json:"maxBitrate,omitempty"`
	FPS        float64 `json:"fps,omitempty"`
	Profile    string  `json:"profile,omitempty"`
	Preset     string  `json:"preset,omitempty"`
	// Passthrough makes the rung the input's own video, not re-encoded:
	// its size, rate and bitrate are the input's (the fields above stay
	// empty), and its segments are on the channel's grid when the input's
	// key frames are.
	Passthrough bool `json:"passthrough,omitempty"`
}

// AudioDescription is the AAC audio every rendition set carries.
type AudioDescription struct {
	Bitrate    Bitrate `json:"bitrate,omitempty"`
	Channels   int     `json:"channels,omitempty"`
	SampleRate int     `json:"sampleRate,omitempty"`
}

// OutputGroup is one output of a channel: a packaging endpoint (HLS, DASH)
// or a delivery (UDP, RTP, RTMP, ARCHIVE, FRAME_CAPTURE, DATASET).
type OutputGroup struct {
	Name string     `json:"name"`
	Type OutputType `json:"type"`
	// WindowSeconds is how much of the live stream the manifests offer (default 60).
	WindowSeconds int `json:"windowSeconds,omitempty"`
	// DVRWindowSeconds, when set, keeps this much of the stream on disk
	// for time-shifted manifests (?start=&end=) and harvest jobs; segments
	// older than the longest DVR window of the channel are deleted.
	DVRWindowSeconds int `json:"dvrWindowSeconds,omitempty"`
	// PartSeconds is the part length of LL_HLS and the chunk length of
	// LL_DASH endpoints (default 0.2). The encoder emits fragments of the
	// shortest part length of the channel's low-latency endpoints.
	PartSeconds float64 `json:"partSeconds,omitempty"`
	// TargetLatencySeconds is the latency LL_DASH players aim for
	// (ServiceDescription; default three parts plus half a segment).
	TargetLatencySeconds float64 `json:"targetLatencySeconds,omitempty"`
	// Encryption encrypts an HLS endpoint's segments.
	Encryption *Encryption `json:"encryption,omitempty"`
	// RequireSignedURLs makes the origin refuse the endpoint's manifests
	// and segments without a valid signed URL or cookie (requests from the
	// server's trusted networks, such as its edges, excepted).
	RequireSignedURLs bool `json:"requireSignedURLs,omitempty"`
	DeliverySettings
}

// Channel is a channel as the server keeps it.
type Channel struct {
	ID    string `json:"id"`
	Stack string `json:"stack,omitempty"`
	ChannelSpec
	State          ChannelState `json:"state"`
	StateReason    string       `json:"stateReason,omitempty"`
	StateChangedAt time.Time    `json:"stateChangedAt"`
	LastError      string       `json:"lastError,omitempty"`
	// Node is the node of a cluster that holds the channel's lease and
	// runs it; absent on a single server and while no node holds it.
	Node      string          `json:"node,omitempty"`
	Pipeline  *PipelineStatus `json:"pipeline,omitempty"`
	Endpoints []EndpointURL   `json:"endpoints,omitempty"`
	CreatedAt time.Time       `json:"createdAt"`
	UpdatedAt time.Time       `json:"updatedAt"`
	// Deliveries is the status of each delivery output while the channel runs.
	Deliveries []DeliveryStatus `json:"deliveries,omitempty"`
	// WebRTC says what WebRTC viewers receive, for a channel with a
	// WEBRTC endpoint.
	WebRTC *WebRTCStatus `json:"webrtc,omitempty"`
	// Pipelines, for a STANDARD channel, are its two pipelines: where each
	// runs and how it does.
	Pipelines []PipelineReport `json:"pipelines,omitempty"`
	// PipelineLag, while both pipelines of a STANDARD channel deliver
	// segments, is how far one is behind the other.
	PipelineLag *PipelineLag `json:"pipelineLag,omitempty"`
	// Degraded says why a running STANDARD channel runs fewer than its
	// two pipelines; empty while both run.
	Degraded string `json:"degraded,omitempty"`
	// Warnings are conditions the channel runs in that lessen its
	// redundancy (both pipelines of a STANDARD channel on one node).
	Warnings []string `json:"warnings,omitempty"`
}

// PipelineState is where one pipeline of a STANDARD channel is.
type PipelineState string

// Pipeline states.
const (
	// PipelineStarting: its encoder started and has no segment yet.
	PipelineStarting PipelineState = "STARTING"
	// PipelineRunning: its encoder delivers segments.
	PipelineRunning PipelineState = "RUNNING"
	// PipelineRecovering: its encoder stopped and restarts.
	PipelineRecovering PipelineState = "RECOVERING"
	// PipelineWaiting: it should run and no node holds it yet (being
	// placed, or no node has room).
	PipelineWaiting PipelineState = "WAITING"
	// PipelineLost: its node holds its lease and stopped reporting it
	// (the node died or is cut off; the lease expires soon).
	PipelineLost PipelineState = "LOST"
	// PipelineIdle: it does not run, as the channel does not.
	PipelineIdle PipelineState = "IDLE"
)

// PipelineReport is one pipeline of a STANDARD channel as its node last
// reported it.
type PipelineReport struct {
	// Index is 0 or 1.
	Index int `json:"index"`
	// Node holds the pipeline's lease and runs it (empty when none does).
	Node   string        `json:"node,omitempty"`
	State  PipelineState `json:"state"`
	Reason string        `json:"reason,omitempty"`
	// Speed and FPS are its encoder's.
	Speed    float64 `json:"speed"`
	FPS      float64 `json:"fps"`
	Restarts int     `json:"restarts"`
	// LastSegment is the number of the last segment it completed (absent
	// before its first).
	LastSegment *uint64 `json:"lastSegment,omitempty"`
	// InputActive is false while it shows fill instead of its input.
	InputActive bool `json:"inputActive"`
	// ActiveInput is the input it encodes from.
	ActiveInput string `json:"activeInput,omitempty"`
	// ReportedAt is when its node last reported it.
	ReportedAt time.Time `json:"reportedAt,omitzero"`
	// InputEndpoints are the URLs publishers push the channel's push
	// input to for this pipeline: on its node.
	InputEndpoints []string `json:"inputEndpoints,omitempty"`
}

// PipelineLag is how far one pipeline of a STANDARD channel is behind the
// other.
type PipelineLag struct {
	// Behind is the index of the pipeline that is behind (the lower when
	// they are even).
	Behind int `json:"behind"`
	// Segments is the difference of their last segment numbers, and
	// Seconds that many segments long.
	Segments uint64  `json:"segments"`
	Seconds  float64 `json:"seconds"`
}

// PipelineStatus is what the running encoder reports.
type PipelineStatus struct {
	StartedAt     time.Time `json:"startedAt"`
	Restarts      int       `json:"restarts"`
	Speed         float64   `json:"speed"`
	FPS           float64   `json:"fps"`
	Frames        int64     `json:"frames"`
	DroppedFrames int64     `json:"droppedFrames"`
	DupFrames     int64     `json:"duplicatedFrames"`
	OutTime       float64   `json:"outTimeSeconds"`
	Segments      int64     `json:"segments"`
	// For live inputs: the input on air, whether fill is on air, and totals.
	ActiveInput      string  `json:"activeInput,omitempty"`
	Filling          bool    `json:"filling,omitempty"`
	FillSeconds      float64 `json:"fillSeconds,omitempty"`
	InputLossSeconds float64 `json:"inputLossSeconds,omitempty"`
	InputSwitches    int     `json:"inputSwitches,omitempty"`
	// InputDroppedFrames counts the input's video frames dropped for
	// arriving too far ahead of real time (a publisher faster than real
	// time).
	InputDroppedFrames uint64 `json:"inputDroppedFrames,omitempty"`
	// KeyFrames, on a channel with a passthrough rung, says when the
	// input's key frames do not fall on the segment grid, and what GOP its
	// publisher should set; empty while they do.
	KeyFrames string `json:"keyFrames,omitempty"`
}

// EndpointURL is where viewers find an output group.
type EndpointURL struct {
	Name string     `json:"name"`
	Type OutputType `json:"type"`
	URL  string     `json:"url"`
}

// StateChange is one entry of a channel's state history.
type StateChange struct {
	At     time.Time    `json:"at"`
	From   ChannelState `json:"from"`
	To     ChannelState `json:"to"`
	Reason string       `json:"reason"`
}

// Segment returns the encoder's segment (and GOP) length: segmentSeconds,
// two seconds by default. A channel's own default depends on its endpoints:
// see ChannelSpec.Segment.
func (e *EncoderSettings) Segment() time.Duration {
	if e.SegmentSeconds == 0 {
		return wholeSeconds(DefaultSegmentSeconds)
	}
	return seconds(e.SegmentSeconds)
}

// Window returns how much of the live stream the endpoint's manifests
// offer: windowSeconds, 60 seconds by default.
func (o *OutputGroup) Window() time.Duration {
	if o.WindowSeconds == 0 {
		return wholeSeconds(DefaultWindowSeconds)
	}
	return wholeSeconds(o.WindowSeconds)
}

// DVRWindow returns how much of the stream the endpoint keeps on disk for
// time-shifted manifests and harvests; 0 when it keeps none.
func (o *OutputGroup) DVRWindow() time.Duration { return wholeSeconds(o.DVRWindowSeconds) }

// EffectiveOutputs returns the packaging endpoints: a channel that
// declares no outputs at all gets one HLS endpoint named "hls" and one DASH
// endpoint named "dash". Deliveries are left out (see Deliveries); each
// endpoint's accessors (Window, Part, …) apply the field defaults.
func (s *ChannelSpec) EffectiveOutputs() []OutputGroup {
	outs := s.Outputs
	if len(outs) == 0 {
		outs = []OutputGroup{{Name: "hls", Type: OutputHLS}, {Name: "dash", Type: OutputDASH}}
	}
	res := make([]OutputGroup, 0, len(outs))
	for _, o := range outs {
		if o.Type.IsDelivery() {
			continue
		}
		res = append(res, o)
	}
	return res
}

// SourceEnd returns the attachment's source-end behaviour, LOOP by default.
func (a *InputAttachment) SourceEnd() SourceEnd {
	if a.SourceEndBehavior == "" {
		return SourceEndLoop
	}
	return a.SourceEndBehavior
}

// Validate checks the spec and names every field that is wrong. It does not
// look up the attached inputs; the caller checks they exist.
func (s *ChannelSpec) Validate() error {
	var errs FieldErrors
	errs.CheckName("name", s.Name)
	switch s.ChannelClass {
	case "", ClassSinglePipeline, ClassStandard:
	default:
		errs.Add("channelClass", "unknown channel class "+quote(string(s.ChannelClass))+": one of SINGLE_PIPELINE, STANDARD")
	}
	if s.InputRedundancy != nil && s.ChannelClass != ClassStandard {
		errs.Add("inputRedundancy", "only a STANDARD channel has two pipelines to share its inputs")
	}
	switch len(s.InputAttachments) {
	case 0:
		errs.Add("inputAttachments", "a channel needs one input attachment")
	case 1:
	default:
		errs.Add("inputAttachments", "a channel takes one input attachment; "+strconv.Itoa(len(s.InputAttachments))+" were given")
	}
	for i, a := range s.InputAttachments {
		p := Index("inputAttachments", i)
		errs.CheckName(JoinPath(p, "input"), a.Input)
		switch a.SourceEndBehavior {
		case "", SourceEndLoop, SourceEndContinue:
		default:
			errs.Add(JoinPath(p, "sourceEndBehavior"), "unknown behaviour "+quote(string(a.SourceEndBehavior))+": one of LOOP, CONTINUE")
		}
		if a.SecondaryInput != "" {
			errs.CheckName(JoinPath(p, "secondaryInput"), a.SecondaryInput)
			if a.SecondaryInput == a.Input {
				errs.Add(JoinPath(p, "secondaryInput"), "must differ from the primary input")
			}
		}
		if f := a.Failover; f != nil {
			if a.SecondaryInput == "" {
				errs.Add(JoinPath(p, "failover"), "failover settings need a secondaryInput")
			}
			switch f.Policy {
			case "", PrimaryPreferred, EqualPreference:
			default:
				errs.Add(JoinPath(p, "failover.policy"), "must be PRIMARY_INPUT_PREFERRED or EQUAL")
			}
			if f.ErrorClearMs < 0 || f.ErrorClearMs > 3600000 {
				errs.Add(JoinPath(p, "failover.errorClearMs"), "must be from 0 to 3600000")
			}
		}
	}
	if l := s.InputLoss; l != nil {
		if l.InputLossMs != 0 && (l.InputLossMs < 100 || l.InputLossMs > 60000) {
			errs.Add("inputLoss.inputLossMs", "must be from 100 to 60000")
		}
		switch l.Fill {
		case "", FillBlack, FillLastFrame:
			if l.Slate != "" {
				errs.Add("inputLoss.slate", "a slate image needs fill SLATE")
			}
		case FillSlate:
			if l.Slate == "" || strings.HasPrefix(l.Slate, "/") || strings.Contains(l.Slate, "..") || strings.Contains(l.Slate, ":") {
				errs.Add("inputLoss.slate", "fill SLATE needs an image path inside the media directory")
			}
		default:
			errs.Add("inputLoss.fill", "must be BLACK, SLATE or LAST_FRAME")
		}
	}
	// The ladder is checked at the segment the channel runs (one second on
	// a low-latency channel), the one place a segment length is validated.
	encErr := s.Encoder.validate(s.Segment())
	errs.Merge("encoder", encErr)
	var rungs []string // nil when the ladder is invalid: renditions are not checked
	if encErr == nil {
		if l, err := s.Ladder(); err == nil {
			for _, r := range l.Rungs {
				rungs = append(rungs, r.Name)
			}
		}
	}
	seen := map[string]bool{}
	for i, o := range s.Outputs {
		p := Index("outputs", i)
		errs.CheckName(JoinPath(p, "name"), o.Name)
		if seen[o.Name] {
			errs.Add(JoinPath(p, "name"), "output name "+quote(o.Name)+" is used twice")
		}
		seen[o.Name] = true
		switch {
		case o.Type.IsWebRTC():
			errs.Merge(p, o.validateWebRTC())
			continue
		case o.Type.IsPackaging():
			errs.Merge(p, o.validateEmpty())
		case o.Type.IsDelivery():
			for _, f := range []struct {
				key string
				set bool
			}{
				{"windowSeconds", o.WindowSeconds != 0}, {"requireSignedURLs", o.RequireSignedURLs},
				{"partSeconds", o.PartSeconds != 0}, {"targetLatencySeconds", o.TargetLatencySeconds != 0}, {"encryption", o.Encryption != nil},
				{"dvrWindowSeconds", o.DVRWindowSeconds != 0},
			} {
				if f.set {
					errs.Add(JoinPath(p, f.key), "applies to packaging endpoints only ("+packagingTypeList+")")
				}
			}
			errs.Merge(p, o.validateDelivery(rungs))
			continue
		case o.Type == "":
			errs.Add(JoinPath(p, "type"), "is required: one of "+outputTypeList)
		default:
			errs.Add(JoinPath(p, "type"), "unknown output type "+quote(string(o.Type))+": one of "+outputTypeList)
		}
		errs.Merge(p, o.validateLowLatency(s.Segment()))
		errs.Merge(JoinPath(p, "encryption"), o.validateEncryption())
		seg := s.Segment().Seconds()
		if o.WindowSeconds != 0 && (o.WindowSeconds < 3*int(seg+0.999) || o.WindowSeconds > MaxWindowSeconds) {
			errs.Add(JoinPath(p, "windowSeconds"), "must hold at least three segments and at most "+strconv.Itoa(MaxWindowSeconds)+" seconds")
		}
		if o.DVRWindowSeconds != 0 && o.Type == OutputHLSTS {
			errs.Add(JoinPath(p, "dvrWindowSeconds"), "is not available on HLS_TS endpoints: give the channel an HLS or DASH endpoint with a DVR window")
		}
		if d := o.DVRWindowSeconds; d != 0 && (d < MinDVRWindowSeconds || d > MaxDVRWindowSeconds || d < o.WindowSeconds) {
			errs.Add(JoinPath(p, "dvrWindowSeconds"), "must be between "+strconv.Itoa(MinDVRWindowSeconds)+" seconds and "+strconv.Itoa(MaxDVRWindowSeconds)+" seconds (seven days), and not shorter than windowSeconds")
		}
	}
	return errs.Err()
}
