package redundancy

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/dvr"
	"github.com/sluice-video/sluice/internal/origin"
	"github.com/sluice-video/sluice/internal/packager/hls"
	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/testutil/poll"
)

// The origin serves a merged timeline as it serves a channel's own:
// blocking playlist reloads, parts and LL-DASH segments streamed while they
// are written, and the DVR archive copies it.

func newOrigin(t *testing.T, m *Merged) *httptest.Server {
	t.Helper()
	outs := []resource.OutputGroup{
		{Name: "ll", Type: resource.OutputLLHLS, WindowSeconds: 30},
		{Name: "lldash", Type: resource.OutputLLDASH, WindowSeconds: 30},
	}
	o := origin.New(func(name string) (origin.Channel, bool) {
		return origin.Channel{Timeline: m.Timeline(), Outputs: outs}, name == "news"
	}, nil, nil)
	mux := http.NewServeMux()
	o.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

type answer struct {
	status int
	body   []byte
	err    error
}

func fetch(srv *httptest.Server, path string) <-chan answer {
	ch := make(chan answer, 1)
	go func() {
		resp, err := srv.Client().Get(srv.URL + path)
		if err != nil {
			ch <- answer{status: -1, err: err}
			return
		}
		defer func() { _ = resp.Body.Close() }()
		body, err := io.ReadAll(resp.Body)
		ch <- answer{status: resp.StatusCode, body: body, err: err}
	}()
	return ch
}

func TestOriginServesTheMergedTimeline(t *testing.T) {
	t.Parallel()
	enc := twoEncodings(t)
	a := newPipeline(t, enc[0], epoch)
	b := newPipeline(t, enc[1], epoch)
	m, _ := newMerged(t, Config{})
	m.SetLocal(0, a.tl, a.inputLive)
	m.SetLocal(1, b.tl, b.inputLive)
	srv := newOrigin(t, m)

	// Fragments from 2.0 s and 2.2 s make two parts of the third segment.
	a.until(2300 * time.Millisecond)
	a.untilSegments(2)
	num, parts := lastNumber(a.tl)+1, 2
	poll.Until(t, "two parts of the segment in progress", 30*time.Second, func() (bool, string) {
		n, p := edgeParts(m)
		return n == num && p == parts, fmt.Sprintf("segment %d with %d parts", n, p)
	})

	// A blocking reload for the next part, and the segment in progress
	// streamed as LL-DASH does, both from pipeline 0's parts.
	playlist := fetch(srv, fmt.Sprintf("/live/news/ll/360p/index.m3u8?_HLS_msn=%d&_HLS_part=%d", num, parts))
	growing := fetch(srv, fmt.Sprintf("/live/news/lldash/360p/%d.m4s", num))
	select {
	case r := <-playlist:
		t.Fatalf("the blocking reload returned before its part existed: %d %s", r.status, r.body)
	default:
	}
	a.until(2500 * time.Millisecond)
	r := <-playlist
	if r.status != http.StatusOK || !strings.Contains(string(r.body), hls.PartURI(num, parts)) {
		t.Fatalf("the blocking reload: %d\n%s", r.status, r.body)
	}

	// Pipeline 0 dies in the middle of the segment: pipeline 1's whole
	// segment replaces it, and the response streaming pipeline 0's bytes
	// is cut rather than continued with pipeline 1's.
	b.until(2500 * time.Millisecond)
	a.stop()
	b.until(time.Hour)
	b.stop()
	g := <-growing
	if g.err == nil && g.status == http.StatusOK {
		want, _ := b.tl.Segment("360p", num)
		if !bytes.Equal(g.body, want.Data) {
			t.Fatalf("the segment streamed while written is neither cut nor pipeline 1's (%d bytes)", len(g.body))
		}
	}
	untilMerged(t, m, lastNumber(b.tl))
	whole := fetch(srv, fmt.Sprintf("/live/news/lldash/360p/%d.m4s", num))
	w := <-whole
	want, _ := b.tl.Segment("360p", num)
	if w.status != http.StatusOK || !bytes.Equal(w.body, want.Data) {
		t.Errorf("segment %d: %d, %d bytes; want pipeline 1's %d bytes", num, w.status, len(w.body), len(want.Data))
	}

	// The DVR archive copies the merged timeline as any other.
	archive, err := dvr.OpenArchive(t.TempDir(), time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	n, err := archive.Sync(m.Timeline())
	if err != nil || n != len(complete(m)) {
		t.Fatalf("the archive took %d segments of %d: %v", n, len(complete(m)), err)
	}
	for _, s := range complete(m) {
		got, ok := archive.Segment("360p", s.Number)
		seg, _ := m.Timeline().Segment("360p", s.Number)
		if !ok || !bytes.Equal(got, seg.Data) {
			t.Errorf("the archive's segment %d differs", s.Number)
		}
		if _, ok := archive.Init("audio", s.Run); !ok {
			t.Errorf("the archive has no init segment of run %d", s.Run)
		}
	}
}
