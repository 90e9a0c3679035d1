package origin

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/dvr"
	"github.com/sluice-video/sluice/internal/packager/cmaf"
	"github.com/sluice-video/sluice/internal/problem"
	"github.com/sluice-video/sluice/internal/resource"
)

// timeShiftOrigin serves a packaged channel whose HLS endpoint has a DVR
// window, with every segment archived.
func timeShiftOrigin(t *testing.T) (*httptest.Server, *dvr.Archive) {
	t.Helper()
	tl := packagedChannel(t)
	a, err := dvr.OpenArchive(t.TempDir(), time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Sync(tl); err != nil {
		t.Fatal(err)
	}
	outs := []resource.OutputGroup{
		{Name: "hls", Type: resource.OutputHLS, WindowSeconds: 60, DVRWindowSeconds: 3600},
		{Name: "plain", Type: resource.OutputHLS, WindowSeconds: 60},
	}
	o := New(func(name string) (Channel, bool) {
		return Channel{Timeline: tl, Outputs: outs, DVR: a}, name == "ch"
	}, nil, nil)
	mux := http.NewServeMux()
	o.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, a
}

func TestDVRTimeShiftReturnsTheSegmentsOfTheRange(t *testing.T) {
	srv, a := timeShiftOrigin(t)
	first, last, ok := a.Available()
	if !ok || a.Len() < 3 {
		t.Fatalf("archive: %d segments", a.Len())
	}
	// From the second segment's start to the last segment's start: all
	// segments but the first and the last.
	start := first.Add(time.Second)
	end := last.Add(-time.Second)
	u := srv.URL + "/live/ch/hls/360p/index.m3u8?start=" + start.Format(time.RFC3339Nano) + "&end=" + strconv.FormatFloat(float64(end.UnixMilli())/1000, 'f', 3, 64)
	body := get(t, u, http.StatusOK)
	var pdts []string
	for _, l := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(l, "#EXT-X-PROGRAM-DATE-TIME:"); ok {
			pdts = append(pdts, v)
		}
	}
	if want := a.Len() - 2; len(pdts) != want || !strings.Contains(body, "#EXT-X-ENDLIST") {
		t.Fatalf("got %d segments, want %d, ended:\n%s", len(pdts), want, body)
	}
	if got, _ := time.Parse(time.RFC3339Nano, pdts[0]); got.Sub(start).Abs() > 50*time.Millisecond {
		t.Errorf("first segment at %s, want %s", pdts[0], start)
	}
	// The multivariant playlist carries the range to the media playlists.
	mv := get(t, srv.URL+"/live/ch/hls/index.m3u8?start="+start.Format(time.RFC3339), http.StatusOK)
	if !strings.Contains(mv, "index.m3u8?start=") {
		t.Errorf("multivariant playlist does not pass the range:\n%s", mv)
	}
	// Start-over: from the start to the live edge, no end.
	so := get(t, srv.URL+"/live/ch/hls/360p/index.m3u8?start="+first.Add(time.Second).Format(time.RFC3339Nano), http.StatusOK)
	if strings.Contains(so, "#EXT-X-ENDLIST") || strings.Count(so, "#EXTINF") != a.Len()-1 {
		t.Errorf("start-over playlist:\n%s", so)
	}
}

func TestDVRTimeShiftRefusesBadParameters(t *testing.T) {
	srv, a := timeShiftOrigin(t)
	first, _, _ := a.Available()
	cases := map[string]string{
		"/live/ch/hls/360p/index.m3u8?start=yesterday":                                                                                     "query.start",
		"/live/ch/hls/index.m3u8?end=2026-01-01T00:00:00Z":                                                                                 "query.start",
		"/live/ch/hls/360p/index.m3u8?start=10&end=5":                                                                                      "query.end",
		"/live/ch/hls/360p/index.m3u8?start=" + strconv.FormatInt(first.Unix()-600, 10):                                                    "query.start",
		"/live/ch/hls/360p/index.m3u8?start=" + strconv.FormatInt(first.Unix()+1, 10) + "&end=" + strconv.FormatInt(first.Unix()+3600, 10): "query.end",
	}
	for path, param := range cases {
		res, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		var d problem.Details
		_ = json.NewDecoder(res.Body).Decode(&d)
		_ = res.Body.Close()
		if res.StatusCode != http.StatusBadRequest || res.Header.Get("Content-Type") != problem.ContentType || len(d.Errors) != 1 || d.Errors[0].Path != param {
			t.Errorf("%s: %d %s %+v, want 400 naming %s", path, res.StatusCode, res.Header.Get("Content-Type"), d, param)
		}
		if strings.Contains(path, "-600") && !strings.Contains(d.Detail, "DVR window is") {
			t.Errorf("%s: detail %q does not state the window", path, d.Detail)
		}
	}
}

