package input

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sluice-video/sluice/internal/confine"
	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/testutil/media"
)

// folders is a media directory, a folder allowed with --media-allow and a
// folder outside both, each with a real MP4, and links from the media
// directory into the others.
type folders struct {
	media, allowed, outside string
	r                       Resolver
}

func newFolders(t *testing.T) folders {
	t.Helper()
	base := t.TempDir()
	f := folders{media: filepath.Join(base, "media"), allowed: filepath.Join(base, "videos"), outside: filepath.Join(base, "private")}
	for _, d := range []string{f.media, f.allowed, f.outside} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	sample := media.Sample(t, t.TempDir(), 160, 90, 1)
	data, err := os.ReadFile(sample)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{filepath.Join(f.media, "in.mp4"), filepath.Join(f.allowed, "show.mp4"), filepath.Join(f.outside, "secret.mp4")} {
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for target, name := range map[string]string{
		"in.mp4":                                "inside-link.mp4",
		filepath.Join(f.outside, "secret.mp4"):  "outside-link.mp4",
		filepath.Join(f.outside, "missing.mp4"): "dangling-link.mp4",
		filepath.Join(f.allowed, "show.mp4"):    "allowed-link.mp4",
	} {
		if err := os.Symlink(target, filepath.Join(f.media, name)); err != nil {
			t.Fatal(err)
		}
	}
	f.r = Resolver{MediaRoot: f.media, MediaAllow: []string{f.allowed}}
	return f
}

func fileInput(url string) resource.InputSpec {
	return resource.InputSpec{Name: "f", Type: resource.InputFile, URL: url}
}

// TestFileInputsStayInTheAllowedFolders probes real files with ffprobe:
// links and absolute paths reach a file only inside the media directory
// or an allowed folder, and a file outside, existing or not, gets one
// and the same answer.
func TestFileInputsStayInTheAllowedFolders(t *testing.T) {
	f := newFolders(t)
	p := Prober{Resolver: f.r, FFprobe: media.Tool(t, "ffprobe")}
	ctx := context.Background()
	for _, url := range []string{"in.mp4", "inside-link.mp4", "allowed-link.mp4", filepath.Join(f.allowed, "show.mp4"), filepath.Join(f.media, "in.mp4")} {
		pr, err := p.Probe(ctx, fileInput(url))
		if err != nil || pr.Width != 160 {
			t.Errorf("%s: %+v %v", url, pr, err)
		}
	}
	refused := map[string]string{
		"outside-link.mp4":                      "",
		"dangling-link.mp4":                     "",
		filepath.Join(f.outside, "secret.mp4"):  "",
		filepath.Join(f.outside, "missing.mp4"): "",
		"../private/secret.mp4":                 "",
	}
	for url := range refused {
		_, err := p.Probe(ctx, fileInput(url))
		var pe *ProbeError
		if !errors.As(err, &pe) || pe.Location != url {
			t.Fatalf("%s: %v, want a ProbeError naming it", url, err)
		}
		refused[url] = pe.Reason
		if pe.Reason != confine.ErrOutside.Error() {
			t.Errorf("%s: reason %q, want %q", url, pe.Reason, confine.ErrOutside)
		}
	}
	if refused["outside-link.mp4"] != refused["dangling-link.mp4"] ||
		refused[filepath.Join(f.outside, "secret.mp4")] != refused[filepath.Join(f.outside, "missing.mp4")] {
		t.Errorf("an existing and a missing file outside get different answers: %q", refused)
	}
	// At creation, the check is by the letters of the path alone.
	if err := f.r.Check(fileInput(filepath.Join(f.outside, "secret.mp4"))); !errors.Is(err, confine.ErrOutside) {
		t.Errorf("Check of an absolute path outside: %v", err)
	}
	if err := f.r.Check(fileInput(filepath.Join(f.allowed, "new.mp4"))); err != nil {
		t.Errorf("Check of a path in an allowed folder: %v", err)
	}
	if _, err := p.Probe(ctx, fileInput("missing.mp4")); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("a missing file in the media directory: %v", err)
	}
}

