package rtc

import (
	"os"
	"path/filepath"
	"testing"
)

// seedOffer reads an offer pion made (testdata/*-offer.sdp).
func seedOffer(f *testing.F, name string) string {
	f.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		f.Fatal(err)
	}
	return string(b)
}

// FuzzCheckOffer: whatever a client sends, the SDP checks return without
// panicking, and an offer they accept is one pion's parser read.
func FuzzCheckOffer(f *testing.F) {
	f.Add(seedOffer(f, "viewer-offer.sdp"), true)
	f.Add(seedOffer(f, "publisher-offer.sdp"), false)
	f.Add("v=0\r\no=- 0 0 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n", true)
	f.Fuzz(func(t *testing.T, sdp string, receive bool) {
		dir := Send
		if receive {
			dir = Receive
		}
		o, err := CheckOffer([]byte(sdp), dir)
		if err == nil && o.Video+o.Audio == 0 {
			t.Errorf("an offer without media was accepted")
		}
	})
}

// FuzzParseFragment: trickle-ICE fragments are read within their bounds.
func FuzzParseFragment(f *testing.F) {
	f.Add("a=ice-ufrag:abcd\r\na=ice-pwd:x\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\na=candidate:1 1 udp 2130706431 192.0.2.1 5000 typ host\r\na=end-of-candidates\r\n")
	f.Add("m=video 9 RTP/AVP 0\r\na=candidate:x\r\n")
	f.Fuzz(func(t *testing.T, body string) {
		fr, err := ParseFragment([]byte(body))
		if err == nil && len(fr.Candidates) > maxFragmentCandidate {
			t.Errorf("%d candidates accepted", len(fr.Candidates))
		}
	})
}
