package resource

import (
	"strings"
	"testing"
)

func TestDVRWindowValidation(t *testing.T) {
	base := func(outs ...OutputGroup) ChannelSpec {
		return ChannelSpec{
			Name:             "ch",
			InputAttachments: []InputAttachment{{Input: "in"}},
			Encoder:          EncoderSettings{Ladder: "test-360p"},
			Outputs:          outs,
		}
	}
	ok := []OutputGroup{
		{Name: "a", Type: OutputHLS, DVRWindowSeconds: 60},
		{Name: "b", Type: OutputDASH, DVRWindowSeconds: MaxDVRWindowSeconds},
		{Name: "c", Type: OutputLLHLS, DVRWindowSeconds: 3600},
	}
	good := base(ok...)
	if err := good.Validate(); err != nil {
		t.Errorf("valid DVR windows refused: %v", err)
	}
	bad := []OutputGroup{
		{Name: "a", Type: OutputHLS, DVRWindowSeconds: 59},
		{Name: "b", Type: OutputHLS, DVRWindowSeconds: MaxDVRWindowSeconds + 1},
		{Name: "c", Type: OutputHLS, WindowSeconds: 600, DVRWindowSeconds: 300},
		{Name: "d", Type: OutputHLSTS, DVRWindowSeconds: 600},
	}
	spec := base(bad...)
	got := strings.Join(paths(spec.Validate()), " ")
	for i := range bad {
		if want := "outputs[" + string(rune('0'+i)) + "].dvrWindowSeconds"; !strings.Contains(got, want) {
			t.Errorf("validation does not name %s; it names: %s", want, got)
		}
	}
}
