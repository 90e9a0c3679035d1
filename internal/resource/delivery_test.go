package resource

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func deliverySpec(outs ...OutputGroup) ChannelSpec {
	return ChannelSpec{
		Name:             "ch",
		InputAttachments: []InputAttachment{{Input: "in"}},
		Encoder:          EncoderSettings{Ladder: "test-360p"},
		Outputs:          outs,
	}
}

func TestDeliveryValidationAcceptsEveryType(t *testing.T) {
	spec := deliverySpec(
		OutputGroup{Name: "hls", Type: OutputHLS},
		OutputGroup{Name: "udp", Type: OutputUDP, DeliverySettings: DeliverySettings{Destination: "udp://239.0.0.1:5000"}},
		OutputGroup{Name: "rtp", Type: OutputRTP, DeliverySettings: DeliverySettings{Destination: "rtp://127.0.0.1:5000", Rendition: "360p"}},
		OutputGroup{Name: "push", Type: OutputRTMP, DeliverySettings: DeliverySettings{Destination: "rtmps://live.example.com/app/key-123"}},
		OutputGroup{Name: "arch", Type: OutputArchive, DeliverySettings: DeliverySettings{Container: ContainerMP4, RollMinutes: 5}},
		OutputGroup{Name: "cap", Type: OutputFrameCapture, DeliverySettings: DeliverySettings{IntervalSeconds: 2.5, Width: 320, Height: 180, Format: ImagePNG}},
		OutputGroup{Name: "ds", Type: OutputDataset, DeliverySettings: DeliverySettings{FPS: 5}},
	)
	if err := spec.Validate(); err != nil {
		t.Fatal(err)
	}
	if eps := spec.EffectiveOutputs(); len(eps) != 1 || eps[0].Name != "hls" {
		t.Errorf("packaging endpoints: %+v", eps)
	}
	ds := spec.Deliveries()
	if len(ds) != 6 {
		t.Fatalf("deliveries: %+v", ds)
	}
	if ds[5].Format != ImageJPEG || ds[5].FPS != 5 || ds[3].Roll() != 5*time.Minute {
		t.Errorf("defaults: %+v", ds)
	}
}

func TestDeliveryDefaults(t *testing.T) {
	spec := deliverySpec(
		OutputGroup{Name: "arch", Type: OutputArchive},
		OutputGroup{Name: "cap", Type: OutputFrameCapture},
		OutputGroup{Name: "ds", Type: OutputDataset},
	)
	ds := spec.Deliveries()
	if ds[0].Container != ContainerTS || ds[0].Roll() != 10*time.Minute {
		t.Errorf("archive defaults: %+v", ds[0])
	}
	if ds[1].Interval() != 10*time.Second || ds[1].Format != ImageJPEG || ds[2].FPS != 1 {
		t.Errorf("frame defaults: %+v %+v", ds[1], ds[2])
	}
	if len(spec.EffectiveOutputs()) != 0 {
		t.Error("a channel that declares only deliveries has no packaging endpoint")
	}
}

