package resource

import (
	"net/url"
	"path"
	"regexp"
	"strings"
	"time"
)

// InputType names the kind of source an input reads.
type InputType string

// Input types.
const (
	InputFile        InputType = "FILE"
	InputTestPattern InputType = "TEST_PATTERN"
)

// InputState says whether a channel uses the input.
type InputState string

// Input states.
const (
	InputDetached InputState = "DETACHED"
	InputAttached InputState = "ATTACHED"
)

// InputSpec is what a user declares about an input, in the API or a stack file.
type InputSpec struct {
	Name string    `json:"name"`
	Type InputType `json:"type"`
	// URL is the FILE source: a path (relative paths are under the media
	// directory) or an http(s) URL of an MP4 or MPEG-TS file.
	URL         string       `json:"url,omitempty"`
	TestPattern *TestPattern `json:"testPattern,omitempty"`
}

// TestPattern describes the generated source of a TEST_PATTERN input:
// colour bars, a tone and the wall clock burnt into the picture.
type TestPattern struct {
	Width  int     `json:"width,omitempty"`
	Height int     `json:"height,omitempty"`
	FPS    float64 `json:"fps,omitempty"`
	ToneHz int     `json:"toneHz,omitempty"`
}

// Input is an input as the server keeps it: the spec plus identity and status.
type Input struct {
	ID    string `json:"id"`
	Stack string `json:"stack,omitempty"`
	InputSpec
	State            InputState `json:"state"`
	AttachedChannels []string   `json:"attachedChannels"`
	CreatedAt        time.Time  `json:"createdAt"`
	UpdatedAt        time.Time  `json:"updatedAt"`
}

// Test pattern defaults.
const (
	DefaultPatternWidth  = 1280
	DefaultPatternHeight = 720
	DefaultPatternFPS    = 30
	DefaultPatternToneHz = 1000
)

// WithDefaults returns the pattern with every unset field filled in.
func (p *TestPattern) WithDefaults() TestPattern {
	var out TestPattern
	if p != nil {
		out = *p
	}
	if out.Width == 0 {
		out.Width = DefaultPatternWidth
	}
	if out.Height == 0 {
		out.Height = DefaultPatternHeight
	}
	if out.FPS == 0 {
		out.FPS = DefaultPatternFPS
	}
	if out.ToneHz == 0 {
		out.ToneHz = DefaultPatternToneHz
	}
	return out
}

// IsRemote reports whether a FILE input's URL is an http(s) address.
func (s *InputSpec) IsRemote() bool {
	u := strings.ToLower(s.URL)
	return strings.HasPrefix(u, "http://") || strings.HasPrefix(u, "https://")
}

// Validate checks the spec and names every field that is wrong.
func (s *InputSpec) Validate() error {
	var errs FieldErrors
	errs.CheckName("name", s.Name)
	switch s.Type {
	case InputFile:
		validateFileURL(&errs, s.URL)
		if s.TestPattern != nil {
			errs.Add("testPattern", "only TEST_PATTERN inputs take a testPattern")
		}
	case InputTestPattern:
		if s.URL != "" {
			errs.Add("url", "TEST_PATTERN inputs take no url")
		}
		if p := s.TestPattern; p != nil {
			if p.Width < 0 || p.Width > 7680 || p.Width%2 != 0 {
				errs.Add("testPattern.width", "must be an even number of pixels up to 7680")
			}
			if p.Height < 0 || p.Height > 4320 || p.Height%2 != 0 {
				errs.Add("testPattern.height", "must be an even number of pixels up to 4320")
			}
			if p.FPS < 0 || p.FPS > 120 {
				errs.Add("testPattern.fps", "must be between 1 and 120")
			}
			if p.ToneHz < 0 || p.ToneHz > 20000 {
				errs.Add("testPattern.toneHz", "must be between 1 and 20000")
			}
		}
	case "":
		errs.Add("type", "is required: one of FILE, TEST_PATTERN")
	default:
		errs.Add("type", "unknown input type "+quote(string(s.Type))+": one of FILE, TEST_PATTERN")
	}
	return errs.Err()
}

// schemePattern matches a URL scheme or an ffmpeg protocol prefix ("concat:").
var schemePattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*:`)

func validateFileURL(errs *FieldErrors, raw string) {
	switch {
	case raw == "":
		errs.Add("url", "is required for a FILE input: a path under the media directory or an http(s) URL")
		return
	case strings.ContainsAny(raw, "\x00\r\n"):
		errs.Add("url", "contains a control character")
		return
	}
	lower := strings.ToLower(raw)
	if strings.HasPrefix(lower, "http://") || strings.HasPrefix(lower, "https://") {
		u, err := url.Parse(raw)
		if err != nil || u.Host == "" {
			errs.Add("url", "is not a valid http(s) URL")
		}
		return
	}
	if m := schemePattern.FindString(raw); m != "" {
		errs.Add("url", "scheme "+quote(strings.TrimSuffix(m, ":"))+" is not supported: use a file path or an http(s) URL")
		return
	}
	if !path.IsAbs(raw) {
		for _, part := range strings.Split(raw, "/") {
			if part == ".." {
				errs.Add("url", "a relative path must stay inside the media directory (no ..)")
				return
			}
		}
	}
	ext := strings.ToLower(path.Ext(raw))
	switch ext {
	case ".mp4", ".m4v", ".mov", ".ts", ".m2ts", ".mts", ".mkv":
	default:
		errs.Add("url", "must name an MP4 or MPEG-TS file (.mp4, .mov, .ts, .mkv), not "+quote(path.Base(raw)))
	}
}
