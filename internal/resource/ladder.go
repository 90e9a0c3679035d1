package resource

import (
	"math"
	"slices"
	"sort"
	"strconv"
	"time"
)

// Rung is a fully resolved ladder rung: every default applied.
type Rung struct {
	Name       string
	Width      int
	Height     int
	Bitrate    Bitrate
	MaxBitrate Bitrate
	FPS        float64
	Profile    string
	Preset     string
	// Passthrough is the input's own video: only Name is set.
	Passthrough bool
}

// Audio is the fully resolved audio description.
type Audio struct {
	Bitrate    Bitrate
	Channels   int
	SampleRate int
}

// Ladder is a resolved set of encoder settings.
type Ladder struct {
	Rungs   []Rung
	Audio   Audio
	Segment time.Duration // also the GOP length
}

// Encoder defaults.
const (
	DefaultFPS          = 30
	DefaultProfile      = "high"
	DefaultPreset       = "veryfast"
	DefaultAudioBitrate = 128000
	DefaultAudioRate    = 48000
	DefaultAudioChans   = 2
)

// namedLadders are the built-in ladders; a channel names one or lists rungs.
var namedLadders = map[string][]VideoDescription{
	"default-1080p": {
		{Name: "1080p", Width: 1920, Height: 1080, Bitrate: 5000000, MaxBitrate: 6000000, FPS: 30, Profile: "high", Preset: "veryfast"},
		{Name: "720p", Width: 1280, Height: 720, Bitrate: 3000000, MaxBitrate: 3600000, FPS: 30, Profile: "high", Preset: "veryfast"},
		{Name: "480p", Width: 854, Height: 480, Bitrate: 1200000, MaxBitrate: 1500000, FPS: 30, Profile: "main", Preset: "veryfast"},
		{Name: "360p", Width: 640, Height: 360, Bitrate: 700000, MaxBitrate: 900000, FPS: 30, Profile: "main", Preset: "veryfast"},
	},
	"default-720p": {
		{Name: "720p", Width: 1280, Height: 720, Bitrate: 3000000, MaxBitrate: 3600000, FPS: 30, Profile: "high", Preset: "veryfast"},
		{Name: "480p", Width: 854, Height: 480, Bitrate: 1200000, MaxBitrate: 1500000, FPS: 30, Profile: "main", Preset: "veryfast"},
		{Name: "360p", Width: 640, Height: 360, Bitrate: 700000, MaxBitrate: 900000, FPS: 30, Profile: "main", Preset: "veryfast"},
	},
	"test-360p": {
		{Name: "360p", Width: 640, Height: 360, Bitrate: 600000, MaxBitrate: 800000, FPS: 25, Profile: "main", Preset: "ultrafast"},
		{Name: "180p", Width: 320, Height: 180, Bitrate: 200000, MaxBitrate: 300000, FPS: 25, Profile: "baseline", Preset: "ultrafast"},
	},
}

