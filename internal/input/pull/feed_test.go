package pull

import (
	"bytes"
	"encoding/hex"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/input/live"
	"github.com/sluice-video/sluice/internal/testutil/poll"
)

// Parameter sets of a 64x48 H.264 stream, and slices that only need the
// right NAL unit types.
var (
	testSPS, _ = hex.DecodeString("6742c00ada11ec0440000003004000000503c489a8")
	testPPS, _ = hex.DecodeString("68ce0fc8")
	testIDR    = []byte{0x65, 0x88, 0x84, 0x00}
	testP      = []byte{0x41, 0x9a, 0x02, 0x00}
	// An MPEG-1 Layer III frame header: 128 kbit/s, 44.1 kHz, stereo.
	testMP3 = append([]byte{0xff, 0xfb, 0x90, 0x00}, make([]byte, 413)...)
)

// kickLog records the kicks of a feed.
type kickLog struct {
	mu      sync.Mutex
	reasons []string
}

func (k *kickLog) add(r string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.reasons = append(k.reasons, r)
}

func (k *kickLog) list() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]string(nil), k.reasons...)
}

func newTestFeed(t *testing.T) (*feed, *live.Hub, *kickLog) {
	t.Helper()
	hub := live.NewHub("in", nil)
	kicks := &kickLog{}
	f := &feed{hub: hub, pub: live.Publisher{Protocol: "rtsp", Remote: "rtsp://cam/x"},
		log: slog.New(slog.DiscardHandler), kicked: kicks.add, now: time.Now}
	return f, hub, kicks
}

// events drains what a subscription received so far.
func events(sub *live.Subscription) []live.Event {
	var out []live.Event
	for {
		select {
		case e := <-sub.Events():
			out = append(out, e)
		default:
			return out
		}
	}
}

func TestFeedStartsAtAKeyFrameWithTracks(t *testing.T) {
	f, hub, _ := newTestFeed(t)
	sub := hub.Subscribe(100)
	ms := time.Millisecond
	f.writeVideo(live.H264, 0, 0, [][]byte{testSPS, testPPS, testIDR}) // not claimed: dropped
	if err := f.claim(); err != nil {
		t.Fatal(err)
	}
	f.writeAudio(0, []byte{1})                             // no audio track: dropped
	f.setAudio(opusTrack(2))                               // declared before the video
	f.writeVideo(live.H264, 40*ms, 40*ms, [][]byte{testP}) // no parameters yet
	f.seedVideo(live.H264, testSPS, testPPS)               // out of band
	f.writeVideo(live.H264, 80*ms, 80*ms, [][]byte{testP}) // announces, but waits for a key frame
	f.writeAudio(90*ms, []byte{2})                         // before the first key frame: dropped
	f.writeVideo(live.H264, 120*ms, 120*ms, [][]byte{testIDR})
	f.writeAudio(130*ms, []byte{3})
	f.writeVideo(live.H264, 160*ms, 160*ms, [][]byte{testP})
	f.writeVideo(live.H264, 160*ms, 160*ms, [][]byte{testSPS, testPPS}) // parameter sets only: no frame

	evs := events(sub)
	if len(evs) != 4 || evs[0].Type != live.EventStarted {
		t.Fatalf("events %+v", evs)
	}
	tr := evs[0].Tracks
	if len(tr) != 2 || tr[0].Codec != live.H264 || tr[0].Width != 64 || tr[0].Height != 48 || tr[1].Codec != live.Opus {
		t.Errorf("tracks %+v %+v", tr[0], tr[len(tr)-1])
	}
	key := evs[1].Frame
	if !key.Key || key.DTS != 120*ms || len(key.NALUs) != 3 || !bytes.Equal(key.NALUs[0], testSPS) {
		t.Errorf("first frame %+v: want the key frame with its parameter sets", key)
	}
	if a := evs[2].Frame; a.Kind != live.Audio || a.PTS != 130*ms || a.Data[0] != 3 {
		t.Errorf("audio %+v", a)
	}
	if p := evs[3].Frame; p.Key || p.DTS != 160*ms {
		t.Errorf("last frame %+v", p)
	}
	if f.lived() <= 0 {
		t.Error("media flowed, but lived() is zero")
	}
}

