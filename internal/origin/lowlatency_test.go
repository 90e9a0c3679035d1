package origin

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/packager/cmaf"
	"github.com/sluice-video/sluice/internal/packager/hls"
	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/testutil/media"
	"github.com/sluice-video/sluice/internal/testutil/poll"
)

// pacedFeed feeds a low-latency timeline one encoder fragment at a time, so
// tests decide when each part comes into existence.
type pacedFeed struct {
	t     *testing.T
	tl    *cmaf.Timeline
	pw    *io.PipeWriter
	frags [][]byte
	next  int
	// headed is set when the box header of frags[next] is already written.
	headed bool
	done   chan error
}

// boxHeader is the size and type that start every MP4 box.
const boxHeader = 8

// newPacedFeed encodes seconds of video as the encoder does for low-latency
// channels (1 s key-frame grid, 200 ms fragments) and starts feeding a
// one-rendition timeline with its init segment only.
func newPacedFeed(t *testing.T, seconds string) *pacedFeed {
	t.Helper()
	out := filepath.Join(t.TempDir(), "360p.mp4")
	media.FFmpeg(t, "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25", "-t", seconds,
		"-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-b:v", "200k",
		"-g", "25", "-keyint_min", "25", "-sc_threshold", "0", "-force_key_frames", "expr:gte(t,n_forced*1)",
		"-video_track_timescale", "90000",
		"-f", "mp4", "-movflags", "+frag_keyframe+empty_moov+default_base_moof+negative_cts_offsets", "-frag_duration", "200000", out)
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var init []byte
	var frags [][]byte
	for len(data) >= 8 {
		size := int(binary.BigEndian.Uint32(data))
		typ := string(data[4:8])
		if size < 8 || size > len(data) {
			t.Fatalf("bad box %q of %d bytes", typ, size)
		}
		switch typ {
		case "ftyp", "moov":
			init = append(init, data[:size]...)
		case "moof":
			frags = append(frags, data[:size])
		case "mdat":
			frags[len(frags)-1] = append(frags[len(frags)-1], data[:size]...)
		}
		data = data[size:]
	}
	tl, err := cmaf.NewTimeline(cmaf.Config{
		SegmentDuration: time.Second, PartDuration: 200 * time.Millisecond, Window: 30 * time.Second,
		AvailabilityStart: time.Now().Add(-time.Minute),
		Renditions:        []cmaf.RenditionConfig{{ID: "360p", Kind: cmaf.Video, Bitrate: 200000, MaxBitrate: 240000, FrameRate: 25}},
	})
	if err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	p := &pacedFeed{t: t, tl: tl, pw: pw, frags: frags, done: make(chan error, 1)}
	feed := tl.StartRun()
	go func() { p.done <- feed.Ingest("360p", pr) }()
	t.Cleanup(func() {
		if p.headed {
			_, _ = pw.Write(p.frags[p.next][boxHeader:]) // end on a whole fragment
		}
		_ = pw.Close()
		if err := <-p.done; err != nil {
			t.Errorf("ingest: %v", err)
		}
	})
	if _, err := pw.Write(init); err != nil {
		t.Fatal(err)
	}
	return p
}

// step writes the next fragment and returns once the timeline has taken
// it: the header of the fragment after it is written too, and a pipe write
// returns only when the reader asks for those bytes, which the packager
// does after it has finished with the fragment before. False when there is
// no fragment left.
func (p *pacedFeed) step() bool {
	if p.next >= len(p.frags) {
		return false
	}
	frag := p.frags[p.next]
	if p.headed {
		frag = frag[boxHeader:]
	}
	if _, err := p.pw.Write(frag); err != nil {
		p.t.Fatal(err)
	}
	p.next++
	p.headed = false
	if p.next < len(p.frags) {
		if _, err := p.pw.Write(p.frags[p.next][:boxHeader]); err != nil {
			p.t.Fatal(err)
		}
		p.headed = true
	}
	return true
}

