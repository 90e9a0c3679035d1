package rtc

import (
	"errors"
	"strings"
	"testing"

	"github.com/pion/webrtc/v4"
)

// offerOf makes a real offer with pion: a viewer's (recvonly) or a
// publisher's (sendonly) video and audio.
func offerOf(t testing.TB, dir webrtc.RTPTransceiverDirection) string {
	t.Helper()
	pc, err := webrtc.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = pc.Close() }()
	for _, k := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		if dir == webrtc.RTPTransceiverDirectionSendonly {
			c := VideoCapability()
			if k == webrtc.RTPCodecTypeAudio {
				c = AudioCapability()
			}
			tr, err := webrtc.NewTrackLocalStaticSample(c, k.String(), "test")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := pc.AddTransceiverFromTrack(tr, webrtc.RTPTransceiverInit{Direction: dir}); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if _, err := pc.AddTransceiverFromKind(k, webrtc.RTPTransceiverInit{Direction: dir}); err != nil {
			t.Fatal(err)
		}
	}
	o, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	return o.SDP
}

func TestCheckOffer(t *testing.T) {
	viewer := offerOf(t, webrtc.RTPTransceiverDirectionRecvonly)
	publisher := offerOf(t, webrtc.RTPTransceiverDirectionSendonly)
	o, err := CheckOffer([]byte(viewer), Receive)
	if err != nil || o.Video != 1 || o.Audio != 1 || !o.H264 || !o.Opus {
		t.Errorf("a viewer's offer: %+v, %v", o, err)
	}
	if o, err := CheckOffer([]byte(publisher), Send); err != nil || o.Video != 1 || o.Audio != 1 {
		t.Errorf("a publisher's offer: %+v, %v", o, err)
	}
	for name, c := range map[string]struct {
		sdp string
		dir Direction
	}{
		"empty":                    {"", Receive},
		"too long":                 {viewer + strings.Repeat("a=x-pad:"+strings.Repeat("x", 100)+"\r\n", MaxSDP/100), Receive},
		"not SDP":                  {"hello", Receive},
		"binary":                   {"v=0\r\n\x00\xff", Receive},
		"a viewer's offer to send": {viewer, Send},
		"a publisher's to receive": {publisher, Receive},
		"no fingerprint":           {strings.ReplaceAll(viewer, "a=fingerprint:", "a=x-fingerprint:"), Receive},
		"no ICE credentials":       {strings.ReplaceAll(viewer, "a=ice-ufrag:", "a=x-ice-ufrag:"), Receive},
		"a long line":              {viewer + "a=x:" + strings.Repeat("y", maxLine) + "\r\n", Receive},
		"text media":               {strings.Replace(viewer, "m=video", "m=text", 1), Receive},
	} {
		if _, err := CheckOffer([]byte(c.sdp), c.dir); !errors.Is(err, ErrBadSDP) {
			t.Errorf("%s: %v, want ErrBadSDP", name, err)
		}
	}
}

func TestParseFragment(t *testing.T) {
	f, err := ParseFragment([]byte("a=ice-ufrag:abcd\r\na=ice-pwd:secret\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\n" +
		"a=candidate:1 1 udp 2130706431 192.0.2.1 5000 typ host\r\na=end-of-candidates\r\n"))
	if err != nil || f.Ufrag != "abcd" || len(f.Candidates) != 1 || !f.End {
		t.Fatalf("%+v %v", f, err)
	}
	c := f.Candidates[0]
	if c.SDPMid == nil || *c.SDPMid != "0" || c.SDPMLineIndex == nil || *c.SDPMLineIndex != 0 || !strings.HasPrefix(c.Candidate, "candidate:1 ") {
		t.Errorf("candidate %+v", c)
	}
	for name, body := range map[string]string{
		"not SDP":  "hello world",
		"too long": strings.Repeat("a=x\r\n", MaxFragment),
		"too many": strings.Repeat("a=candidate:1 1 udp 1 192.0.2.1 1 typ host\r\n", maxFragmentCandidate+1),
		"sections": strings.Repeat("m=audio 9 RTP/AVP 0\r\n", MaxMedia+1),
	} {
		if _, err := ParseFragment([]byte(body)); !errors.Is(err, ErrBadSDP) {
			t.Errorf("%s: %v, want ErrBadSDP", name, err)
		}
	}
}

type closer struct{ closed bool }

func (c *closer) Close(string) { c.closed = true }

func TestSessionsBounds(t *testing.T) {
	s := Sessions{Max: 3, PerGroup: 2}
	a, err := s.Reserve("ch/a")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Reserve("ch/a"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Reserve("ch/a"); !errors.Is(err, ErrFull) {
		t.Errorf("a third session of a group: %v", err)
	}
	if _, err := s.Reserve("ch/b"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Reserve("ch/c"); !errors.Is(err, ErrFull) {
		t.Errorf("a fourth session: %v", err)
	}
	c := &closer{}
	s.Attach(a, c)
	if got, ok := s.Get("ch/b", a); ok || got != nil {
		t.Errorf("a session found in another group")
	}
	if _, ok := s.Get("ch/a", a); !ok {
		t.Errorf("the session is not found")
	}
	s.CloseAll("bye")
	if !c.closed {
		t.Errorf("CloseAll did not close")
	}
	s.Remove(a)
	if total, in := s.Len("ch/a"); total != 2 || in != 1 {
		t.Errorf("after Remove: %d in all, %d in the group", total, in)
	}
}

func TestParsePortRange(t *testing.T) {
	if lo, hi, err := ParsePortRange("20000-20999"); err != nil || lo != 20000 || hi != 20999 {
		t.Errorf("%d %d %v", lo, hi, err)
	}
	for _, bad := range []string{"1", "5-1", "0-10", "a-b", "1-70000"} {
		if _, _, err := ParsePortRange(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