func TestFeedNewParameterSets(t *testing.T) {
	f, hub, _ := newTestFeed(t)
	sub := hub.Subscribe(100)
	_ = f.claim()
	f.writeVideo(live.H264, 0, 0, [][]byte{testSPS, testPPS, testIDR})
	f.writeVideo(live.H264, time.Millisecond, time.Millisecond, [][]byte{testP})
	// A new PPS: subscribers get the tracks again, and frames wait for a key frame.
	f.writeVideo(live.H264, 2*time.Millisecond, 2*time.Millisecond, [][]byte{{0x68, 0xce, 0x3c, 0x80}, testP})
	f.writeVideo(live.H264, 3*time.Millisecond, 3*time.Millisecond, [][]byte{testIDR})
	var starts, frames int
	for _, e := range events(sub) {
		switch e.Type {
		case live.EventStarted:
			starts++
		case live.EventFrame:
			frames++
		}
	}
	if starts != 2 || frames != 3 {
		t.Errorf("%d starts and %d frames, want 2 and 3", starts, frames)
	}
}

func TestFeedWaitsForMP3Parameters(t *testing.T) {
	f, hub, _ := newTestFeed(t)
	sub := hub.Subscribe(1000)
	_ = f.claim()
	f.seedVideo(live.H264, testSPS, testPPS)
	f.expectAudio()
	f.writeVideo(live.H264, 0, 0, [][]byte{testIDR}) // held back for the audio
	if d, ok := f.writeMP3(10*time.Millisecond, testMP3); !ok || d != 26122448*time.Nanosecond {
		t.Errorf("MP3 frame: %v %v", d, ok)
	}
	f.writeVideo(live.H264, 40*time.Millisecond, 40*time.Millisecond, [][]byte{testIDR})
	evs := events(sub)
	if len(evs) == 0 || evs[0].Type != live.EventStarted || len(evs[0].Tracks) != 2 {
		t.Fatalf("events %+v", evs)
	}
	if a := evs[0].Tracks[1]; a.Codec != live.MP3 || a.SampleRate != 44100 || a.Channels != 2 {
		t.Errorf("audio %+v", a)
	}

	// Without its audio, the video starts after a while anyway.
	f2, hub2, _ := newTestFeed(t)
	sub2 := hub2.Subscribe(1000)
	_ = f2.claim()
	f2.seedVideo(live.H264, testSPS, testPPS)
	f2.expectAudio()
	for i := range maxAudioWait + 2 {
		d := time.Duration(i) * 40 * time.Millisecond
		f2.writeVideo(live.H264, d, d, [][]byte{testIDR})
	}
	evs = events(sub2)
	if len(evs) != 3 || evs[0].Type != live.EventStarted || len(evs[0].Tracks) != 1 {
		t.Errorf("events %+v", evs)
	}
}

func TestFeedKick(t *testing.T) {
	f, hub, kicks := newTestFeed(t)
	_ = f.claim()
	hub.Kick("the input was deleted")
	poll.UntilTrue(t, "the kick", waitLong, func() bool { return len(kicks.list()) == 1 })
	if got := kicks.list()[0]; got != "the input was deleted" {
		t.Errorf("kicked with %q", got)
	}
	// Closing it ourselves is no kick.
	f2, hub2, kicks2 := newTestFeed(t)
	_ = f2.claim()
	f2.close("done")
	poll.UntilTrue(t, "the session to end", waitLong, func() bool { return hub2.Status().LastEndReason == "done" })
	if got := kicks2.list(); len(got) != 0 {
		t.Errorf("kicked: %q", got)
	}
}

// FuzzFeedVideo: whatever access units a source sends, the feed never
// panics, and what it writes has increasing decode times.
func FuzzFeedVideo(f *testing.F) {
	f.Add([]byte{}, false)
	f.Add(append(append(append([]byte{}, testSPS...), 0, 0, 1), testPPS...), false)
	f.Add([]byte{0x40, 0x01, 0x0c, 0x01, 0xff, 0x00, 0x00, 0x01, 0x42, 0x01, 0x01}, true)
	f.Fuzz(func(t *testing.T, data []byte, h265 bool) {
		codec := live.H264
		if h265 {
			codec = live.H265
		}
		fd, hub, _ := newTestFeed(t)
		sub := hub.Subscribe(1 << 12)
		_ = fd.claim()
		fd.seedVideo(codec, testSPS, testPPS)
		au := bytes.Split(data, []byte{0, 0, 1})
		for i := range 3 {
			d := time.Duration(3-i) * time.Millisecond // going back in time
			fd.writeVideo(codec, d, d, au)
			fd.writeVideo(codec, d, d, [][]byte{testSPS, testPPS, testIDR})
			fd.writeAudio(d, data)
		}
		last := time.Duration(-1)
		for _, e := range events(sub) {
			if e.Type == live.EventFrame && e.Frame.Kind == live.Video {
				if e.Frame.DTS <= last {
					t.Fatalf("DTS %v after %v", e.Frame.DTS, last)
				}
				last = e.Frame.DTS
			}
		}
	})
}
