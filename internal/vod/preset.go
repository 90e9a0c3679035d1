// Package vod is on-demand transcoding: presets say what to make of a file,
// pipelines say where files come from and where the results go, and jobs
// run on the durable queue through probing, transcoding, packaging and
// uploading. Adaptive outputs are CMAF segments cut by Sluice's packager
// and described by both an HLS and a DASH manifest.
package vod

import (
	"fmt"
	"regexp"
	"slices"

	"github.com/sluice-video/sluice/internal/resource"
)

// Preset kinds: what a preset produces.
const (
	// KindABR is an adaptive ladder packaged as HLS and DASH from the same
	// CMAF segments.
	KindABR = "ABR"
	// KindMP4 is one progressive MP4 file per rung.
	KindMP4 = "MP4"
	// KindAudio is an audio-only AAC file.
	KindAudio = "AUDIO"
	// KindThumbnails is still images at an interval, a sprite sheet and a
	// WebVTT file that maps times to sprite tiles.
	KindThumbnails = "THUMBNAILS"
)

// Rung is one video rendition of a preset.
type Rung struct {
	Name    string `json:"name" yaml:"name"`
	Width   int    `json:"width" yaml:"width"`
	Height  int    `json:"height" yaml:"height"`
	Bitrate int64  `json:"bitrate" yaml:"bitrate"`
}

// Preset says what a job makes of its input.
type Preset struct {
	Name        string `json:"name" yaml:"name"`
	Description string `json:"description,omitempty" yaml:"description"`
	Kind        string `json:"kind" yaml:"kind"`
	// System presets are built in and cannot be changed.
	System bool   `json:"system" yaml:"-"`
	Rungs  []Rung `json:"rungs,omitempty" yaml:"rungs"`
	// AudioBitrate is the AAC rate in bit/s (default 128000).
	AudioBitrate int64 `json:"audioBitrate,omitempty" yaml:"audioBitrate"`
	// Segment is the segment (and GOP) length in seconds for ABR presets.
	Segment float64 `json:"segment,omitempty" yaml:"segment"`
	// FPS is the output frame rate (default 30; 25 in the test presets).
	FPS float64 `json:"fps,omitempty" yaml:"fps"`
	// X264Preset trades speed for quality (default "veryfast").
	X264Preset string `json:"x264Preset,omitempty" yaml:"x264Preset"`
	// Interval is the time between thumbnails in seconds; Width and
	// Height size each one; Columns is the width of the sprite sheet.
	Interval float64 `json:"interval,omitempty" yaml:"interval"`
	Width    int     `json:"width,omitempty" yaml:"width"`
	Height   int     `json:"height,omitempty" yaml:"height"`
	Columns  int     `json:"columns,omitempty" yaml:"columns"`
}

// NeedsVideo reports whether the preset cannot work on an audio-only input.
func (p Preset) NeedsVideo() bool { return p.Kind != KindAudio }

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)