// until writes fragments, one at a time, until cond holds.
func (p *pacedFeed) until(what string, cond func() bool) {
	p.t.Helper()
	for !cond() {
		if !p.step() {
			// The last fragment has no header after it to wait on.
			poll.UntilTrue(p.t, what+" after the stream's last fragment", 30*time.Second, cond)
			return
		}
	}
}

func newLowLatencyOrigin(t *testing.T, tl *cmaf.Timeline, after func(time.Duration) <-chan time.Time) *httptest.Server {
	t.Helper()
	outs := []resource.OutputGroup{
		{Name: "ll", Type: resource.OutputLLHLS, WindowSeconds: 30},
		{Name: "lldash", Type: resource.OutputLLDASH, WindowSeconds: 30},
		{Name: "hls", Type: resource.OutputHLS, WindowSeconds: 30},
	}
	o := New(func(name string) (Channel, bool) { return Channel{Timeline: tl, Outputs: outs}, name == "news" }, nil, nil)
	if after != nil {
		o.WithTimers(after)
	}
	mux := http.NewServeMux()
	o.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

type reply struct {
	status int
	body   []byte
}

func fetchAsync(srv *httptest.Server, path string) <-chan reply {
	ch := make(chan reply, 1)
	go func() {
		resp, err := srv.Client().Get(srv.URL + path)
		if err != nil {
			ch <- reply{status: -1, body: []byte(err.Error())}
			return
		}
		defer func() { _ = resp.Body.Close() }()
		body, _ := io.ReadAll(resp.Body)
		ch <- reply{status: resp.StatusCode, body: body}
	}()
	return ch
}

func TestBlockingReloadAnswersWhenThePartExists(t *testing.T) {
	t.Parallel()
	p := newPacedFeed(t, "6")
	never := make(chan time.Time)
	srv := newLowLatencyOrigin(t, p.tl, func(time.Duration) <-chan time.Time { return never })

	// Wait for a complete segment and a segment in progress with one part.
	p.until("two segments", func() bool {
		_, parts, complete, ok := p.tl.EdgePosition("360p")
		return ok && !complete && parts == 1 && p.tl.Produced() >= 1
	})
	num, parts, _, _ := p.tl.EdgePosition("360p")

	// The part being written: its playlist request blocks, and a request
	// for the part itself streams it as it is written.
	want := hls.PartURI(num, parts)
	playlist := fetchAsync(srv, fmt.Sprintf("/live/news/ll/360p/index.m3u8?_HLS_msn=%d&_HLS_part=%d", num, parts))
	part := fetchAsync(srv, "/live/news/ll/360p/"+want)
	select {
	case r := <-playlist:
		t.Fatalf("the blocking request returned before part %s existed: %d\n%s", want, r.status, r.body)
	default:
	}
	p.until("the awaited part", func() bool {
		_, n, complete, _ := p.tl.EdgePosition("360p")
		return n > parts || complete
	})
	var r reply
	select {
	case r = <-playlist:
	case <-time.After(30 * time.Second):
		t.Fatal("the blocking request did not return once the part existed")
	}
	if r.status != http.StatusOK || !strings.Contains(string(r.body), `URI="`+want+`"`) {
		t.Fatalf("blocking reload: %d, the playlist lacks %s:\n%s", r.status, want, r.body)
	}
	pr := <-part
	pd, ok := p.tl.Part("360p", num, parts)
	if pr.status != http.StatusOK || !ok || !pd.Complete || !bytes.Equal(pr.body, pd.Data) {
		t.Fatalf("streamed part %s: status %d, %d bytes; the timeline holds %d bytes (complete %v)", want, pr.status, len(pr.body), len(pd.Data), pd.Complete)
	}

	// A part already there answers at once, without waiting.
	r = <-fetchAsync(srv, fmt.Sprintf("/live/news/ll/360p/index.m3u8?_HLS_msn=%d&_HLS_part=0", num))
	if r.status != http.StatusOK {
		t.Errorf("request for an existing part: %d", r.status)
	}

	num, parts, _, _ = p.tl.EdgePosition("360p")
	for _, q := range []string{
		fmt.Sprintf("_HLS_msn=%d", num+3),
		fmt.Sprintf("_HLS_msn=%d&_HLS_part=%d", num, parts+advancePartLimit+1),
		fmt.Sprintf("_HLS_msn=%d&_HLS_part=%d", num+2, 4),
	} {
		r := <-fetchAsync(srv, "/live/news/ll/360p/index.m3u8?"+q)
		if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "too far ahead") {
			t.Errorf("%s: %d %s, want 400 too far ahead", q, r.status, r.body)
		}
	}
	for _, q := range []string{"_HLS_part=1", "_HLS_msn=abc", "_HLS_msn=1&_HLS_part=-2", "_HLS_skip=maybe"} {
		r := <-fetchAsync(srv, "/live/news/ll/360p/index.m3u8?"+q)
		if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "_HLS_") {
			t.Errorf("%s: %d %s, want 400 naming the directive", q, r.status, r.body)
		}
	}
	// Parts far from the edge do not exist.
	if r := <-fetchAsync(srv, "/live/news/ll/360p/"+hls.PartURI(num+5, 0)); r.status != http.StatusNotFound {
		t.Errorf("a part far ahead: %d, want 404", r.status)
	}
	// Standard HLS on the same timeline lists complete segments only.
	r = <-fetchAsync(srv, "/live/news/hls/360p/index.m3u8")
	if r.status != http.StatusOK || strings.Contains(string(r.body), "EXT-X-PART") {
		t.Errorf("standard HLS: %d\n%s", r.status, r.body)
	}
}