// TestSourceReadsTheOpenedFile: the encoder gets the checked file on its
// standard input; replacing the path by a link outside afterwards changes
// nothing for it.
func TestSourceReadsTheOpenedFile(t *testing.T) {
	f := newFolders(t)
	src, err := f.r.Source(fileInput("in.mp4"), resource.InputAttachment{Input: "f"}, true)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Stdin.Close()
	want := []string{"-re", "-stream_loop", "-1", "-protocol_whitelist", "file", "-i", "file:/dev/stdin"}
	if !slices.Equal(src.Args, want) || src.Stdin == nil {
		t.Fatalf("source %+v", src)
	}
	in := filepath.Join(f.media, "in.mp4")
	if err := os.Remove(in); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(f.outside, "secret.mp4"), in); err != nil {
		t.Fatal(err)
	}
	st, err := src.Stdin.Stat()
	if err != nil || st.Size() == 0 {
		t.Fatalf("the opened file: %v", err)
	}
	// ffmpeg reads it as file:/dev/stdin, a fresh open of the same file,
	// seekable: looping it once decodes every frame twice.
	cmd := exec.Command(media.Tool(t, "ffprobe"), "-v", "error", "-protocol_whitelist", "file", "-count_frames",
		"-select_streams", "v:0", "-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", "file:/dev/stdin")
	cmd.Stdin = src.Stdin
	out, err := cmd.Output()
	if err != nil || strings.TrimSpace(string(out)) == "" || strings.TrimSpace(string(out)) == "0" {
		t.Fatalf("ffprobe of the opened file: %q %v", out, err)
	}
	loop := exec.Command(media.Tool(t, "ffmpeg"), "-v", "error", "-stream_loop", "1", "-protocol_whitelist", "file", "-i", "file:/dev/stdin", "-map", "0:v:0", "-f", "null", "-")
	loop.Stdin = src.Stdin
	if msg, err := loop.CombinedOutput(); err != nil {
		t.Fatalf("looping the opened file: %v: %s", err, msg)
	}
	if _, err := f.r.Source(fileInput("in.mp4"), resource.InputAttachment{Input: "f"}, true); !errors.Is(err, confine.ErrOutside) {
		t.Errorf("the swapped path: %v", err)
	}
}

func TestSourceArgs(t *testing.T) {
	f := newFolders(t)
	r := f.r
	r.FontFile = "/usr/share/fonts/x.ttf"
	file := fileInput("in.mp4")
	cont, err := r.Source(file, resource.InputAttachment{Input: "f", SourceEndBehavior: resource.SourceEndContinue}, false)
	if err != nil {
		t.Fatal(err)
	}
	_ = cont.Stdin.Close()
	if slices.Contains(cont.Args, "-stream_loop") || !cont.Pad || cont.Audio != "1:a:0" || !slices.Contains(cont.Args, "anullsrc=r=48000:cl=stereo") {
		t.Errorf("CONTINUE source without audio: %+v", cont)
	}
	remote := resource.InputSpec{Name: "r", Type: resource.InputFile, URL: "https://media.example/a.mp4"}
	web, _ := r.Source(remote, resource.InputAttachment{Input: "r"}, true)
	if !slices.Contains(web.Args, "http,https,tcp,tls,crypto") || web.Args[len(web.Args)-1] != "https://media.example/a.mp4" || web.Stdin != nil {
		t.Errorf("remote source: %+v", web)
	}
	tp, _ := r.Source(resource.InputSpec{Name: "t", Type: resource.InputTestPattern}, resource.InputAttachment{Input: "t"}, false)
	joined := strings.Join(tp.Args, " ")
	if !strings.Contains(joined, "smptehdbars=size=1280x720:rate=30") || !strings.Contains(joined, "fontfile=/usr/share/fonts/x.ttf") ||
		!strings.Contains(joined, "gmtime") || !strings.Contains(joined, "sine=frequency=1000") {
		t.Errorf("test pattern: %s", joined)
	}
	if _, err := r.Source(fileInput("gone.mp4"), resource.InputAttachment{}, true); err == nil {
		t.Error("a missing file cannot feed the encoder")
	}
}

func TestParseProbe(t *testing.T) {
	ok := `{"streams":[{"codec_type":"audio","codec_name":"aac"},{"codec_type":"video","codec_name":"h264","width":1920,"height":1080,"avg_frame_rate":"30000/1001"}],"format":{"format_name":"mov,mp4","duration":"12.5"}}`
	p, err := parseProbe("x.mp4", []byte(ok))
	if err != nil || !p.HasAudio || p.Width != 1920 || p.FrameRate < 29.9 || p.FrameRate > 30 || p.Duration != 12.5 {
		t.Errorf("probe %+v %v", p, err)
	}
	for body, reason := range map[string]string{
		`{"streams":[{"codec_type":"audio","codec_name":"aac"}],"format":{}}`:                       "no video stream",
		`{"streams":[{"codec_type":"video","codec_name":"h264","width":0,"height":0}],"format":{}}`: "no picture size",
		`not json`: "not JSON",
	} {
		_, err := parseProbe("x.mp4", []byte(body))
		var pe *ProbeError
		if !errors.As(err, &pe) || !strings.Contains(err.Error(), reason) || !strings.HasPrefix(err.Error(), "x.mp4: ") {
			t.Errorf("%s: %v, want a ProbeError naming the file and %q", body, err, reason)
		}
	}
}