// WithDefaults fills the optional fields.
func (p Preset) WithDefaults() Preset {
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
	if p.Kind == KindThumbnails {
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

// Validate checks a preset, naming the field at fault.
func (p Preset) Validate() error {
	if !nameRE.MatchString(p.Name) {
		return fmt.Errorf("name %q: use 1-63 lower-case letters, digits, '.', '_' or '-'", p.Name)
	}
	switch p.Kind {
	case KindABR, KindMP4:
		if len(p.Rungs) == 0 {
			return fmt.Errorf("rungs: a %s preset needs at least one rung", p.Kind)
		}
		seen := map[string]bool{}
		for i, r := range p.Rungs {
			switch {
			case !nameRE.MatchString(r.Name) || r.Name == "audio":
				return fmt.Errorf("rungs[%d].name %q: use lower-case letters and digits, not \"audio\"", i, r.Name)
			case seen[r.Name]:
				return fmt.Errorf("rungs[%d].name %q: used twice", i, r.Name)
			case r.Width < 16 || r.Width > 7680 || r.Width%2 != 0:
				return fmt.Errorf("rungs[%d].width %d: want an even number from 16 to 7680", i, r.Width)
			case r.Height < 16 || r.Height > 4320 || r.Height%2 != 0:
				return fmt.Errorf("rungs[%d].height %d: want an even number from 16 to 4320", i, r.Height)
			case r.Bitrate < 50000 || r.Bitrate > 100000000:
				return fmt.Errorf("rungs[%d].bitrate %d: want 50000 to 100000000 bit/s", i, r.Bitrate)
			}
			seen[r.Name] = true
		}
	case KindAudio:
	case KindThumbnails:
		if p.Interval < 0 || p.Columns < 0 || p.Columns > 20 {
			return fmt.Errorf("interval and columns: want a positive interval and 1 to 20 columns")
		}
	default:
		return fmt.Errorf("kind %q: want ABR, MP4, AUDIO or THUMBNAILS", p.Kind)
	}
	if p.Segment < 0 || p.Segment > 20 {
		return fmt.Errorf("segment %g: want 1 to 20 seconds", p.Segment)
	}
	if p.FPS < 0 || p.FPS > 120 {
		return fmt.Errorf("fps %g: want up to 120", p.FPS)
	}
	if p.X264Preset != "" && !slices.Contains([]string{"ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow"}, p.X264Preset) {
		return fmt.Errorf("x264Preset %q: want ultrafast, superfast, veryfast, faster, fast, medium or slow", p.X264Preset)
	}
	return nil
}

// ladder turns an ABR or MP4 preset into the encoder's ladder.
func (p Preset) ladder() resource.Ladder {
	p = p.WithDefaults()
	l := resource.Ladder{Segment: p.Segment, Audio: resource.Audio{Bitrate: resource.Bitrate(p.AudioBitrate), Channels: 2, SampleRate: 48000}}
	for _, r := range p.Rungs {
		profile := "high"
		if r.Height < 480 {
			profile = "main"
		}
		l.Rungs = append(l.Rungs, resource.Rung{
			Name: r.Name, Width: r.Width, Height: r.Height,
			Bitrate: resource.Bitrate(r.Bitrate), MaxBitrate: resource.Bitrate(r.Bitrate * 6 / 5),
			FPS: p.FPS, Profile: profile, Preset: p.X264Preset,
		})
	}
	return l
}

// SystemPresets are the built-in presets.
func SystemPresets() []Preset {
	return []Preset{
		{Name: "system-abr", System: true, Kind: KindABR, Description: "HLS and DASH ladder 2M/1.5M/1M/600k/400k from the same CMAF segments",
			Rungs: []Rung{
				{Name: "1080p", Width: 1920, Height: 1080, Bitrate: 2000000},
				{Name: "720p", Width: 1280, Height: 720, Bitrate: 1500000},
				{Name: "540p", Width: 960, Height: 540, Bitrate: 1000000},
				{Name: "360p", Width: 640, Height: 360, Bitrate: 600000},
				{Name: "270p", Width: 480, Height: 270, Bitrate: 400000},
			}},
		{Name: "system-mp4", System: true, Kind: KindMP4, Description: "progressive MP4 renditions at 720p and 360p",
			Rungs: []Rung{{Name: "720p", Width: 1280, Height: 720, Bitrate: 2500000}, {Name: "360p", Width: 640, Height: 360, Bitrate: 700000}}},
		{Name: "system-audio", System: true, Kind: KindAudio, Description: "audio only: AAC 128 kbit/s in an M4A file"},
		{Name: "system-thumbnails", System: true, Kind: KindThumbnails, Description: "a 160x90 thumbnail every 5 s, a sprite sheet and a WebVTT track"},
		{Name: "test-abr", System: true, Kind: KindABR, Description: "a small, fast HLS and DASH ladder for tests and trials",
			FPS: 25, Segment: 2, X264Preset: "ultrafast", AudioBitrate: 64000,
			Rungs: []Rung{{Name: "360p", Width: 640, Height: 360, Bitrate: 500000}, {Name: "180p", Width: 320, Height: 180, Bitrate: 200000}}},
		{Name: "test-mp4", System: true, Kind: KindMP4, Description: "one small, fast MP4 rendition for tests",
			FPS: 25, X264Preset: "ultrafast", AudioBitrate: 64000, Rungs: []Rung{{Name: "180p", Width: 320, Height: 180, Bitrate: 200000}}},
		{Name: "test-thumbnails", System: true, Kind: KindThumbnails, Description: "a thumbnail every second, for tests",
			Interval: 1, Width: 96, Height: 54, Columns: 4},
	}
}

// systemPreset returns the built-in preset with that name.
func systemPreset(name string) (Preset, bool) {
	for _, p := range SystemPresets() {
		if p.Name == name {
			return p, true
		}
	}
	return Preset{}, false
}
