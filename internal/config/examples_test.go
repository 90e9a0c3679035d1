package config

import (
	"testing"

	"github.com/sluice-video/sluice/internal/resource"
)

// TestLiloExample keeps examples/lilo.yaml valid: the live encoding loop
// with HLS, DASH and an RTP output to 127.0.0.1:5000.
func TestLiloExample(t *testing.T) {
	st, err := ParseFile("../../examples/lilo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Channels) != 1 {
		t.Fatalf("channels %+v", st.Channels)
	}
	ch := st.Channels[0]
	if err := ch.Validate(); err != nil {
		t.Fatal(err)
	}
	if ch.InputAttachments[0].SourceEnd() != resource.SourceEndLoop {
		t.Error("the loop loops its file")
	}
	var rtp bool
	for _, o := range ch.Deliveries() {
		rtp = rtp || (o.Type == resource.OutputRTP && o.Destination == "rtp://127.0.0.1:5000")
	}
	if !rtp || len(ch.EffectiveOutputs()) != 2 {
		t.Errorf("outputs %+v: want HLS, DASH and RTP to 127.0.0.1:5000", ch.Outputs)
	}
}
