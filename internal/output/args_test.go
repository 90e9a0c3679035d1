package output

import (
	"strings"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/testutil/golden"
)

func renderArgs(args []string) []byte {
	return []byte(strings.Join(args, "\n") + "\n")
}

func TestRemuxArgsGolden(t *testing.T) {
	cases := []resource.OutputGroup{
		{Name: "udp", Type: resource.OutputUDP, DeliverySettings: resource.DeliverySettings{Destination: "udp://127.0.0.1:5000"}},
		{Name: "rtp", Type: resource.OutputRTP, DeliverySettings: resource.DeliverySettings{Destination: "rtp://127.0.0.1:5000"}},
		{Name: "rtmp", Type: resource.OutputRTMP, DeliverySettings: resource.DeliverySettings{Destination: "rtmp://example.com/live/key"}},
		{Name: "archive-ts", Type: resource.OutputArchive, DeliverySettings: resource.DeliverySettings{Container: resource.ContainerTS, RollMinutes: 10}},
		{Name: "archive-mp4", Type: resource.OutputArchive, DeliverySettings: resource.DeliverySettings{Container: resource.ContainerMP4, RollSeconds: 30}},
	}
	for _, o := range cases {
		t.Run(o.Name, func(t *testing.T) {
			golden.Check(t, "remux-"+o.Name+".argv", renderArgs(RemuxArgs(o, "/data/media/outputs/ch/"+o.Name, 0)))
		})
	}
	// A remuxer that takes frames 640 ms after their capture cuts 640 ms
	// after each mark of its clock.
	o := cases[3]
	golden.Check(t, "remux-archive-ts-delayed.argv", renderArgs(RemuxArgs(o, "/data/media/outputs/ch/"+o.Name, 640*time.Millisecond)))
}

func TestRemuxArgsNeverDecode(t *testing.T) {
	o := resource.OutputGroup{Name: "u", Type: resource.OutputUDP, DeliverySettings: resource.DeliverySettings{Destination: "udp://h:1"}}
	joined := strings.Join(RemuxArgs(o, "", 0), " ")
	if !strings.Contains(joined, "-c copy") || strings.Contains(joined, "libx264") || strings.Contains(joined, "-vf") {
		t.Errorf("a remuxer copies the encoded streams: %s", joined)
	}
}

func TestDecodeArgsGolden(t *testing.T) {
	golden.Check(t, "decode-224x224-5fps.argv", renderArgs(DecodeArgs(FrameSpec{Rendition: "360p", Width: 224, Height: 224, FPS: 5})))
	golden.Check(t, "decode-640x360-0.1fps.argv", renderArgs(DecodeArgs(FrameSpec{Rendition: "360p", Width: 640, Height: 360, FPS: 0.1})))
}

func TestRemuxOutputStartsNearZero(t *testing.T) {
	args := []string{"-copyts", "-i", "pipe:3", "-f", "flv", "rtmp://example.net/live/key"}
	// A run 30 days into its channel's media time, at 90 kHz.
	got := strings.Join(rebased(args, 30*24*3600*90000+45000, 90000), " ")
	if want := "-copyts -i pipe:3 -f flv -output_ts_offset -2591990 rtmp://example.net/live/key"; got != want {
		t.Errorf("rebased: %s, want %s", got, want)
	}
	if got := rebased(args, 5*90000, 90000); strings.Join(got, " ") != strings.Join(args, " ") {
		t.Errorf("a run that starts near zero is left as it is: %v", got)
	}
}
