package config

import (
	"errors"
	"io/fs"
	"reflect"
	"strings"
	"testing"

	"github.com/sluice-video/sluice/internal/resource"
)

func TestParseFileValid(t *testing.T) {
	got, err := ParseFile("testdata/valid.yaml")
	if err != nil {
		t.Fatalf("ParseFile: %v", err)
	}
	want := resource.Stack{
		Name: "demo",
		Inputs: []resource.InputSpec{
			{Name: "loop-source", Type: resource.InputFile, URL: "sample.mp4"},
			{Name: "bars", Type: resource.InputTestPattern, TestPattern: &resource.TestPattern{Width: 1280, Height: 720, FPS: 30}},
		},
		Channels: []resource.ChannelSpec{{
			Name:      "demo",
			AutoStart: true,
			InputAttachments: []resource.InputAttachment{
				{Input: "loop-source", SourceEndBehavior: resource.SourceEndLoop},
			},
			Encoder: resource.EncoderSettings{Ladder: "test-360p", Preset: "ultrafast", SegmentSeconds: 2},
			Outputs: []resource.OutputGroup{
				{Name: "hls", Type: resource.OutputHLS, WindowSeconds: 60},
				{Name: "dash", Type: resource.OutputDASH},
			},
		}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParseFile(valid.yaml) =\n%+v\nwant\n%+v", got, want)
	}
}

func TestParseFileAnchors(t *testing.T) {
	got, err := ParseFile("testdata/anchors.yaml")
	if err != nil {
		t.Fatalf("ParseFile: %v", err)
	}
	if got.Name != "anchors" {
		t.Errorf("name = %q, want the file's base name %q", got.Name, "anchors")
	}
	if len(got.Channels) != 2 {
		t.Fatalf("got %d channels, want 2", len(got.Channels))
	}
	shared, merged := got.Channels[0].Encoder, got.Channels[1].Encoder
	if shared.Video[0].Bitrate != 3000000 || shared.Video[0].MaxBitrate != 3600000 || shared.Video[1].Bitrate != 800000 {
		t.Errorf("bitrates = %v, %v, %v; want 3M, 3.6M, 800k", shared.Video[0].Bitrate, shared.Video[0].MaxBitrate, shared.Video[1].Bitrate)
	}
	if shared.Audio == nil || shared.Audio.Bitrate != 96000 {
		t.Errorf("audio = %+v, want a 96k bitrate", shared.Audio)
	}
	if merged.Preset != "veryfast" || shared.Preset != "" {
		t.Errorf("presets = %q, %q; want the merging mapping's own key to apply to it alone", shared.Preset, merged.Preset)
	}
	if !reflect.DeepEqual(merged.Video, shared.Video) || merged.SegmentSeconds != 2 {
		t.Errorf("merged encoder = %+v, want the anchored settings", merged)
	}
	if a := got.Channels[1].InputAttachments[0]; a.SourceEndBehavior != resource.SourceEndContinue {
		t.Errorf("sourceEndBehavior = %q, want CONTINUE", a.SourceEndBehavior)
	}
}

func TestParseFileMissing(t *testing.T) {
	_, err := ParseFile("testdata/no-such-file.yaml")
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("err = %v, want a not-exist error", err)
	}
	if !strings.Contains(err.Error(), "testdata/no-such-file.yaml") {
		t.Errorf("err = %q, want it to name the file", err)
	}
}

func TestParseErrorType(t *testing.T) {
	_, err := ParseFile("testdata/invalid.yaml")
	var cerr *Error
	if !errors.As(err, &cerr) {
		t.Fatalf("err = %T %v, want *config.Error", err, err)
	}
	if !errors.Is(err, resource.ErrInvalid) {
		t.Error("errors.Is(err, resource.ErrInvalid) = false, want true")
	}
	want := []Problem{
		{"testdata/invalid.yaml", 5, 26, "inputs[0].testPattern.width", "must be an even number of pixels up to 7680"},
		{"testdata/invalid.yaml", 8, 10, "inputs[1].url", "a relative path must stay inside the media directory (no ..)"},
		{"testdata/invalid.yaml", 12, 16, "channels[0].inputAttachments[0].input", `input "missing" is not declared in this stack`},
		{"testdata/invalid.yaml", 16, 56, "channels[0].encoder.video[1].bitrate", "must be between 50k and 100M bits per second"},
		{"testdata/invalid.yaml", 18, 47, "channels[0].outputs[0].windowSeconds", "must hold at least three segments and at most 3600 seconds"},
	}
	if !reflect.DeepEqual(cerr.Problems, want) {
		t.Errorf("problems =\n%v\nwant\n%v", cerr.Problems, want)
	}
	if lines := strings.Split(err.Error(), "\n"); len(lines) != len(want) || lines[0] != "testdata/invalid.yaml:5:26: inputs[0].testPattern.width: must be an even number of pixels up to 7680" {
		t.Errorf("Error() =\n%s\nwant one line per problem", err)
	}
}

func TestDefaultName(t *testing.T) {
	tests := []struct{ file, want string }{
		{"stacks/demo.yaml", "demo"},
		{"My Demo.YML", "my-demo"},
		{"/etc/sluice/live_2024.stack.yaml", "live-2024-stack"},
		{"--édition--.yaml", "dition"},
		{"???.yaml", ""},
		{"", ""},
		{strings.Repeat("a", 62) + "_b.yaml", strings.Repeat("a", 62)},
	}
	for _, tt := range tests {
		if got := defaultName(tt.file); got != tt.want {
			t.Errorf("defaultName(%q) = %q, want %q", tt.file, got, tt.want)
		}
	}
}

func TestParseNameDefault(t *testing.T) {
	const body = "inputs: [{name: bars, type: TEST_PATTERN}]\n"
	s, err := Parse("stacks/Evening News.yaml", []byte(body))
	if err != nil || s.Name != "evening-news" {
		t.Errorf("Parse without name = %q, %v; want %q from the file name", s.Name, err, "evening-news")
	}
	// An explicit empty name is the user's, not a missing key: it stays
	// empty and validation says so.
	_, err = Parse("stacks/news.yaml", []byte("name: ''\n"+body))
	if err == nil || err.Error() != "stacks/news.yaml:1:7: name: is required" {
		t.Errorf("Parse with empty name: %v", err)
	}
	_, err = Parse("???.yaml", []byte(body))
	if err == nil || err.Error() != "???.yaml:1:1: name: is required" {
		t.Errorf("Parse with no usable name: %v", err)
	}
}
