package resource

import (
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Delivery output types: the channel's encoded streams sent elsewhere
// (UDP, RTP, RTMP), written to storage (ARCHIVE), or its decoded pictures
// sampled into storage (FRAME_CAPTURE, DATASET). None of them decodes the
// input a second time, and none of them failing disturbs the channel.
const (
	OutputUDP          OutputType = "UDP"
	OutputRTP          OutputType = "RTP"
	OutputRTMP         OutputType = "RTMP"
	OutputArchive      OutputType = "ARCHIVE"
	OutputFrameCapture OutputType = "FRAME_CAPTURE"
	OutputDataset      OutputType = "DATASET"
)

// Output type lists, for error messages.
const (
	packagingTypeList = "HLS, DASH, LL_HLS, LL_DASH, HLS_TS"
	deliveryTypeList  = "UDP, RTP, RTMP, ARCHIVE, FRAME_CAPTURE, DATASET"
	outputTypeList    = packagingTypeList + ", " + deliveryTypeList + ", WEBRTC"
)

// IsPackaging reports whether the type is a packaging endpoint served by
// the origin.
func (t OutputType) IsPackaging() bool {
	switch t {
	case OutputHLS, OutputDASH, OutputLLHLS, OutputLLDASH, OutputHLSTS:
		return true
	}
	return false
}

// IsDelivery reports whether the type is a delivery rather than a packaging
// endpoint served by the origin.
func (t OutputType) IsDelivery() bool {
	switch t {
	case OutputUDP, OutputRTP, OutputRTMP, OutputArchive, OutputFrameCapture, OutputDataset:
		return true
	}
	return false
}

// Archive containers and picture formats.
const (
	ContainerTS  = "TS"
	ContainerMP4 = "MP4"
	ImageJPEG    = "JPEG"
	ImagePNG     = "PNG"
	// ImageNPY is a NumPy array file (uint8, height × width × 3), for
	// DATASET outputs read straight into training code.
	ImageNPY = "NPY"
)

// Delivery defaults.
const (
	DefaultRollMinutes     = 10
	DefaultCaptureInterval = 10
	DefaultDatasetFPS      = 1
)

// DeliverySettings are the settings of delivery outputs; each applies to
// the types named in its comment.
type DeliverySettings struct {
	// Destination is where UDP, RTP and RTMP outputs send the stream:
	// udp://host:port, rtp://host:port, rtmp://host[:port]/app/key or
	// rtmps://…. An RTMP destination's key (the path after the
	// application) belongs to the receiving service: a secret.
	Destination string `json:"destination,omitempty" secret:"url,STREAM-KEY-HIDDEN"`
	// Rendition names the ladder rung delivered or sampled (default: the
	// first rung of the ladder).
	Rendition string `json:"rendition,omitempty"`
	// Container is the ARCHIVE file format: TS (default) or MP4.
	Container string `json:"container,omitempty"`
	// RollMinutes (or RollSeconds, for short rolls) is how long each ARCHIVE
	// file covers (default 10 minutes).
	RollMinutes int `json:"rollMinutes,omitempty"`
	RollSeconds int `json:"rollSeconds,omitempty"`
	// IntervalSeconds is the time between FRAME_CAPTURE pictures (default 10).
	IntervalSeconds float64 `json:"intervalSeconds,omitempty"`
	// FPS is how many frames a second a DATASET keeps (default 1).
	FPS float64 `json:"fps,omitempty"`
	// Width and Height are the picture size of FRAME_CAPTURE and DATASET
	// (default: the rendition's size); the picture is letterboxed to fit.
	Width  int `json:"width,omitempty"`
	Height int `json:"height,omitempty"`
	// RetentionMinutes deletes ARCHIVE and FRAME_CAPTURE files older than
	// that (default 0: keep everything).
	RetentionMinutes int `json:"retentionMinutes,omitempty"`
	// Format is the FRAME_CAPTURE and DATASET picture format: JPEG
	// (default) or PNG, or for DATASET also NPY (NumPy arrays).
	Format string `json:"format,omitempty"`
}

// Deliveries returns the delivery outputs, with the defaults of their
// container, picture format and dataset rate applied. Lengths of time have
// their defaults in their accessors (Roll, Interval, Retention), and the
// rendition in DeliveryRendition, which needs the ladder.
func (s *ChannelSpec) Deliveries() []OutputGroup {
	var res []OutputGroup
	for _, o := range s.Outputs {
		if !o.Type.IsDelivery() {
			continue
		}
		switch o.Type {
		case OutputArchive:
			if o.Container == "" {
				o.Container = ContainerTS
			}
		case OutputDataset:
			if o.FPS == 0 {
				o.FPS = DefaultDatasetFPS
			}
		}
		if (o.Type == OutputFrameCapture || o.Type == OutputDataset) && o.Format == "" {
			o.Format = ImageJPEG
		}
		res = append(res, o)
	}
	return res
}

// Roll returns how long each ARCHIVE file covers: rollSeconds, else
// rollMinutes, ten minutes by default.
func (d *DeliverySettings) Roll() time.Duration {
	switch {
	case d.RollSeconds > 0:
		return wholeSeconds(d.RollSeconds)
	case d.RollMinutes > 0:
		return wholeSeconds(d.RollMinutes * 60)
	}
	return wholeSeconds(DefaultRollMinutes * 60)
}

// Interval returns the time between FRAME_CAPTURE pictures:
// intervalSeconds, ten seconds by default.
func (d *DeliverySettings) Interval() time.Duration {
	if d.IntervalSeconds == 0 {
		return wholeSeconds(DefaultCaptureInterval)
	}
	return seconds(d.IntervalSeconds)
}

// Retention returns the age past which ARCHIVE and FRAME_CAPTURE files
// are deleted: retentionMinutes; 0 (the default) keeps every file.
func (d *DeliverySettings) Retention() time.Duration {
	return wholeSeconds(max(d.RetentionMinutes, 0) * 60)
}

// DeliveryRendition returns the rung an output takes: the one it names, or
// the ladder's first.
func DeliveryRendition(o OutputGroup, l Ladder) (Rung, bool) {
	if len(l.Rungs) == 0 {
		return Rung{}, false
	}
	if o.Rendition == "" {
		return l.Rungs[0], true
	}
	for _, r := range l.Rungs {
		if r.Name == o.Rendition {
			return r, true
		}
	}
	return Rung{}, false
}

// validateEmpty refuses delivery settings on a packaging endpoint.
func (d *DeliverySettings) validateEmpty() error {
	var errs FieldErrors
	for _, f := range d.setFields() {
		errs.Add(f, "applies to delivery outputs only ("+deliveryTypeList+")")
	}
	return errs.Err()
}

// setFields lists the JSON names of the settings that are set.
func (d *DeliverySettings) setFields() []string {
	var set []string
	add := func(name string, on bool) {
		if on {
			set = append(set, name)
		}
	}
	add("destination", d.Destination != "")
	add("rendition", d.Rendition != "")
	add("container", d.Container != "")
	add("rollMinutes", d.RollMinutes != 0)
	add("rollSeconds", d.RollSeconds != 0)
	add("intervalSeconds", d.IntervalSeconds != 0)
	add("fps", d.FPS != 0)
	add("width", d.Width != 0)
	add("height", d.Height != 0)
	add("format", d.Format != "")
	add("retentionMinutes", d.RetentionMinutes != 0)
	return set
}

// allowedFields are the settings each delivery type takes.
var allowedFields = map[OutputType][]string{
	OutputUDP:          {"destination", "rendition"},
	OutputRTP:          {"destination", "rendition"},
	OutputRTMP:         {"destination", "rendition"},
	OutputArchive:      {"rendition", "container", "rollMinutes", "rollSeconds", "retentionMinutes"},
	OutputFrameCapture: {"rendition", "intervalSeconds", "width", "height", "format", "retentionMinutes"},
	OutputDataset:      {"rendition", "fps", "width", "height", "format"},
}

// validateDelivery checks a delivery output; rungs, when known, are the
// ladder's rendition names.
func (o *OutputGroup) validateDelivery(rungs []string) error {
	var errs FieldErrors
	allowed := allowedFields[o.Type]
	for _, f := range o.setFields() {
		if !slices.Contains(allowed, f) {
			errs.Add(f, "does not apply to "+string(o.Type)+" outputs")
		}
	}
	if o.RetentionMinutes != 0 && (o.RetentionMinutes < 1 || o.RetentionMinutes > 525600) {
		errs.Add("retentionMinutes", "must be from 1 to 525600 (a year)")
	}
	if o.Rendition != "" && rungs != nil && !slices.Contains(rungs, o.Rendition) {
		errs.Add("rendition", "no rendition "+quote(o.Rendition)+" in the ladder; one of "+strings.Join(rungs, ", "))
	}
	switch o.Type {
	case OutputUDP, OutputRTP:
		errs.Merge("destination", checkDatagramURL(o.Destination, strings.ToLower(string(o.Type))))
	case OutputRTMP:
		errs.Merge("destination", checkRTMPURL(o.Destination))
	case OutputArchive:
		switch o.Container {
		case "", ContainerTS, ContainerMP4:
		default:
			errs.Add("container", "unknown container "+quote(o.Container)+": TS or MP4")
		}
		if o.RollMinutes != 0 && o.RollSeconds != 0 {
			errs.Add("rollSeconds", "give rollMinutes or rollSeconds, not both")
		}
		if o.RollMinutes != 0 && (o.RollMinutes < 1 || o.RollMinutes > 1440) {
			errs.Add("rollMinutes", "must be from 1 to 1440")
		}
		if o.RollSeconds != 0 && (o.RollSeconds < 10 || o.RollSeconds > 86400) {
			errs.Add("rollSeconds", "must be from 10 to 86400")
		}
	case OutputFrameCapture:
		if o.IntervalSeconds != 0 && (o.IntervalSeconds < 0.1 || o.IntervalSeconds > 86400) {
			errs.Add("intervalSeconds", "must be from 0.1 to 86400")
		}
	case OutputDataset:
		if o.FPS != 0 && (o.FPS < 0.01 || o.FPS > 60) {
			errs.Add("fps", "must be from 0.01 to 60")
		}
	}
	if o.Type == OutputFrameCapture || o.Type == OutputDataset {
		checkPictureSize(&errs, o.Width, o.Height)
		switch o.Format {
		case "", ImageJPEG, ImagePNG:
		case ImageNPY:
			if o.Type != OutputDataset {
				errs.Add("format", "NPY applies to DATASET outputs; a frame capture is JPEG or PNG")
			}
		default:
			errs.Add("format", "unknown picture format "+quote(o.Format)+": JPEG, PNG or (DATASET) NPY")
		}
	}
	return errs.Err()
}

// Picture size limits of frame outputs and the frames API.
const (
	MinFrameSide = 16
	MaxFrameSide = 3840
)

func checkPictureSize(errs *FieldErrors, w, h int) {
	if (w == 0) != (h == 0) {
		errs.Add("width", "give width and height together")
		return
	}
	for _, s := range []struct {
		key string
		v   int
	}{{"width", w}, {"height", h}} {
		if s.v != 0 && (s.v < MinFrameSide || s.v > MaxFrameSide || s.v%2 != 0) {
			errs.Add(s.key, "must be an even number from "+strconv.Itoa(MinFrameSide)+" to "+strconv.Itoa(MaxFrameSide))
		}
	}
}

// checkDatagramURL accepts scheme://host:port and nothing else: no path, no
// options, no credentials, so the URL cannot steer the muxer.
func checkDatagramURL(raw, scheme string) error {
	var errs FieldErrors
	if raw == "" {
		errs.Add("", "is required: "+scheme+"://host:port")
		return errs.Err()
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		errs.Add("", "is not a URL: "+quote(raw))
	case u.Scheme != scheme:
		errs.Add("", "must be "+scheme+"://host:port, not "+quote(raw))
	case u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "":
		errs.Add("", "takes only "+scheme+"://host:port, without user, path or options: "+quote(raw))
	default:
		checkHostPort(&errs, u.Host, true)
	}
	return errs.Err()
}

// checkRTMPURL accepts rtmp(s)://host[:port]/app[/key…].
func checkRTMPURL(raw string) error {
	var errs FieldErrors
	if raw == "" {
		errs.Add("", "is required: rtmp://host[:port]/app/key")
		return errs.Err()
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		errs.Add("", "is not a URL")
	case u.Scheme != "rtmp" && u.Scheme != "rtmps":
		errs.Add("", "must be rtmp://host[:port]/app/key or rtmps://…")
	case u.User != nil || u.Fragment != "" || u.Opaque != "":
		errs.Add("", "takes no user or fragment: put the stream key in the path")
	case strings.Trim(u.Path, "/") == "":
		errs.Add("", "needs an application name and stream key: rtmp://host/app/key")
	case strings.ContainsAny(u.Path, " \t\r\n"):
		errs.Add("", "the path must not contain spaces")
	default:
		checkHostPort(&errs, u.Host, false)
	}
	return errs.Err()
}

func checkHostPort(errs *FieldErrors, hostport string, needPort bool) {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		if needPort {
			errs.Add("", "needs a host and a port: "+quote(hostport))
			return
		}
		host, port = hostport, ""
	}
	if host == "" {
		errs.Add("", "needs a host")
	}
	if port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			errs.Add("", "port must be from 1 to 65535, not "+quote(port))
		}
	}
}

// DeliveryState is how a delivery output is doing.
type DeliveryState string

// Delivery states.
const (
	// DeliveryWaiting waits for the encoder's next run or key frame.
	DeliveryWaiting DeliveryState = "WAITING"
	// DeliveryActive is delivering.
	DeliveryActive DeliveryState = "ACTIVE"
	// DeliveryRetrying failed (see lastError) and tries again after a delay.
	DeliveryRetrying DeliveryState = "RETRYING"
)

// DeliveryStatus is the live status of one delivery output of a running
// channel.
type DeliveryStatus struct {
	Name      string        `json:"name"`
	Type      OutputType    `json:"type"`
	State     DeliveryState `json:"state"`
	Since     time.Time     `json:"since"`
	Failures  int           `json:"failures"`
	LastError string        `json:"lastError,omitempty"`
	// Path is where ARCHIVE, FRAME_CAPTURE and DATASET files go, relative
	// to the media directory.
	Path string `json:"path,omitempty"`
}