func TestBlockingReloadHoldIsBounded(t *testing.T) {
	t.Parallel()
	p := newPacedFeed(t, "3")
	expire := make(chan time.Time)
	srv := newLowLatencyOrigin(t, p.tl, func(time.Duration) <-chan time.Time { return expire })
	p.until("a segment", func() bool { return p.tl.Produced() >= 1 })
	num, parts, complete, _ := p.tl.EdgePosition("360p")
	if complete {
		num, parts = num+1, 0
	}
	playlist := fetchAsync(srv, fmt.Sprintf("/live/news/ll/360p/index.m3u8?_HLS_msn=%d&_HLS_part=%d", num, parts))
	part := fetchAsync(srv, "/live/news/ll/360p/"+hls.PartURI(num, parts+1))
	close(expire) // the hold time passes and no fragment arrives
	for name, ch := range map[string]<-chan reply{"playlist": playlist, "part": part} {
		r := <-ch
		if r.status != http.StatusServiceUnavailable {
			t.Errorf("%s: %d %s, want 503 once the hold expired", name, r.status, r.body)
		}
	}
}

func TestDeltaUpdateSkipsOldSegments(t *testing.T) {
	t.Parallel()
	p := newPacedFeed(t, "10")
	srv := newLowLatencyOrigin(t, p.tl, nil)
	for p.step() {
	}
	p.until("nine segments", func() bool { return p.tl.Produced() >= 9 })
	full := <-fetchAsync(srv, "/live/news/ll/360p/index.m3u8")
	delta := <-fetchAsync(srv, "/live/news/ll/360p/index.m3u8?_HLS_skip=YES")
	if full.status != 200 || delta.status != 200 {
		t.Fatalf("status %d, %d", full.status, delta.status)
	}
	if strings.Contains(string(full.body), "EXT-X-SKIP") || !strings.Contains(string(delta.body), "#EXT-X-SKIP:SKIPPED-SEGMENTS=") {
		t.Errorf("full playlist:\n%s\ndelta update:\n%s", full.body, delta.body)
	}
	if len(delta.body) >= len(full.body) {
		t.Errorf("the delta update (%d bytes) is not smaller than the playlist (%d bytes)", len(delta.body), len(full.body))
	}
}
