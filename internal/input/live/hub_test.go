package live

import (
	"errors"
	"net/netip"
	"testing"
	"time"
)

func video(key bool, pts time.Duration) Frame {
	return Frame{Kind: Video, Key: key, PTS: pts, DTS: pts, NALUs: [][]byte{make([]byte, 1000)}}
}

func TestHubOnePublisherAndFastStart(t *testing.T) {
	clock := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	h := NewHub("cam", func() time.Time { return clock })
	s, err := h.Claim(Publisher{Protocol: "rtmp", Remote: "192.0.2.7:5000"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Claim(Publisher{Protocol: "rtmp", Remote: "192.0.2.8:5000"}); !errors.Is(err, ErrBusy) {
		t.Fatalf("second publisher: %v", err)
	}
	tracks := []*Track{{Kind: Video, Codec: H264, Width: 1280, Height: 720}, {Kind: Audio, Codec: AAC, SampleRate: 48000, Channels: 2}}
	s.SetTracks(tracks)
	s.Write(video(false, 0)) // before any key frame: not kept for a fast start
	s.Write(video(true, 40*time.Millisecond))
	s.Write(Frame{Kind: Audio, Key: true, PTS: 50 * time.Millisecond, Data: make([]byte, 300)})
	s.Write(video(false, 80*time.Millisecond))

	sub := h.Subscribe(64)
	want := []EventType{EventStarted, EventFrame, EventFrame, EventFrame}
	for i, w := range want {
		e := <-sub.Events()
		if e.Type != w {
			t.Fatalf("event %d: %v, want %v", i, e.Type, w)
		}
		if i == 1 && !e.Frame.Key {
			t.Error("a late subscriber starts at the last key frame")
		}
	}
	st := h.Status()
	if !st.Connected || st.Publisher != "192.0.2.7:5000" || st.Video != "H264" || st.Width != 1280 || st.Audio != "AAC" || st.FramesReceived != 4 || st.Refused != 1 {
		t.Errorf("status %+v", st)
	}
	if !h.Kick("gone") {
		t.Fatal("kick")
	}
	select {
	case <-s.Done():
	default:
		t.Error("a kicked session's Done is closed so its connection ends")
	}
	if e := <-sub.Events(); e.Type != EventEnded || e.Reason != "gone" {
		t.Errorf("end event %+v", e)
	}
	if _, err := h.Claim(Publisher{Protocol: "rtmp", Remote: "192.0.2.8:5000"}); err != nil {
		t.Errorf("the input is free again: %v", err)
	}
}

func TestSlowSubscriberNeverBlocks(t *testing.T) {
	h := NewHub("cam", nil)
	s, _ := h.Claim(Publisher{Protocol: "udp", Remote: "127.0.0.1:1"})
	s.SetTracks([]*Track{{Kind: Video, Codec: H264}})
	sub := h.Subscribe(16)
	done := make(chan struct{})
	go func() {
		for i := range 1000 {
			s.Write(video(i%50 == 0, time.Duration(i)*time.Millisecond))
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the publisher blocked on a subscriber that does not read")
	}
	if sub.Dropped() == 0 {
		t.Error("drops must be counted")
	}
	sub.Close()
	s.Write(video(true, 0)) // after Close: no panic
}

func TestBitrateIn(t *testing.T) {
	clock := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	h := NewHub("cam", func() time.Time { return clock })
	s, _ := h.Claim(Publisher{})
	s.SetTracks([]*Track{{Kind: Video, Codec: H264}})
	for range 10 { // 10 s at 125,000 bytes per second = 1 Mbit/s
		for range 25 {
			s.Write(video(false, 0))
			s.Write(Frame{Kind: Video, NALUs: [][]byte{make([]byte, 4000)}})
		}
		clock = clock.Add(time.Second)
	}
	if got := h.Status().BitrateIn; got != 1_000_000 {
		t.Errorf("bitrate in %d, want 1000000", got)
	}
}

func TestRegistryAdmits(t *testing.T) {
	clock := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	r := NewRegistry(func() time.Time { return clock })
	r.Set(InputConfig{Name: "cam", Protocol: "rtmp", StreamKey: "k1", Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32"), netip.MustParsePrefix("2001:db8::/32")}})
	if _, err := r.Admit("rtmp", "k1", "127.0.0.2:4000"); err != nil {
		t.Errorf("allowed address: %v", err)
	}
	if _, err := r.Admit("rtmp", "k1", "[2001:db8::7]:4000"); err != nil {
		t.Errorf("allowed IPv6 address: %v", err)
	}
	if _, err := r.Admit("rtmp", "k1", "[::ffff:127.0.0.2]:4000"); err != nil {
		t.Errorf("IPv4-mapped address: %v", err)
	}
	if _, err := r.Admit("rtmp", "k1", "127.0.0.3:4000"); !errors.Is(err, ErrNotAllowed) {
		t.Errorf("outside the group: %v", err)
	}
	if _, err := r.Admit("srt", "k1", "127.0.0.2:4000"); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("the key of another protocol: %v", err)
	}
	for range 6 {
		_, _ = r.Admit("rtmp", "guess", "198.51.100.9:1")
	}
	if p := r.Penalty("198.51.100.9:2"); p < time.Second || p > 5*time.Second {
		t.Errorf("penalty after six wrong keys: %v", p)
	}
	if p := r.Penalty("127.0.0.2:1"); p != 0 {
		t.Errorf("an address that did nothing wrong waits %v", p)
	}
	clock = clock.Add(time.Hour)
	if p := r.Penalty("198.51.100.9:2"); p != 0 {
		t.Errorf("failures are forgotten after a while, still %v", p)
	}
}

func TestRegistryChangesApplyToLivePublishers(t *testing.T) {
	r := NewRegistry(nil)
	cfg := InputConfig{Name: "cam", Protocol: "rtmp", StreamKey: "k1", Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}
	h := r.Set(cfg)
	s, _ := h.Claim(Publisher{Protocol: "rtmp", Remote: "127.0.0.2:4000"})
	cfg.Allow = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	r.Set(cfg)
	if _, live := h.Live(); !live {
		t.Fatal("an unchanged group keeps the publisher")
	}
	cfg.Allow = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	r.Set(cfg)
	select {
	case <-s.Done():
	default:
		t.Fatal("a group that no longer allows the publisher disconnects it")
	}
	cfg.Allow = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	r.Set(cfg)
	s2, _ := h.Claim(Publisher{Protocol: "rtmp", Remote: "127.0.0.2:4001"})
	cfg.StreamKey = "k2"
	r.Set(cfg)
	select {
	case <-s2.Done():
	default:
		t.Fatal("a rotated key ends the session that used the old one")
	}
	if _, err := r.Admit("rtmp", "k1", "127.0.0.2:1"); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("the old key: %v", err)
	}
}

func TestRegistryLookups(t *testing.T) {
	r := NewRegistry(nil)
	r.Set(InputConfig{Name: "a", Protocol: "srt", StreamKey: "ka", Passphrase: "secret-pass-1", Allow: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}})
	r.Set(InputConfig{Name: "b", Protocol: "rtmp", StreamKey: "kb", Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	if !r.AllowedAnywhere("srt", "10.1.2.3:9") || r.AllowedAnywhere("srt", "127.0.0.1:9") || !r.AllowedAnywhere("rtmp", "127.0.0.1:9") {
		t.Error("AllowedAnywhere must consider only inputs of the protocol")
	}
	if cfg, ok := r.Lookup("srt", "ka"); !ok || cfg.Passphrase != "secret-pass-1" {
		t.Errorf("lookup: %+v %v", cfg, ok)
	}
	if _, ok := r.Lookup("rtmp", "ka"); ok {
		t.Error("keys are per protocol")
	}
	r.Remove("a")
	if _, ok := r.Hub("a"); ok {
		t.Error("removed input still has a hub")
	}
}
