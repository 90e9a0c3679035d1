// Package input turns an input resource into what the encoder reads: ffmpeg
// input options for files and generated test patterns, with paths confined
// to the media directory and only the protocols the input type needs.
package input

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/sluice-video/sluice/internal/encoder"
	"github.com/sluice-video/sluice/internal/resource"
)

// Resolver locates file inputs and builds encoder sources.
type Resolver struct {
	// MediaRoot is where relative FILE paths point.
	MediaRoot string
	// FontFile is the font burnt into test patterns; empty uses fontconfig's default.
	FontFile string
}

// Location returns what ffmpeg opens for a FILE input: a file: URL of an
// existing regular file, or the http(s) URL as given.
func (r Resolver) Location(spec resource.InputSpec) (string, error) {
	if spec.Type != resource.InputFile {
		return "", fmt.Errorf("input %s is %s, not FILE", spec.Name, spec.Type)
	}
	if spec.IsRemote() {
		return spec.URL, nil
	}
	p, err := r.LocalPath(spec.URL)
	if err != nil {
		return "", err
	}
	return "file:" + p, nil
}

// LocalPath resolves a FILE path: relative paths are joined to the media
// root and must stay inside it; the file must exist and be a regular file.
func (r Resolver) LocalPath(raw string) (string, error) {
	p := raw
	if !filepath.IsAbs(p) {
		root, err := filepath.Abs(r.MediaRoot)
		if err != nil {
			return "", err
		}
		p = filepath.Join(root, filepath.FromSlash(raw))
		if rel, err := filepath.Rel(root, p); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return "", fmt.Errorf("%s is outside the media directory %s", raw, root)
		}
	}
	p = filepath.Clean(p)
	st, err := os.Stat(p)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return "", fmt.Errorf("%s: no such file", p)
	case err != nil:
		return "", fmt.Errorf("%s: %w", p, err)
	case !st.Mode().IsRegular():
		return "", fmt.Errorf("%s is not a regular file", p)
	}
	return p, nil
}

// Source returns the encoder's input side for an attached input. hasAudio
// says whether the source carries audio (from the probe); silence is
// generated when it does not, so every channel has an audio rendition.
func (r Resolver) Source(spec resource.InputSpec, att resource.InputAttachment, hasAudio bool) (encoder.Source, error) {
	switch spec.Type {
	case resource.InputTestPattern:
		return r.testPattern(spec.TestPattern.WithDefaults()), nil
	case resource.InputFile:
		loc, err := r.Location(spec)
		if err != nil {
			return encoder.Source{}, err
		}
		args := []string{"-re"}
		if att.SourceEnd() == resource.SourceEndLoop {
			args = append(args, "-stream_loop", "-1")
		}
		if spec.IsRemote() {
			args = append(args,
				"-protocol_whitelist", "http,https,tcp,tls,crypto",
				"-reconnect", "1", "-reconnect_streamed", "1", "-reconnect_delay_max", "5",
				"-rw_timeout", "15000000")
		} else {
			args = append(args, "-protocol_whitelist", "file")
		}
		args = append(args, "-i", loc)
		src := encoder.Source{Args: args, Video: "0:v:0", Audio: "0:a:0", Pad: att.SourceEnd() == resource.SourceEndContinue}
		if !hasAudio {
			src.Args = append(src.Args, silence()...)
			src.Audio = "1:a:0"
		}
		return src, nil
	}
	return encoder.Source{}, fmt.Errorf("input %s: type %s cannot feed the encoder", spec.Name, spec.Type)
}

func silence() []string {
	return []string{"-re", "-f", "lavfi", "-i", "anullsrc=r=48000:cl=stereo"}
}

// testPattern is colour bars with the UTC wall clock burnt in, and a tone.
func (r Resolver) testPattern(p resource.TestPattern) encoder.Source {
	font := ""
	if r.FontFile != "" && !strings.ContainsAny(r.FontFile, `:,;[]'\ `) {
		font = "fontfile=" + r.FontFile + ":"
	}
	size := p.Height / 10
	video := fmt.Sprintf("smptehdbars=size=%dx%d:rate=%s,"+
		"drawtext=%stext='%%{gmtime\\:%%H\\\\\\:%%M\\\\\\:%%S} UTC':fontsize=%d:fontcolor=white:"+
		"box=1:boxcolor=black@0.6:boxborderw=%d:x=(w-tw)/2:y=h*0.72",
		p.Width, p.Height, strconv.FormatFloat(p.FPS, 'f', -1, 64), font, size, size/5)
	audio := fmt.Sprintf("sine=frequency=%d:sample_rate=48000", p.ToneHz)
	return encoder.Source{
		Args:  []string{"-re", "-f", "lavfi", "-i", video, "-re", "-f", "lavfi", "-i", audio},
		Video: "0:v:0",
		Audio: "1:a:0",
	}
}