func TestDeliveryValidationNamesTheField(t *testing.T) {
	cases := []struct {
		out  OutputGroup
		path string
		msg  string
	}{
		{OutputGroup{Name: "u", Type: OutputUDP}, "outputs[0].destination", "is required"},
		{OutputGroup{Name: "u", Type: OutputUDP, DeliverySettings: DeliverySettings{Destination: "rtp://h:1"}}, "outputs[0].destination", "must be udp://"},
		{OutputGroup{Name: "u", Type: OutputUDP, DeliverySettings: DeliverySettings{Destination: "udp://h"}}, "outputs[0].destination", "host and a port"},
		{OutputGroup{Name: "u", Type: OutputUDP, DeliverySettings: DeliverySettings{Destination: "udp://h:70000"}}, "outputs[0].destination", "port must be"},
		{OutputGroup{Name: "u", Type: OutputUDP, DeliverySettings: DeliverySettings{Destination: "udp://h:5000?localport=1"}}, "outputs[0].destination", "without user, path or options"},
		{OutputGroup{Name: "r", Type: OutputRTP, DeliverySettings: DeliverySettings{Destination: "rtp://h:5000/x"}}, "outputs[0].destination", "without user, path or options"},
		{OutputGroup{Name: "p", Type: OutputRTMP, DeliverySettings: DeliverySettings{Destination: "rtmp://h"}}, "outputs[0].destination", "application name and stream key"},
		{OutputGroup{Name: "p", Type: OutputRTMP, DeliverySettings: DeliverySettings{Destination: "http://h/app/k"}}, "outputs[0].destination", "must be rtmp://"},
		{OutputGroup{Name: "p", Type: OutputRTMP, DeliverySettings: DeliverySettings{Destination: "rtmp://h/a/k", FPS: 3}}, "outputs[0].fps", "does not apply to RTMP"},
		{OutputGroup{Name: "a", Type: OutputArchive, DeliverySettings: DeliverySettings{Container: "MKV"}}, "outputs[0].container", "TS or MP4"},
		{OutputGroup{Name: "a", Type: OutputArchive, DeliverySettings: DeliverySettings{RollMinutes: 2, RollSeconds: 30}}, "outputs[0].rollSeconds", "not both"},
		{OutputGroup{Name: "a", Type: OutputArchive, DeliverySettings: DeliverySettings{RollSeconds: 5}}, "outputs[0].rollSeconds", "from 10"},
		{OutputGroup{Name: "a", Type: OutputArchive, WindowSeconds: 60}, "outputs[0].windowSeconds", "packaging endpoints only"},
		{OutputGroup{Name: "u", Type: OutputUDP, PartSeconds: 0.2, DeliverySettings: DeliverySettings{Destination: "udp://h:1"}}, "outputs[0].partSeconds", "packaging endpoints only"},
		{OutputGroup{Name: "l", Type: OutputLLHLS, DeliverySettings: DeliverySettings{Rendition: "360p"}}, "outputs[0].rendition", "delivery outputs only"},
		{OutputGroup{Name: "u", Type: OutputUDP, RequireSignedURLs: true, DeliverySettings: DeliverySettings{Destination: "udp://h:1"}}, "outputs[0].requireSignedURLs", "packaging endpoints only"},
		{OutputGroup{Name: "a", Type: OutputArchive, DeliverySettings: DeliverySettings{Rendition: "4k"}}, "outputs[0].rendition", `no rendition "4k"`},
		{OutputGroup{Name: "c", Type: OutputFrameCapture, DeliverySettings: DeliverySettings{IntervalSeconds: 0.01}}, "outputs[0].intervalSeconds", "from 0.1"},
		{OutputGroup{Name: "c", Type: OutputFrameCapture, DeliverySettings: DeliverySettings{Width: 320}}, "outputs[0].width", "together"},
		{OutputGroup{Name: "c", Type: OutputFrameCapture, DeliverySettings: DeliverySettings{Width: 321, Height: 180}}, "outputs[0].width", "even number"},
		{OutputGroup{Name: "c", Type: OutputFrameCapture, DeliverySettings: DeliverySettings{Format: "GIF"}}, "outputs[0].format", "JPEG, PNG or (DATASET) NPY"},
		{OutputGroup{Name: "c", Type: OutputFrameCapture, DeliverySettings: DeliverySettings{Format: ImageNPY}}, "outputs[0].format", "NPY applies to DATASET"},
		{OutputGroup{Name: "d", Type: OutputDataset, DeliverySettings: DeliverySettings{FPS: 120}}, "outputs[0].fps", "0.01 to 60"},
		{OutputGroup{Name: "d", Type: OutputDataset, DeliverySettings: DeliverySettings{RetentionMinutes: 60}}, "outputs[0].retentionMinutes", "does not apply to DATASET"},
		{OutputGroup{Name: "a", Type: OutputArchive, DeliverySettings: DeliverySettings{RetentionMinutes: -1}}, "outputs[0].retentionMinutes", "from 1 to 525600"},
		{OutputGroup{Name: "h", Type: OutputHLS, DeliverySettings: DeliverySettings{Destination: "udp://h:1"}}, "outputs[0].destination", "delivery outputs only"},
		{OutputGroup{Name: "x", Type: "SRT"}, "outputs[0].type", "FRAME_CAPTURE, DATASET"},
	}
	for _, c := range cases {
		spec := deliverySpec(c.out)
		err := spec.Validate()
		if !slices.Contains(paths(err), c.path) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%+v: got %v, want %s: …%s…", c.out, err, c.path, c.msg)
		}
	}
}

func TestDeliveryRendition(t *testing.T) {
	l, err := (&EncoderSettings{Ladder: "default-720p"}).Resolve()
	if err != nil {
		t.Fatal(err)
	}
	if r, ok := DeliveryRendition(OutputGroup{}, l); !ok || r.Name != "720p" {
		t.Errorf("default rendition %v %v", r.Name, ok)
	}
	if r, ok := DeliveryRendition(OutputGroup{DeliverySettings: DeliverySettings{Rendition: "360p"}}, l); !ok || r.Name != "360p" {
		t.Errorf("named rendition %v %v", r.Name, ok)
	}
	if _, ok := DeliveryRendition(OutputGroup{DeliverySettings: DeliverySettings{Rendition: "1080p"}}, l); ok {
		t.Error("unknown rendition accepted")
	}
}
