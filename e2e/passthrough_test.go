package e2e

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Eyevinn/mp4ff/mp4"

	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/testutil/browser"
	"github.com/sluice-video/sluice/internal/testutil/clockcode"
	"github.com/sluice-video/sluice/internal/testutil/media"
	"github.com/sluice-video/sluice/internal/testutil/poll"
)

// passthroughStack: two push inputs; channel pt passes its input's video
// (MPEG-TS over UDP) through beside an encoded rung (LL-HLS and HLS),
// channel gop passes through an input whose key frames come every 2.5 s.
const passthroughStack = `name: pt
securityGroups:
  - {name: local, allow: [127.0.0.0/8]}
inputs:
  - {name: cam, type: UDP_PUSH, securityGroups: [local], port: %d}
  - {name: cam-gop, type: RTMP_PUSH, securityGroups: [local]}
channels:
  - name: pt
    autoStart: true
    inputAttachments: [{input: cam}]
    encoder:
      video:
        - {name: source, passthrough: true}
        - {name: low, width: 320, height: 180, bitrate: 300k, fps: 30, profile: main, preset: ultrafast}
    outputs: [{name: ll, type: LL_HLS}, {name: hls, type: HLS}]
  - name: gop
    autoStart: true
    inputAttachments: [{input: cam-gop}]
    encoder:
      video: [{name: source, passthrough: true}]
    outputs: [{name: ll, type: LL_HLS}]
`

// TestPassthroughRung publishes to a channel with a passthrough rung and
// checks that the rung's samples are the publisher's own H.264, NAL unit
// for NAL unit, that hls.js plays it beside the encoded rung, and that a
// channel whose input's key frames do not fall on the segment grid says so
// in its status, with the GOP to set.
func TestPassthroughRung(t *testing.T) {
	t.Parallel()
	s := startServer(t, t.TempDir())
	port := freeUDPPort(t)
	s.applyStack(t.TempDir(), "pt", fmt.Sprintf(passthroughStack, port))
	source := filepath.Join(t.TempDir(), "published.h264")
	clockcode.StartPublisher(t, clockcode.PublisherConfig{
		Width: 640, Height: 360, FPS: 30, Audio: true,
		// What is sent, also kept as an H.264 elementary stream.
		Outputs: []string{"-f", "tee", fmt.Sprintf("[f=mpegts]udp://127.0.0.1:%d?pkt_size=1316|[f=h264:select=v:flush_packets=1]%s", port, source)},
	})
	clockcode.StartPublisher(t, clockcode.PublisherConfig{
		Width: 320, Height: 180, FPS: 30, GOP: 75,
		Outputs: []string{"-f", "flv", pushURL(t, s, "cam-gop")},
	})
	onAir(t, s, "pt", "cam")

	t.Run("bit-identical", func(t *testing.T) {
		playlist := "/live/pt/hls/source/index.m3u8"
		var segs []string
		var init []byte
		poll.Until(t, "four passthrough segments", 90*time.Second, func() (bool, string) {
			pl, _, ok := s.media(playlist)
			if !ok {
				return false, "no playlist"
			}
			all := segmentsOf(pl)
			// The segments of the newest run: the run that carries the
			// publisher (the encoder restarts into it after fill).
			newest := all[len(all)-1].Map.URI
			segs = nil
			for _, seg := range all {
				if seg.Map.URI == newest {
					segs = append(segs, seg.URI)
				}
			}
			_, _, init = s.get("/live/pt/hls/source/" + newest)
			return len(segs) >= 4, fmt.Sprintf("%d segments of the newest run", len(segs))
		})
		var samples [][]byte
		var lengthSize int
		for _, uri := range segs {
			code, _, data := s.get("/live/pt/hls/source/" + uri)
			if code != 200 {
				t.Fatalf("segment %s: %d", uri, code)
			}
			var got [][]byte
			got, lengthSize = samplesOf(t, init, data)
			samples = append(samples, got...)
		}
		var ours [][]byte
		for _, smp := range samples {
			ours = append(ours, avccNALUs(t, smp, lengthSize)...)
		}
		published, err := os.ReadFile(source) //nolint:gosec // the test's own file
		if err != nil {
			t.Fatal(err)
		}
		theirs := annexBNALUs(published)
		t.Logf("the publisher's stream: %d bytes, %d NAL units", len(published), len(theirs))
		compareNALUs(t, ours, theirs)
	})

	t.Run("plays", func(t *testing.T) {
		if _, err := browser.Available(); err != nil {
			if os.Getenv(media.RequireEnv) == "1" {
				t.Fatal(err)
			}
			t.Skip(err)
		}
		code, _, body := s.get("/live/pt/ll/index.m3u8")
		if code != 200 || !strings.Contains(string(body), "source/av.m3u8") || !strings.Contains(string(body), "low/av.m3u8") {
			t.Fatalf("multivariant: %d\n%s", code, body)
		}
		w, err := watchLive(t, s, "pt", s.url("/play/pt?player=llhls"), 20*time.Second)
		res := w.res
		if err != nil {
			t.Fatalf("hls.js did not start playing: %v (errors: %s)", err, strings.Join(errorsOf(res), "; "))
		}
		if res.Fatal != "" {
			t.Fatalf("hls.js fatal error: %s (errors: %s)", res.Fatal, strings.Join(errorsOf(res), "; "))
		}
		checkLiveProgress(t, "llhls", w)
		sizes := map[int]int{}
		for _, smp := range res.Samples {
			sizes[smp.Height]++
		}
		if sizes[360] == 0 {
			t.Errorf("hls.js never showed the passthrough rung's 640x360 picture: heights %v", sizes)
		}
		t.Logf("picture heights shown (samples): %v", sizes)
	})

	t.Run("key frames off the grid", func(t *testing.T) {
		poll.Until(t, "the status of channel gop to say its key frames do not fit", 90*time.Second, func() (bool, string) {
			ch := s.channel("gop")
			if ch.Pipeline == nil {
				return false, string(ch.State)
			}
			note := ch.Pipeline.KeyFrames
			return strings.Contains(note, "every 2.5 s do not fit 1 s segments") && strings.Contains(note, "-g 30 at 30 fps"), note
		})
		t.Logf("status: %s", s.channel("gop").Pipeline.KeyFrames)
		if ch := s.channel("pt"); ch.Pipeline == nil || ch.Pipeline.KeyFrames != "" {
			t.Errorf("channel pt, whose key frames fit, reports %+v", ch.Pipeline)
		}
	})
}

