package input

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-video/sluice/internal/resource"
)

// Probe is what ffprobe found in a FILE input.
type Probe struct {
	Format     string  `json:"format"`
	Duration   float64 `json:"durationSeconds"`
	VideoCodec string  `json:"videoCodec"`
	Width      int     `json:"width"`
	Height     int     `json:"height"`
	FrameRate  float64 `json:"frameRate"`
	AudioCodec string  `json:"audioCodec,omitempty"`
	HasAudio   bool    `json:"hasAudio"`
}

// Prober runs ffprobe on inputs.
type Prober struct {
	Resolver Resolver
	// FFprobe is the ffprobe binary.
	FFprobe string
	// Timeout bounds one probe (default 30 s).
	Timeout time.Duration
}

// ProbeError says why an input cannot be used, naming the file and the
// reason ffprobe gave.
type ProbeError struct {
	Location string
	Reason   string
}

func (e *ProbeError) Error() string { return e.Location + ": " + e.Reason }

// Probe inspects a FILE input. TEST_PATTERN inputs need no probe and return
// a zero Probe with audio.
func (p Prober) Probe(ctx context.Context, spec resource.InputSpec) (Probe, error) {
	if spec.Type == resource.InputTestPattern {
		tp := spec.TestPattern.WithDefaults()
		return Probe{Format: "lavfi", VideoCodec: "rawvideo", Width: tp.Width, Height: tp.Height, FrameRate: tp.FPS, AudioCodec: "pcm", HasAudio: true}, nil
	}
	in, err := p.Resolver.Open(spec)
	if err != nil {
		return Probe{}, &ProbeError{Location: spec.URL, Reason: reasonOf(spec.URL, err)}
	}
	defer in.Close()
	timeout := p.Timeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	bin := p.FFprobe
	if bin == "" {
		bin = "ffprobe"
	}
	display := in.Display
	cmd := exec.CommandContext(ctx, bin, "-hide_banner", "-v", "error", "-protocol_whitelist", in.Whitelist,
		"-show_entries", "format=format_name,duration:stream=codec_type,codec_name,width,height,avg_frame_rate",
		"-of", "json", in.Arg)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if in.Stdin != nil {
		cmd.Stdin = in.Stdin
	}
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return Probe{}, &ProbeError{Location: display, Reason: "ffprobe did not finish within " + timeout.String()}
		}
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			return Probe{}, fmt.Errorf("running ffprobe: %w", err)
		}
		if in.Fetch != nil && in.Fetch.Err() != nil {
			// ffprobe saw only the relay's "502": say what happened upstream.
			return Probe{}, &ProbeError{Location: display, Reason: in.Fetch.Err().Error()}
		}
		return Probe{}, &ProbeError{Location: display, Reason: "ffprobe: " + lastLine(stderr.String(), in.Arg)}
	}
	return parseProbe(display, stdout.Bytes())
}

// reasonOf words why a FILE input cannot be opened, without the path the
// error repeats.
func reasonOf(raw string, err error) string {
	return strings.TrimPrefix(err.Error(), raw+": ")
}

type probeJSON struct {
	Format struct {
		FormatName string `json:"format_name"`
		Duration   string `json:"duration"`
	} `json:"format"`
	Streams []struct {
		CodecType    string `json:"codec_type"`
		CodecName    string `json:"codec_name"`
		Width        int    `json:"width"`
		Height       int    `json:"height"`
		AvgFrameRate string `json:"avg_frame_rate"`
	} `json:"streams"`
}

func parseProbe(display string, data []byte) (Probe, error) {
	var pj probeJSON
	if err := json.Unmarshal(data, &pj); err != nil {
		return Probe{}, &ProbeError{Location: display, Reason: "ffprobe output is not JSON: " + err.Error()}
	}
	pr := Probe{Format: pj.Format.FormatName}
	pr.Duration, _ = strconv.ParseFloat(pj.Format.Duration, 64)
	for _, s := range pj.Streams {
		switch s.CodecType {
		case "video":
			if pr.VideoCodec == "" && s.CodecName != "" && s.CodecName != "mjpeg" && s.CodecName != "png" {
				pr.VideoCodec, pr.Width, pr.Height = s.CodecName, s.Width, s.Height
				pr.FrameRate = parseRate(s.AvgFrameRate)
			}
		case "audio":
			if !pr.HasAudio && s.CodecName != "" {
				pr.HasAudio, pr.AudioCodec = true, s.CodecName
			}
		}
	}
	if pr.VideoCodec == "" {
		return Probe{}, &ProbeError{Location: display, Reason: "the file has no video stream"}
	}
	if pr.Width <= 0 || pr.Height <= 0 {
		return Probe{}, &ProbeError{Location: display, Reason: "the video stream has no picture size (ffprobe could not decode it)"}
	}
	return pr, nil
}

func parseRate(s string) float64 {
	num, den, ok := strings.Cut(s, "/")
	n, err1 := strconv.ParseFloat(num, 64)
	if !ok {
		return n
	}
	d, err2 := strconv.ParseFloat(den, 64)
	if err1 != nil || err2 != nil || d == 0 {
		return 0
	}
	return n / d
}

// lastLine returns ffprobe's most telling error line, without the URL it
// repeats at the start (the caller names the file).
func lastLine(stderr, loc string) string {
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(lines[i])
		if l == "" {
			continue
		}
		l = strings.TrimPrefix(l, loc+": ")
		return l
	}
	return "failed without a message"
}
