package input

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sluice-video/sluice/internal/resource"
)

func TestLocalPathStaysInTheMediaRoot(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "a.mp4"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(root, "dir.mp4"), 0o700); err != nil {
		t.Fatal(err)
	}
	r := Resolver{MediaRoot: root}
	cases := []struct {
		raw, want, err string
	}{
		{"a.mp4", filepath.Join(root, "a.mp4"), ""},
		{"./sub/../a.mp4", filepath.Join(root, "a.mp4"), ""},
		{"../a.mp4", "", "outside the media directory"},
		{"sub/../../etc/x.mp4", "", "outside the media directory"},
		{"missing.mp4", "", "no such file"},
		{"dir.mp4", "", "not a regular file"},
		{filepath.Join(root, "a.mp4"), filepath.Join(root, "a.mp4"), ""},
	}
	for _, c := range cases {
		got, err := r.LocalPath(c.raw)
		switch {
		case c.err == "" && (err != nil || got != c.want):
			t.Errorf("%s: %q %v, want %q", c.raw, got, err, c.want)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s: error %v, want one saying %q", c.raw, err, c.err)
		}
	}
}

func TestSourceArgs(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "a.mp4"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := Resolver{MediaRoot: root, FontFile: "/usr/share/fonts/x.ttf"}
	file := resource.InputSpec{Name: "f", Type: resource.InputFile, URL: "a.mp4"}

	loop, err := r.Source(file, resource.InputAttachment{Input: "f"}, true)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"-re", "-stream_loop", "-1", "-protocol_whitelist", "file", "-i", "file:" + filepath.Join(root, "a.mp4")}
	if !slices.Equal(loop.Args, want) || loop.Pad || loop.Audio != "0:a:0" {
		t.Errorf("LOOP source: %+v", loop)
	}
	cont, _ := r.Source(file, resource.InputAttachment{Input: "f", SourceEndBehavior: resource.SourceEndContinue}, false)
	if slices.Contains(cont.Args, "-stream_loop") || !cont.Pad || cont.Audio != "1:a:0" || !slices.Contains(cont.Args, "anullsrc=r=48000:cl=stereo") {
		t.Errorf("CONTINUE source without audio: %+v", cont)
	}
	remote := resource.InputSpec{Name: "r", Type: resource.InputFile, URL: "https://media.example/a.mp4"}
	web, _ := r.Source(remote, resource.InputAttachment{Input: "r"}, true)
	if !slices.Contains(web.Args, "http,https,tcp,tls,crypto") || web.Args[len(web.Args)-1] != "https://media.example/a.mp4" {
		t.Errorf("remote source: %+v", web)
	}
	tp, _ := r.Source(resource.InputSpec{Name: "t", Type: resource.InputTestPattern}, resource.InputAttachment{Input: "t"}, false)
	joined := strings.Join(tp.Args, " ")
	if !strings.Contains(joined, "smptehdbars=size=1280x720:rate=30") || !strings.Contains(joined, "fontfile=/usr/share/fonts/x.ttf") ||
		!strings.Contains(joined, "gmtime") || !strings.Contains(joined, "sine=frequency=1000") {
		t.Errorf("test pattern: %s", joined)
	}
	if _, err := r.Source(resource.InputSpec{Name: "m", Type: resource.InputFile, URL: "gone.mp4"}, resource.InputAttachment{}, true); err == nil {
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
