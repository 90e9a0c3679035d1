package resource

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseBitrate(t *testing.T) {
	for in, want := range map[string]Bitrate{"3000000": 3000000, "3M": 3000000, "1.5M": 1500000, "800k": 800000, "96K": 96000, "2G": 2000000000} {
		got, err := ParseBitrate(in)
		if err != nil || got != want {
			t.Errorf("%s: %d %v, want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "fast", "-1M", "3MB", "1e20"} {
		if _, err := ParseBitrate(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
	var v struct{ B Bitrate }
	if err := json.Unmarshal([]byte(`{"B":"2.5M"}`), &v); err != nil || v.B != 2500000 {
		t.Errorf("JSON string: %d %v", v.B, err)
	}
	if err := json.Unmarshal([]byte(`{"B":700000}`), &v); err != nil || v.B != 700000 {
		t.Errorf("JSON number: %d %v", v.B, err)
	}
	if out, _ := json.Marshal(Bitrate(3000000)); string(out) != "3000000" {
		t.Errorf("bitrates marshal as numbers, got %s", out)
	}
	if Bitrate(3000000).String() != "3M" || Bitrate(96000).String() != "96k" {
		t.Error("String")
	}
}

func paths(err error) []string {
	var fe FieldErrors
	if !errors.As(err, &fe) {
		return nil
	}
	var out []string
	for _, f := range fe {
		out = append(out, f.Path)
	}
	return out
}

func TestChannelValidationNamesEveryField(t *testing.T) {
	spec := ChannelSpec{
		Name:             "Bad_Name",
		InputAttachments: []InputAttachment{{Input: "in", SourceEndBehavior: "REWIND"}},
		Encoder: EncoderSettings{
			Video: []VideoDescription{
				{Name: "hd", Width: 1281, Height: 720, Bitrate: 10, FPS: 29.97, Profile: "extreme", Preset: "warp"},
				{Name: "hd", Width: 640, Height: 360, Bitrate: 800000, MaxBitrate: 100000},
			},
			Audio: &AudioDescription{Channels: 6, SampleRate: 22050},
		},
		Outputs: []OutputGroup{{Name: "hls", Type: "SMOOTH"}, {Name: "hls", Type: OutputHLS, WindowSeconds: 2}},
	}
	got := strings.Join(paths(spec.Validate()), " ")
	for _, want := range []string{
		"name", "inputAttachments[0].sourceEndBehavior",
		"encoder.video[0].width", "encoder.video[0].bitrate", "encoder.video[0].fps", "encoder.video[0].profile", "encoder.video[0].preset",
		"encoder.video[1].name", "encoder.video[1].maxBitrate", "encoder.audio.channels", "encoder.audio.sampleRate",
		"outputs[0].type", "outputs[1].name", "outputs[1].windowSeconds",
	} {
		if !strings.Contains(" "+got+" ", " "+want+" ") {
			t.Errorf("validation does not name %s; it names: %s", want, got)
		}
	}
	if !errors.Is(spec.Validate(), ErrInvalid) {
		t.Error("field errors must be ErrInvalid")
	}
}

func TestLadders(t *testing.T) {
	for _, name := range LadderNames() {
		l, err := (&EncoderSettings{Ladder: name}).Resolve()
		if err != nil || len(l.Rungs) == 0 {
			t.Errorf("%s: %v", name, err)
		}
	}
	l, _ := (&EncoderSettings{Ladder: "default-1080p", Preset: "ultrafast"}).Resolve()
	if len(l.Rungs) != 4 || l.Rungs[0].Height != 1080 || l.Rungs[3].Height != 360 || l.Rungs[2].Preset != "ultrafast" || l.Segment != 2*time.Second || l.Audio.Bitrate != DefaultAudioBitrate {
		t.Errorf("default-1080p with a preset override: %+v", l)
	}
	if err := (&EncoderSettings{Ladder: "test-360p", SegmentSeconds: 1.5}).Validate(); err == nil {
		t.Error("1.5 s segments at 25 fps are not a whole GOP")
	}
}

func TestPassthroughRung(t *testing.T) {
	e := EncoderSettings{Video: []VideoDescription{
		{Name: "source", Passthrough: true},
		{Name: "360p", Width: 640, Height: 360, Bitrate: 800000},
	}, SegmentSeconds: 1}
	l, err := e.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	if p, ok := l.Passthrough(); !ok || p.Name != "source" || p.Width != 0 || p.Preset != "" || len(l.Encoded()) != 1 || l.Encoded()[0].Name != "360p" {
		t.Errorf("resolved: %+v", l)
	}
	// Only a passthrough rung: allowed, nothing is encoded but the audio.
	if _, err := (&EncoderSettings{Video: []VideoDescription{{Name: "source", Passthrough: true}}}).Resolve(); err != nil {
		t.Errorf("a ladder of one passthrough rung: %v", err)
	}
	bad := EncoderSettings{Video: []VideoDescription{
		{Name: "a", Passthrough: true, Width: 640, Bitrate: 1000, FPS: 25, Preset: "fast"},
		{Name: "b", Passthrough: true},
	}}
	got := strings.Join(paths(bad.Validate()), " ")
	for _, want := range []string{"video[0].width", "video[0].bitrate", "video[0].fps", "video[0].preset", "video[1].passthrough"} {
		if !strings.Contains(" "+got+" ", " "+want+" ") {
			t.Errorf("validation does not name %s; it names: %s", want, got)
		}
	}
}

func TestInputValidation(t *testing.T) {
	cases := map[string]InputSpec{
		"url":                {Name: "a", Type: InputFile},
		"type":               {Name: "a", Type: "RTMP_PULL"},
		"testPattern.width":  {Name: "a", Type: InputTestPattern, TestPattern: &TestPattern{Width: 641}},
		"testPattern.toneHz": {Name: "a", Type: InputTestPattern, TestPattern: &TestPattern{ToneHz: 99999}},
	}
	for want, spec := range cases {
		if got := paths(spec.Validate()); len(got) == 0 || got[0] != want {
			t.Errorf("%+v: %v, want %s", spec, got, want)
		}
	}
	for _, url := range []string{"pipe:0", "concat:a.mp4|b.mp4", "file:/etc/passwd", "rtmp://host/app", "../up.mp4", "notes.txt", "a\nb.mp4"} {
		if (&InputSpec{Name: "a", Type: InputFile, URL: url}).Validate() == nil {
			t.Errorf("url %q accepted", url)
		}
	}
	for _, url := range []string{"clip.mp4", "sub/clip.ts", "/srv/media/clip.mp4", "https://cdn.example/clip.mp4"} {
		if err := (&InputSpec{Name: "a", Type: InputFile, URL: url}).Validate(); err != nil {
			t.Errorf("url %q refused: %v", url, err)
		}
	}
}