func get(t *testing.T, u string, status int) string {
	t.Helper()
	res, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = res.Body.Close() }()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != status {
		t.Fatalf("GET %s: %d %s", u, res.StatusCode, b)
	}
	return string(b)
}

// TestArchivedSegmentsOfAnEncryptedEndpoint serves segments that have left
// the timeline's memory from the archive: plain with the ETag they had
// while live, and encrypted under the endpoint's rotating key, the same
// bytes every time.
func TestArchivedSegmentsOfAnEncryptedEndpoint(t *testing.T) {
	tl := packagedChannel(t)
	a, err := dvr.OpenArchive(t.TempDir(), time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Sync(tl); err != nil {
		t.Fatal(err)
	}
	snap := tl.Snapshot(time.Minute)
	// A timeline that holds nothing any more: every segment is archived only.
	var rends []cmaf.RenditionConfig
	for _, r := range snap.Renditions {
		rends = append(rends, cmaf.RenditionConfig{ID: r.ID, Kind: r.Kind})
	}
	gone, err := cmaf.NewTimeline(cmaf.Config{SegmentDuration: 2 * time.Second, Window: time.Minute, Renditions: rends})
	if err != nil {
		t.Fatal(err)
	}
	outs := []resource.OutputGroup{
		{Name: "hls", Type: resource.OutputHLS, WindowSeconds: 60, DVRWindowSeconds: 3600},
		{Name: "aes", Type: resource.OutputHLS, WindowSeconds: 60, DVRWindowSeconds: 3600, Encryption: &resource.Encryption{Method: resource.EncryptionAES128, KeyRotationSegments: 2}},
	}
	o := New(func(name string) (Channel, bool) { return Channel{Timeline: gone, Outputs: outs, DVR: a}, name == "ch" }, nil, nil)
	mux := http.NewServeMux()
	o.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	seg := snap.Renditions[0].Segments[1]
	live, _ := tl.Segment(snap.Renditions[0].ID, seg.Number)
	path := "/" + snap.Renditions[0].ID + "/" + itoa(seg.Number) + ".m4s"
	plain, body := fetch(t, srv, "GET", "/live/ch/hls"+path)
	if plain.StatusCode != http.StatusOK || !bytes.Equal(body, live.Data) || plain.Header.Get("ETag") != live.ETag {
		t.Fatalf("archived plain segment: %d, %d bytes, ETag %s (live %s)", plain.StatusCode, len(body), plain.Header.Get("ETag"), live.ETag)
	}
	enc, sealed := fetch(t, srv, "GET", "/live/ch/aes"+path)
	_, again := fetch(t, srv, "GET", "/live/ch/aes"+path)
	_, key := fetch(t, srv, "GET", "/live/ch/aes/keys/"+itoa(seg.Number/2)+".key")
	if enc.StatusCode != http.StatusOK || !bytes.Equal(sealed, again) || !bytes.Equal(decrypt(t, key, seg.Number, sealed), live.Data) {
		t.Fatalf("archived encrypted segment: %d, %d bytes, stable %v", enc.StatusCode, len(sealed), bytes.Equal(sealed, again))
	}
	if enc.Header.Get("ETag") == plain.Header.Get("ETag") {
		t.Fatal("the encrypted segment has the plain one's ETag")
	}
}
