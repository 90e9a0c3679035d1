package resource

import (
	"fmt"
	"regexp"
	"slices"
	"time"
)

// Preset kinds: what a preset produces.
const (
	// PresetABR is an adaptive ladder packaged as HLS and DASH from the
	// same CMAF segments.
	PresetABR = "ABR"
	// PresetMP4 is one progressive MP4 file per rung.
	PresetMP4 = "MP4"
	// PresetAudio is an audio-only AAC file.
	PresetAudio = "AUDIO"
	// PresetThumbnails is still images at an interval, a sprite sheet and
	// a WebVTT file that maps times to sprite tiles.
	PresetThumbnails = "THUMBNAILS"
)

// PresetRung is one video rendition of a preset.
type PresetRung struct {
	Name    string `json:"name"`
	Width   int    `json:"width"`
	Height  int    `json:"height"`
	Bitrate int64  `json:"bitrate"`
}

// PresetSpec says what an on-demand job makes of its input.
type PresetSpec struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Kind        string `json:"kind"`
	// System presets are built in and cannot be changed.
	System bool         `json:"system,omitempty"`
	Rungs  []PresetRung `json:"rungs,omitempty"`
	// AudioBitrate is the AAC rate in bit/s (default 128000).
	AudioBitrate int64 `json:"audioBitrate,omitempty"`
	// Segment is the segment (and GOP) length in seconds for ABR presets.
	Segment float64 `json:"segment,omitempty"`
	// FPS is the output frame rate (default 30).
	FPS float64 `json:"fps,omitempty"`
	// X264Preset trades speed for quality (default "veryfast").
	X264Preset string `json:"x264Preset,omitempty"`
	// Interval is the time between thumbnails in seconds; Width and
	// Height size each one; Columns is the width of the sprite sheet.
	Interval float64 `json:"interval,omitempty"`
	Width    int     `json:"width,omitempty"`
	Height   int     `json:"height,omitempty"`
	Columns  int     `json:"columns,omitempty"`
	// Stack is the stack that created the preset ("" for the API and the
	// system presets). The server keeps it beside the spec: neither the
	// API's JSON nor a stack file carries it.
	Stack string `json:"-"`
}

// SegmentDuration returns an ABR preset's segment (and GOP) length:
// segment, four seconds by default (see WithDefaults).
func (p PresetSpec) SegmentDuration() time.Duration { return seconds(p.WithDefaults().Segment) }

// NeedsVideo reports whether the preset cannot work on an audio-only input.
func (p PresetSpec) NeedsVideo() bool { return p.Kind != PresetAudio }

var vodNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)

// WithDefaults fills the optional fields.
func (p PresetSpec) WithDefaults() PresetSpec {
	if p.AudioBitrate == 0 {
		p.AudioBitrate = 128000
	}
	if p.Segment == 0 {
		p.Segment = 4
	}
	if p.FPS == 0 {
		p.FPS = 30
	}
	if p.X264Preset == "" {
		p.X264Preset = "veryfast"
	}
	if p.Kind == PresetThumbnails {
		if p.Interval == 0 {
			p.Interval = 5
		}
		if p.Width == 0 {
			p.Width, p.Height = 160, 90
		}
		if p.Columns == 0 {
			p.Columns = 5
		}
	}
	return p
}

