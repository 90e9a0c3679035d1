// Package input turns an input resource into what the encoder reads: ffmpeg
// input options for files and generated test patterns, with files confined
// to the media directory and the allowed folders, remote files fetched
// under the outbound policy, and only the protocols the input type needs.
package input

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/sluice-video/sluice/internal/confine"
	"github.com/sluice-video/sluice/internal/encoder"
	"github.com/sluice-video/sluice/internal/outbound"
	"github.com/sluice-video/sluice/internal/resource"
)

// Resolver locates file inputs and builds encoder sources.
type Resolver struct {
	// MediaRoot is where relative FILE paths point.
	MediaRoot string
	// MediaAllow lists the other folders absolute FILE paths may name
	// (--media-allow); see the confine package for the rule.
	MediaAllow []string
	// Relay fetches http(s) FILE inputs for ffmpeg under the outbound
	// policy; nil lets ffmpeg fetch them itself.
	Relay Relay
	// FontFile is the font burnt into test patterns; empty uses fontconfig's default.
	FontFile string
}

// Relay hands ffmpeg a local URL for a remote file (*outbound.Relay).
type Relay interface {
	Open(remote string) (*outbound.Fetch, error)
}

// Opened is a FILE input ready for ffmpeg: Arg is what follows "-i".
// A local file is open (Stdin) and read by ffmpeg as file:/dev/stdin, so
// what ffmpeg reads is the file that was checked; a remote one goes
// through the relay (Fetch). Close releases both.
type Opened struct {
	Arg       string
	Whitelist string
	Stdin     *os.File
	Fetch     *outbound.Fetch
	// Display names the input in messages.
	Display string
}

// Close releases the file and the relayed URL.
func (o *Opened) Close() {
	if o.Stdin != nil {
		_ = o.Stdin.Close()
	}
	if o.Fetch != nil {
		o.Fetch.Close()
	}
}

// roots returns the folders FILE inputs may be in.
func (r Resolver) roots() (*confine.Roots, error) {
	return confine.New(r.MediaRoot, r.MediaAllow)
}

// Check says whether a FILE input's path is inside the allowed folders, by
// its letters alone (at creation, before anything is opened).
func (r Resolver) Check(spec resource.InputSpec) error {
	if spec.Type != resource.InputFile || spec.IsRemote() {
		return nil
	}
	roots, err := r.roots()
	if err != nil {
		return err
	}
	return roots.Check(spec.URL)
}

// OpenFile opens a local file a user named (a FILE input, a slate) inside
// the media directory or an allowed folder.
func (r Resolver) OpenFile(raw string) (*os.File, error) {
	roots, err := r.roots()
	if err != nil {
		return nil, err
	}
	return roots.Open(raw)
}

// Open prepares a FILE input for ffmpeg; the caller closes it once ffmpeg
// has ended (or, for Stdin, started).
func (r Resolver) Open(spec resource.InputSpec) (*Opened, error) {
	if spec.Type != resource.InputFile {
		return nil, fmt.Errorf("input %s is %s, not FILE", spec.Name, spec.Type)
	}
	if spec.IsRemote() {
		o := &Opened{Arg: spec.URL, Whitelist: "http,https,tcp,tls,crypto", Display: spec.URL}
		if r.Relay != nil {
			f, err := r.Relay.Open(spec.URL)
			if err != nil {
				return nil, err
			}
			// The relay is plain HTTP on loopback; it fetches upstream.
			o.Arg, o.Whitelist, o.Fetch = f.URL, "http,tcp", f
		}
		return o, nil
	}
	f, err := r.OpenFile(spec.URL)
	if err != nil {
		return nil, err
	}
	return &Opened{Arg: "file:/dev/stdin", Whitelist: "file", Stdin: f, Display: spec.URL}, nil
}

// Source returns the encoder's input side for an attached input. hasAudio
// says whether the source carries audio (from the probe); silence is
// generated when it does not, so every channel has an audio rendition.
func (r Resolver) Source(spec resource.InputSpec, att resource.InputAttachment, hasAudio bool) (encoder.Source, error) {
	switch spec.Type {
	case resource.InputTestPattern:
		return r.testPattern(spec.TestPattern.WithDefaults()), nil
	case resource.InputFile:
		in, err := r.Open(spec)
		if err != nil {
			return encoder.Source{}, err
		}
		args := []string{"-re"}
		if att.SourceEnd() == resource.SourceEndLoop {
			args = append(args, "-stream_loop", "-1")
		}
		args = append(args, "-protocol_whitelist", in.Whitelist)
		if spec.IsRemote() {
			args = append(args,
				"-reconnect", "1", "-reconnect_streamed", "1", "-reconnect_delay_max", "5",
				"-rw_timeout", "15000000")
		}
		args = append(args, "-i", in.Arg)
		src := encoder.Source{Args: args, Stdin: in.Stdin, Video: "0:v:0", Audio: "0:a:0", Pad: att.SourceEnd() == resource.SourceEndContinue}
		if in.Fetch != nil {
			src.Release = in.Fetch.Close
		}
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
