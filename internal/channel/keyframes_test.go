package channel

import (
	"strings"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/packager/cmaf"
	"github.com/sluice-video/sluice/internal/resource"
)

func TestKeyFramesNote(t *testing.T) {
	for _, tc := range []struct {
		k    cmaf.KeyFrames
		seg  time.Duration
		want string
	}{
		{cmaf.KeyFrames{Aligned: true, Interval: time.Second, Frames: 30}, time.Second, ""},
		{cmaf.KeyFrames{Interval: 2500 * time.Millisecond, Frames: 75}, time.Second,
			"source key frames every 2.5 s do not fit 1 s segments: set the publisher's key frame interval (GOP) to 1 s (-g 30 at 30 fps)"},
		{cmaf.KeyFrames{Interval: 4 * time.Second, Frames: 100}, 2 * time.Second,
			"source key frames every 4 s do not fit 2 s segments: set the publisher's key frame interval (GOP) to 2 s (-g 50 at 25 fps)"},
		{cmaf.KeyFrames{Interval: time.Second, Frames: 30}, time.Second,
			"source key frames every 1 s fall between the 1 s segment boundaries: they realign when the input next comes on air, or set the publisher's key frame interval (GOP) to 1 s (-g 30 at 30 fps)"},
		{cmaf.KeyFrames{}, time.Second,
			"source key frames do not fall on the 1 s segment boundaries: set the publisher's key frame interval (GOP) to 1 s"},
	} {
		if got := keyFramesNote(tc.k, tc.seg); got != tc.want {
			t.Errorf("keyFramesNote(%+v, %v)\n got %q\nwant %q", tc.k, tc.seg, got, tc.want)
		}
	}
}

func TestPassthroughNeedsAnEncodedSource(t *testing.T) {
	for _, tc := range []struct {
		in   resource.InputType
		end  resource.SourceEnd
		want string
	}{
		{resource.InputRTMPPush, "", ""},
		{resource.InputFile, resource.SourceEndLoop, ""},
		{resource.InputFile, resource.SourceEndContinue, "sourceEnd"},
		{resource.InputTestPattern, "", "needs an encoded source"},
	} {
		err := checkPassthroughInput(resource.Input{InputSpec: resource.InputSpec{Name: "in", Type: tc.in}}, resource.InputAttachment{Input: "in", SourceEndBehavior: tc.end})
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s %s: %v", tc.in, tc.end, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s %s: %v, want %q", tc.in, tc.end, err, tc.want)
		}
	}
}