// LadderNames lists the built-in ladders in order.
func LadderNames() []string {
	names := make([]string, 0, len(namedLadders))
	for n := range namedLadders {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// NamedLadder returns a copy of a built-in ladder's rungs.
func NamedLadder(name string) ([]VideoDescription, bool) {
	l, ok := namedLadders[name]
	return slices.Clone(l), ok
}

var (
	profiles = []string{"baseline", "main", "high"}
	presets  = []string{"ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow"}
)

// Resolve applies the named ladder and every default. A channel resolves
// its encoder with ChannelSpec.Ladder, whose segment default depends on its
// endpoints.
func (e *EncoderSettings) Resolve() (Ladder, error) { return e.resolve(e.Segment()) }

// resolve is Resolve with the segment length the ladder runs at.
func (e *EncoderSettings) resolve(segment time.Duration) (Ladder, error) {
	if err := e.validate(segment); err != nil {
		return Ladder{}, err
	}
	video := e.Video
	if e.Ladder != "" {
		video = namedLadders[e.Ladder]
	}
	l := Ladder{Segment: segment}
	for _, v := range video {
		r := Rung(v)
		if r.Passthrough {
			l.Rungs = append(l.Rungs, r)
			continue
		}
		if r.MaxBitrate == 0 {
			r.MaxBitrate = r.Bitrate * 6 / 5
		}
		if r.FPS == 0 {
			r.FPS = DefaultFPS
		}
		if r.Profile == "" {
			r.Profile = DefaultProfile
		}
		if r.Preset == "" {
			r.Preset = DefaultPreset
		}
		if e.Preset != "" {
			r.Preset = e.Preset
		}
		l.Rungs = append(l.Rungs, r)
	}
	l.Audio = Audio{Bitrate: DefaultAudioBitrate, Channels: DefaultAudioChans, SampleRate: DefaultAudioRate}
	if a := e.Audio; a != nil {
		if a.Bitrate != 0 {
			l.Audio.Bitrate = a.Bitrate
		}
		if a.Channels != 0 {
			l.Audio.Channels = a.Channels
		}
		if a.SampleRate != 0 {
			l.Audio.SampleRate = a.SampleRate
		}
	}
	return l, nil
}

// Validate checks the encoder settings and names every wrong field.
func (e *EncoderSettings) Validate() error { return e.validate(e.Segment()) }

// validate checks the encoder settings for a ladder that runs at segment.
func (e *EncoderSettings) validate(segment time.Duration) error {
	var errs FieldErrors
	if e.SegmentSeconds != 0 && (e.SegmentSeconds < 0.5 || e.SegmentSeconds > 10) {
		errs.Add("segmentSeconds", "must be between 0.5 and 10 seconds")
	}
	seg := segment.Seconds()
	video := e.Video
	switch {
	case e.Ladder != "" && len(e.Video) > 0:
		errs.Add("ladder", "give either a named ladder or video rungs, not both")
	case e.Ladder != "":
		l, ok := namedLadders[e.Ladder]
		if !ok {
			errs.Add("ladder", "unknown ladder "+quote(e.Ladder)+": one of "+joinQuoted(LadderNames()))
		}
		video = l
	case len(e.Video) == 0:
		errs.Add("video", "the encoder needs a named ladder or at least one video rung")
	}
	if len(video) > 8 {
		errs.Add("video", "at most 8 rungs are supported")
	}
	if e.Preset != "" && !slices.Contains(presets, e.Preset) {
		errs.Add("preset", "unknown x264 preset "+quote(e.Preset)+": one of "+joinQuoted(presets))
	}
	seen := map[string]bool{}
	passthrough := 0
	for i, v := range e.Video {
		p := Index("video", i)
		errs.CheckName(JoinPath(p, "name"), v.Name)
		if seen[v.Name] || v.Name == "audio" {
			errs.Add(JoinPath(p, "name"), "rung name "+quote(v.Name)+" is used twice or is reserved")
		}
		seen[v.Name] = true
		if v.Passthrough {
			passthrough++
			if passthrough > 1 {
				errs.Add(JoinPath(p, "passthrough"), "only one rung may pass the input's video through")
			}
			errs.Merge(p, v.validatePassthrough())
			continue
		}
		if v.Width < 16 || v.Width > 7680 || v.Width%2 != 0 {
			errs.Add(JoinPath(p, "width"), "must be an even number of pixels from 16 to 7680")
		}
		if v.Height < 16 || v.Height > 4320 || v.Height%2 != 0 {
			errs.Add(JoinPath(p, "height"), "must be an even number of pixels from 16 to 4320")
		}
		if v.Bitrate < 50000 || v.Bitrate > 100000000 {
			errs.Add(JoinPath(p, "bitrate"), "must be between 50k and 100M bits per second")
		}
		if v.MaxBitrate != 0 && v.MaxBitrate < v.Bitrate {
			errs.Add(JoinPath(p, "maxBitrate"), "must not be below bitrate")
		}
		fps := v.FPS
		if fps == 0 {
			fps = DefaultFPS
		}
		if fps < 1 || fps > 120 {
			errs.Add(JoinPath(p, "fps"), "must be between 1 and 120")
		} else if frames := fps * seg; math.Abs(frames-math.Round(frames)) > 1e-6 {
			errs.Add(JoinPath(p, "fps"), "fps × segmentSeconds must be a whole number of frames (the GOP), got "+strconv.FormatFloat(frames, 'f', -1, 64))
		}
		if v.Profile != "" && !slices.Contains(profiles, v.Profile) {
			errs.Add(JoinPath(p, "profile"), "unknown H.264 profile "+quote(v.Profile)+": one of "+joinQuoted(profiles))
		}
		if v.Preset != "" && !slices.Contains(presets, v.Preset) {
			errs.Add(JoinPath(p, "preset"), "unknown x264 preset "+quote(v.Preset)+": one of "+joinQuoted(presets))
		}
	}
	if e.Ladder != "" && len(e.Video) == 0 {
		for _, v := range video {
			if frames := v.FPS * seg; math.Abs(frames-math.Round(frames)) > 1e-6 {
				errs.Add("segmentSeconds", "ladder "+quote(e.Ladder)+" runs at "+strconv.FormatFloat(v.FPS, 'f', -1, 64)+" fps; the segment must be a whole number of frames")
				break
			}
		}
	}
	if a := e.Audio; a != nil {
		if a.Bitrate != 0 && (a.Bitrate < 16000 || a.Bitrate > 512000) {
			errs.Add("audio.bitrate", "must be between 16k and 512k")
		}
		if a.Channels != 0 && a.Channels != 1 && a.Channels != 2 {
			errs.Add("audio.channels", "must be 1 or 2")
		}
		switch a.SampleRate {
		case 0, 32000, 44100, 48000:
		default:
			errs.Add("audio.sampleRate", "must be 32000, 44100 or 48000")
		}
	}
	return errs.Err()
}

// validatePassthrough refuses the encoding settings on a passthrough rung:
// its picture, rate and bitrate are the input's.
func (v *VideoDescription) validatePassthrough() error {
	var errs FieldErrors
	for _, f := range []struct {
		key string
		set bool
	}{
		{"width", v.Width != 0}, {"height", v.Height != 0}, {"bitrate", v.Bitrate != 0}, {"maxBitrate", v.MaxBitrate != 0},
		{"fps", v.FPS != 0}, {"profile", v.Profile != ""}, {"preset", v.Preset != ""},
	} {
		if f.set {
			errs.Add(f.key, "a passthrough rung carries the input's own video: it has no "+f.key)
		}
	}
	return errs.Err()
}

// Passthrough returns the ladder's passthrough rung, if it has one.
func (l Ladder) Passthrough() (Rung, bool) {
	for _, r := range l.Rungs {
		if r.Passthrough {
			return r, true
		}
	}
	return Rung{}, false
}

// Encoded returns the rungs the encoder encodes, in ladder order.
func (l Ladder) Encoded() []Rung {
	out := make([]Rung, 0, len(l.Rungs))
	for _, r := range l.Rungs {
		if !r.Passthrough {
			out = append(out, r)
		}
	}
	return out
}

func joinQuoted(list []string) string {
	out := ""
	for i, s := range list {
		if i > 0 {
			out += ", "
		}
		out += s
	}
	return out
}