// pushURL is an RTMP input's endpoint.
func pushURL(t *testing.T, s *server, input string) string {
	t.Helper()
	var url string
	poll.Until(t, "input "+input+"'s endpoint", 30*time.Second, func() (bool, string) {
		in := s.input(input)
		if len(in.Endpoints) == 0 {
			return false, "no endpoint"
		}
		url = in.Endpoints[0]
		return strings.HasPrefix(url, "rtmp://"), url
	})
	return url
}

// onAir waits until a channel encodes its live input, not fill.
func onAir(t *testing.T, s *server, channel, input string) {
	t.Helper()
	poll.Until(t, channel+" on air", 90*time.Second, func() (bool, string) {
		c := s.channel(channel)
		p := c.Pipeline
		if c.State != resource.StateRunning || p == nil {
			return false, string(c.State) + " " + c.StateReason
		}
		return p.ActiveInput == input && !p.Filling, fmt.Sprintf("active %q, filling %v", p.ActiveInput, p.Filling)
	})
}

// samplesOf returns the samples of a segment, and the length of the NAL
// unit sizes in them (four bytes, as ffmpeg writes them), followed by the
// parameter sets of the init segment's avcC.
func samplesOf(t *testing.T, init, seg []byte) ([][]byte, int) {
	t.Helper()
	f, err := mp4.DecodeFile(bytes.NewReader(append(append([]byte(nil), init...), seg...)))
	if err != nil {
		t.Fatal(err)
	}
	avc := f.Init.Moov.Trak.Mdia.Minf.Stbl.Stsd.AvcX
	if avc == nil || avc.AvcC == nil {
		t.Fatal("the passthrough rung is not H.264 in avc1")
	}
	var out [][]byte
	for _, s := range f.Segments {
		for _, frag := range s.Fragments {
			fs, err := frag.GetFullSamples(f.Init.Moov.Mvex.Trex)
			if err != nil {
				t.Fatal(err)
			}
			for _, smp := range fs {
				out = append(out, smp.Data)
			}
		}
	}
	for _, ps := range append(append([][]byte(nil), avc.AvcC.SPSnalus...), avc.AvcC.PPSnalus...) {
		n := len(ps)
		out = append(out, append([]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}, ps...))
	}
	return out, 4
}

