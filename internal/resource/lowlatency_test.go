package resource

import (
	"strings"
	"testing"
	"time"
)

func TestLowLatencyAndEncryptionFields(t *testing.T) {
	t.Parallel()
	spec := ChannelSpec{
		Name:             "ll",
		InputAttachments: []InputAttachment{{Input: "in"}},
		Encoder:          EncoderSettings{Ladder: "test-360p"},
		Outputs: []OutputGroup{
			{Name: "a", Type: OutputLLHLS, PartSeconds: 0.7},
			{Name: "b", Type: OutputHLS, PartSeconds: 0.2, TargetLatencySeconds: 2},
			{Name: "c", Type: OutputLLDASH, TargetLatencySeconds: 90},
			{Name: "d", Type: OutputDASH, Encryption: &Encryption{Method: "SAMPLE_AES", KeyRotationSegments: -1, KeyToken: "short"}},
		},
	}
	got := " " + strings.Join(paths(spec.Validate()), " ") + " "
	for _, want := range []string{
		"outputs[0].partSeconds", "outputs[1].partSeconds", "outputs[1].targetLatencySeconds", "outputs[2].targetLatencySeconds",
		"outputs[3].encryption", "outputs[3].encryption.method", "outputs[3].encryption.keyRotationSegments", "outputs[3].encryption.keyToken",
	} {
		if !strings.Contains(got, " "+want+" ") {
			t.Errorf("validation does not name %s; it names:%s", want, got)
		}
	}

	ok := ChannelSpec{
		Name: "ll", InputAttachments: []InputAttachment{{Input: "in"}}, Encoder: EncoderSettings{Ladder: "test-360p"},
		Outputs: []OutputGroup{
			{Name: "hls", Type: OutputHLS, Encryption: &Encryption{Method: EncryptionAES128, KeyToken: "0123456789abcdef"}},
			{Name: "ll", Type: OutputLLHLS, PartSeconds: 0.25},
			{Name: "lldash", Type: OutputLLDASH},
		},
	}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	if !ok.LowLatency() || ok.PartDuration() != 200*time.Millisecond {
		t.Errorf("LowLatency %v, PartDuration %v; want true and the shortest part, 200 ms", ok.LowLatency(), ok.PartDuration())
	}
	if got := ok.Segment(); got != time.Second {
		t.Errorf("a low-latency channel defaults to %v segments, want 1s", got)
	}
	if l, err := ok.Ladder(); err != nil || l.Segment != time.Second {
		t.Errorf("a low-latency channel's ladder runs at %v (%v), want 1s", l.Segment, err)
	}
	ok.Encoder.SegmentSeconds = 2
	if got := ok.Segment(); got != 2*time.Second {
		t.Errorf("an explicit segment length is overridden: %v", got)
	}
	if got := ok.Outputs[2].TargetLatency(time.Second); got != 1100*time.Millisecond {
		t.Errorf("default target latency %v, want 1.1 s", got)
	}
	plain := ChannelSpec{Outputs: []OutputGroup{{Name: "hls", Type: OutputHLS}}}
	if plain.LowLatency() || plain.PartDuration() != 0 || plain.Segment() != 2*time.Second {
		t.Error("a channel without low-latency endpoints changes")
	}
}