// Validate checks a preset, naming every field at fault.
func (p PresetSpec) Validate() error {
	var errs FieldErrors
	if !vodNameRE.MatchString(p.Name) {
		errs.Add("name", fmt.Sprintf("%q: use 1-63 lower-case letters, digits, '.', '_' or '-'", p.Name))
	}
	switch p.Kind {
	case PresetABR, PresetMP4:
		if len(p.Rungs) == 0 {
			errs.Add("rungs", "a "+p.Kind+" preset needs at least one rung")
		}
		seen := map[string]bool{}
		for i, r := range p.Rungs {
			at := func(f string) string { return JoinPath(Index("rungs", i), f) }
			switch {
			case !vodNameRE.MatchString(r.Name) || r.Name == "audio":
				errs.Add(at("name"), fmt.Sprintf("%q: use lower-case letters and digits, not \"audio\"", r.Name))
			case seen[r.Name]:
				errs.Add(at("name"), fmt.Sprintf("%q is used twice", r.Name))
			}
			seen[r.Name] = true
			if r.Width < 16 || r.Width > 7680 || r.Width%2 != 0 {
				errs.Add(at("width"), fmt.Sprintf("%d: want an even number from 16 to 7680", r.Width))
			}
			if r.Height < 16 || r.Height > 4320 || r.Height%2 != 0 {
				errs.Add(at("height"), fmt.Sprintf("%d: want an even number from 16 to 4320", r.Height))
			}
			if r.Bitrate < 50000 || r.Bitrate > 100000000 {
				errs.Add(at("bitrate"), fmt.Sprintf("%d: want 50000 to 100000000 bit/s", r.Bitrate))
			}
		}
	case PresetAudio:
	case PresetThumbnails:
		if p.Interval < 0 {
			errs.Add("interval", "want a positive number of seconds")
		}
		if p.Columns < 0 || p.Columns > 20 {
			errs.Add("columns", "want 1 to 20")
		}
		if p.Width < 0 || p.Width > 1920 || p.Height < 0 || p.Height > 1080 {
			errs.Add("width", "thumbnails are at most 1920x1080")
		}
	default:
		errs.Add("kind", fmt.Sprintf("%q: want ABR, MP4, AUDIO or THUMBNAILS", p.Kind))
	}
	if p.Segment < 0 || p.Segment > 20 {
		errs.Add("segment", fmt.Sprintf("%g: want 1 to 20 seconds", p.Segment))
	}
	if p.FPS < 0 || p.FPS > 120 {
		errs.Add("fps", fmt.Sprintf("%g: want up to 120", p.FPS))
	}
	if p.AudioBitrate < 0 || p.AudioBitrate > 512000 {
		errs.Add("audioBitrate", fmt.Sprintf("%d: want up to 512000 bit/s", p.AudioBitrate))
	}
	if p.X264Preset != "" && !slices.Contains([]string{"ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow"}, p.X264Preset) {
		errs.Add("x264Preset", fmt.Sprintf("%q: want ultrafast, superfast, veryfast, faster, fast, medium or slow", p.X264Preset))
	}
	return errs.Err()
}

// PipelineSpec says where on-demand jobs take their input from and where
// their outputs go.
type PipelineSpec struct {
	Name string `json:"name"`
	// Input is a folder or s3:// bucket and prefix; Watch submits a job for
	// every new object there whose name ends with one of Suffixes. S3
	// credentials come from the environment, never the location; should a
	// location carry user information anyway, it is a secret.
	Input    string   `json:"input" secret:"userinfo"`
	Watch    bool     `json:"watch,omitempty"`
	Suffixes []string `json:"suffixes,omitempty"`
	// Output is a folder or s3:// bucket and prefix (user information is
	// a secret, as in Input).
	Output  string   `json:"output" secret:"userinfo"`
	Presets []string `json:"presets"`
	// Notify names a webhook URL told of every job state change, besides
	// the events on the event bus. Its user information and query are
	// secrets, as in a webhook action's URL. NotifySecret, when set, signs
	// each body as rule and alarm webhooks are signed (Sluice-Signature).
	Notify       string `json:"notify,omitempty" secret:"url"`
	NotifySecret string `json:"notifySecret,omitempty" secret:"value"`
	// Concurrency caps how many of this pipeline's jobs run at once across
	// the nodes (0: no cap beyond the workers').
	Concurrency int `json:"concurrency,omitempty"`
	// Stack is the stack that created the pipeline ("" for the API), kept
	// beside the spec like a preset's. Builtin marks the default pipeline
	// the server makes up while none is stored in its name.
	Stack   string `json:"-"`
	Builtin bool   `json:"-"`
}

// Validate checks a pipeline, naming every field at fault.
func (p PipelineSpec) Validate() error {
	var errs FieldErrors
	if !vodNameRE.MatchString(p.Name) {
		errs.Add("name", fmt.Sprintf("%q: use 1-63 lower-case letters, digits, '.', '_' or '-'", p.Name))
	}
	if p.Input == "" {
		errs.Add("input", "a folder or s3:// location is required")
	}
	if p.Output == "" {
		errs.Add("output", "a folder or s3:// location is required")
	}
	if len(p.Presets) == 0 {
		errs.Add("presets", "name at least one preset")
	}
	if p.Concurrency < 0 {
		errs.Add("concurrency", fmt.Sprintf("%d: want 0 or more", p.Concurrency))
	}
	return errs.Err()
}
