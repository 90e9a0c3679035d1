package live

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/testutil/media"
)

func tsFile(t *testing.T, vcodec, acodec string) []byte {
	t.Helper()
	p := filepath.Join(t.TempDir(), "in.ts")
	args := []string{"-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25", "-f", "lavfi", "-i", "sine=sample_rate=48000", "-t", "3",
		"-c:v", vcodec, "-g", "25", "-pix_fmt", "yuv420p"}
	if vcodec == "libx264" || vcodec == "libx265" {
		args = append(args, "-preset", "ultrafast")
	}
	if vcodec == "libx265" {
		args = append(args, "-x265-params", "log-level=error")
	}
	args = append(args, "-c:a", acodec, "-f", "mpegts", p)
	media.FFmpeg(t, args...)
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestReadTS(t *testing.T) {
	cases := []struct {
		vcodec, acodec string
		video, audio   Codec
	}{
		{"libx264", "aac", H264, AAC},
		{"libx265", "libopus", H265, Opus},
		{"libx264", "libmp3lame", H264, MP3},
	}
	for _, c := range cases {
		t.Run(string(c.video)+"+"+string(c.audio), func(t *testing.T) {
			data := tsFile(t, c.vcodec, c.acodec)
			h := NewHub("cam", nil)
			sub := h.Subscribe(10000)
			s, _ := h.Claim(Publisher{Protocol: "test"})
			if err := ReadTS(bytes.NewReader(data), s, func(w string) { t.Log(w) }); err != nil {
				t.Fatal(err)
			}
			s.Close("end of file")
			var video, audio, keys int
			var tracks []*Track
			var lastVideo time.Duration
			for e := range drain(sub) {
				switch e.Type {
				case EventStarted:
					tracks = e.Tracks
				case EventFrame:
					if e.Frame.Kind == Video {
						video++
						if e.Frame.Key {
							keys++
						}
						lastVideo = e.Frame.DTS
					} else {
						audio++
					}
				}
			}
			if len(tracks) != 2 || tracks[0].Codec != c.video || tracks[0].Width != 320 || tracks[0].Height != 180 || tracks[1].Codec != c.audio || tracks[1].SampleRate != 48000 {
				t.Fatalf("tracks %+v %+v", tracks[0], tracks[len(tracks)-1])
			}
			if video < 70 || keys < 3 || audio < 50 {
				t.Errorf("%d video frames (%d key), %d audio frames", video, keys, audio)
			}
			if lastVideo < 2800*time.Millisecond || lastVideo > 3200*time.Millisecond {
				t.Errorf("last video DTS %v for 3 s", lastVideo)
			}
		})
	}
}

func TestReadTSWithoutVideo(t *testing.T) {
	p := filepath.Join(t.TempDir(), "audio.ts")
	media.FFmpeg(t, "-f", "lavfi", "-i", "sine", "-t", "1", "-c:a", "aac", "-f", "mpegts", p)
	data, _ := os.ReadFile(p)
	h := NewHub("cam", nil)
	s, _ := h.Claim(Publisher{})
	if err := ReadTS(bytes.NewReader(data), s, nil); !errors.Is(err, ErrNoVideo) {
		t.Errorf("audio only: %v", err)
	}
}

func drain(sub *Subscription) <-chan Event {
	out := make(chan Event, 100000)
	for {
		select {
		case e := <-sub.Events():
			out <- e
		default:
			close(out)
			return out
		}
	}
}

// FuzzReadTS feeds arbitrary bytes to the MPEG-TS reader: errors, never a panic.
func FuzzReadTS(f *testing.F) {
	if seed := media.TransportStream(f); seed != nil {
		f.Add(seed)
		f.Add(seed[:len(seed)/2])
	}
	f.Add([]byte{0x47, 0x40, 0x00, 0x10, 0x00})
	f.Add(bytes.Repeat([]byte{0x47, 0x1f, 0xff, 0x10}, 47))
	f.Fuzz(func(t *testing.T, data []byte) {
		h := NewHub("cam", nil)
		s, _ := h.Claim(Publisher{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = ReadTS(bytes.NewReader(data), s, nil)
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			panic("ReadTS did not return")
		}
	})
}
