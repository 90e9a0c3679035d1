// Package vod is on-demand transcoding: presets say what to make of a file,
// pipelines say where files come from and where the results go, and jobs
// run on the durable queue through probing, transcoding, packaging and
// uploading. Adaptive outputs are CMAF segments cut by Sluice's packager
// and described by both an HLS and a DASH manifest.
package vod

import (
	"github.com/sluice-video/sluice/internal/resource"
)

// Preset kinds.
const (
	KindABR        = resource.PresetABR
	KindMP4        = resource.PresetMP4
	KindAudio      = resource.PresetAudio
	KindThumbnails = resource.PresetThumbnails
)

// Preset says what a job makes of its input.
type Preset = resource.PresetSpec

// Rung is one video rendition of a preset.
type Rung = resource.PresetRung

// LadderOf turns an ABR or MP4 preset into the encoder's ladder.
func LadderOf(p Preset) resource.Ladder {
	p = p.WithDefaults()
	l := resource.Ladder{Segment: p.SegmentDuration(), Audio: resource.Audio{Bitrate: resource.Bitrate(p.AudioBitrate), Channels: 2, SampleRate: 48000}}
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