// avccNALUs splits a sample into its NAL units.
func avccNALUs(t *testing.T, sample []byte, lengthSize int) [][]byte {
	t.Helper()
	var out [][]byte
	for len(sample) > 0 {
		if len(sample) < lengthSize {
			t.Fatalf("truncated NAL unit length")
		}
		n := 0
		for _, b := range sample[:lengthSize] {
			n = n<<8 | int(b)
		}
		sample = sample[lengthSize:]
		if n > len(sample) {
			t.Fatalf("NAL unit of %d bytes in %d", n, len(sample))
		}
		out = append(out, sample[:n])
		sample = sample[n:]
	}
	return out
}

// annexBNALUs splits an H.264 byte stream at its start codes.
func annexBNALUs(data []byte) [][]byte {
	var out [][]byte
	start := -1
	for i := 0; i+3 <= len(data); {
		if data[i] == 0 && data[i+1] == 0 && data[i+2] == 1 {
			if start >= 0 {
				out = append(out, bytes.TrimRight(data[start:i], "\x00"))
			}
			i += 3
			start = i
			continue
		}
		i++
	}
	if start >= 0 && start < len(data) {
		out = append(out, data[start:])
	}
	return out
}

// compareNALUs checks that the slices and SEI of ours are the publisher's,
// byte for byte and in order, and that its parameter sets are the
// publisher's. Access unit delimiters and repeated parameter sets, which
// carry no picture, may be added or dropped on the way, and zero bytes
// after a NAL unit (trailing_zero_8bits of a byte stream, not part of the
// unit) may be kept or dropped. A loaded machine
// may lose the input for a moment: the rung then carries fill, whose
// slices are none of the publisher's, and the publisher's resume later on;
// each stretch of the publisher's must have none of its slices missing.
func compareNALUs(t *testing.T, ours, theirs [][]byte) {
	t.Helper()
	picture := func(n []byte) bool {
		typ := n[0] & 0x1f
		return typ == 1 || typ == 5 || typ == 6
	}
	params := map[string]bool{}
	defer func() {
		if t.Failed() {
			for p := range params {
				t.Logf("the publisher's parameter set: % x", p)
			}
		}
	}()
	var b [][]byte
	index := map[string]int{}
	for _, n := range theirs {
		n = bytes.TrimRight(n, "\x00")
		switch {
		case len(n) == 0:
		case n[0]&0x1f == 7 || n[0]&0x1f == 8:
			params[string(n)] = true
		case picture(n):
			index[string(n)] = len(b)
			b = append(b, n)
		}
	}
	matched, longest, stretch, next, last := 0, 0, 0, -1, -1
	for _, n := range ours {
		n = bytes.TrimRight(n, "\x00")
		if len(n) == 0 {
			continue
		}
		if typ := n[0] & 0x1f; typ == 7 || typ == 8 {
			if !params[string(n)] && next >= 0 {
				t.Errorf("a parameter set (type %d: % x) amid the publisher's pictures that the publisher did not send", typ, n)
			}
			continue
		}
		if !picture(n) {
			continue
		}
		i, ok := index[string(n)]
		switch {
		case !ok:
			next, stretch = -1, 0 // fill
		case next >= 0 && i != next:
			t.Fatalf("the passthrough rung skips from the publisher's NAL unit %d to %d", next, i)
		default:
			if i <= last {
				t.Fatalf("the passthrough rung goes back to the publisher's NAL unit %d after %d", i, last)
			}
			last = i
			matched++
			stretch++
			longest = max(longest, stretch)
			next = i + 1
		}
	}
	if longest < 60 {
		t.Fatalf("the longest stretch of the publisher's pictures in the passthrough rung is %d NAL units (%d in all)", longest, matched)
	}
	t.Logf("%d picture NAL units identical to the publisher's, the longest stretch %d", matched, longest)
}
