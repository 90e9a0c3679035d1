package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/problem"
	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/storage"
	"github.com/sluice-video/sluice/internal/testutil/browser"
	"github.com/sluice-video/sluice/internal/testutil/media"
	"github.com/sluice-video/sluice/internal/testutil/poll"
	"github.com/sluice-video/sluice/internal/testutil/s3server"
)

// TestDVRTimeShiftAndHarvest runs a channel whose HLS endpoint keeps 6 s in
// memory and 10 minutes on disk, asks for a time-shifted range that has
// left memory, and harvests it to VOD.
func TestDVRTimeShiftAndHarvest(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sample := media.Sample(t, dir, 640, 360, 6)
	// Harvested packages go to S3-compatible storage and are served from it.
	minio := s3server.Start(t)
	s := startServerWith(t, t.TempDir(), []string{"--harvest-storage", "s3://harvest/packages?insecure=1&endpoint=" + minio.Endpoint},
		"AWS_ACCESS_KEY_ID="+minio.AccessKey, "AWS_SECRET_ACCESS_KEY="+minio.SecretKey)
	s.applyStack(dir, "dvr", testStack("dvr", sample)+`    outputs:
      - {name: hls, type: HLS, windowSeconds: 6, dvrWindowSeconds: 600}
      - {name: dash, type: DASH, windowSeconds: 6, dvrWindowSeconds: 600}
`)
	s.waitState("dvr", resource.StateRunning, 90*time.Second)

	// Remember the first segments the live playlist offers, with their
	// program date-times, then wait until they have left the live window.
	type seg struct {
		number uint64
		at     time.Time
	}
	var early []seg
	poll.Until(t, "four segments in the live playlist", 90*time.Second, func() (bool, string) {
		pl, body, ok := s.media("/live/dvr/hls/360p/index.m3u8")
		if !ok {
			return false, string(body)
		}
		early = early[:0]
		for _, sg := range segmentsOf(pl) {
			n, err := strconv.ParseUint(strings.TrimSuffix(sg.URI, ".m4s"), 10, 64)
			if err != nil || sg.ProgramDateTime.IsZero() {
				t.Fatalf("segment %q without number or date-time", sg.URI)
			}
			early = append(early, seg{n, sg.ProgramDateTime})
		}
		return len(early) >= 3, string(body)
	})
	poll.Until(t, "the early segments to leave the live window", 120*time.Second, func() (bool, string) {
		pl, body, _ := s.media("/live/dvr/hls/360p/index.m3u8")
		return pl != nil && pl.SeqNo > early[2].number, string(body)
	})

	// From the first remembered segment to the start of the third: exactly
	// the first two, ended.
	start, end := early[0].at, early[2].at
	q := "?start=" + url.QueryEscape(start.Format(time.RFC3339Nano)) + "&end=" + strconv.FormatFloat(float64(end.UnixMilli())/1000, 'f', 3, 64)
	pl, body, ok := s.media("/live/dvr/hls/360p/index.m3u8" + q)
	if !ok {
		t.Fatalf("time-shifted playlist: %s", body)
	}
	segs := segmentsOf(pl)
	if len(segs) != 2 || segs[0].URI != strconv.FormatUint(early[0].number, 10)+".m4s" || segs[1].URI != strconv.FormatUint(early[1].number, 10)+".m4s" || !pl.Closed {
		t.Fatalf("time-shifted playlist does not hold exactly segments %d and %d, ended:\n%s", early[0].number, early[1].number, body)
	}
	if !segs[0].ProgramDateTime.Equal(start) {
		t.Errorf("first segment at %v, want %v", segs[0].ProgramDateTime, start)
	}
	// Its segments have left memory and come from the archive.
	if code, _, data := s.get("/live/dvr/hls/360p/" + segs[0].URI); code != 200 || len(data) == 0 {
		t.Errorf("archived segment %s: %d", segs[0].URI, code)
	}
	probe := ffprobeJSON(t, "-show_entries", "format=duration", s.url("/live/dvr/hls/index.m3u8"+q))
	if d := formatDuration(t, probe); d < 3 || d > 5 {
		t.Errorf("the time-shifted stream lasts %.3f s, want about 4", d)
	}
	// The DASH endpoint shifts the same range into a static MPD.
	if code, _, mpd := s.get("/live/dvr/dash/manifest.mpd" + q); code != 200 || !strings.Contains(string(mpd), `type="static"`) {
		t.Errorf("time-shifted MPD: %d\n%s", code, mpd)
	}

	// Malformed and out-of-window parameters are 400 problem+json naming them.
	for raw, param := range map[string]string{
		"?start=yesterday": "query.start",
		"?start=" + strconv.FormatInt(start.Add(-time.Hour).Unix(), 10):                                   "query.start",
		"?start=" + strconv.FormatInt(start.Unix()+1, 10) + "&end=" + strconv.FormatInt(start.Unix(), 10): "query.end",
	} {
		code, hdr, body := s.get("/live/dvr/hls/360p/index.m3u8" + raw)
		var d problem.Details
		_ = json.Unmarshal(body, &d)
		if code != 400 || hdr.Get("Content-Type") != problem.ContentType || len(d.Errors) != 1 || d.Errors[0].Path != param {
			t.Errorf("%s: %d %s, want 400 naming %s", raw, code, body, param)
		}
	}

	// Harvest three segments' worth to VOD.
	hvEnd := early[2].at.Add(2 * time.Second)
	out, err := s.cli("harvest", "create", "--channel", "dvr", "--endpoint", "hls", "--start", start.Format(time.RFC3339Nano),
		"--end", hvEnd.Format(time.RFC3339Nano), "--destination", "clips/first", "--wait", "-o", "json")
	if err != nil {
		t.Fatalf("harvest create: %v\n%s", err, out)
	}
	var job resource.HarvestJob
	if err := json.Unmarshal([]byte(out), &job); err != nil || job.State != resource.HarvestComplete || job.HLS != "/harvest/clips/first/index.m3u8" {
		t.Fatalf("harvest job: %v %+v", err, job)
	}
	want := hvEnd.Sub(start).Seconds()
	probe = ffprobeJSON(t, "-show_entries", "format=duration:stream=codec_type", s.url(job.HLS))
	if d := formatDuration(t, probe); d < want-2 || d > want+2 {
		t.Errorf("harvested package lasts %.3f s, want %.3f within one segment (2 s)", d, want)
	}
	if streams, _ := probe["streams"].([]any); len(streams) < 2 {
		t.Errorf("harvested package streams: %v", probe["streams"])
	}
	if code, _, mpd := s.get(job.DASH); code != 200 || !strings.Contains(string(mpd), `type="static"`) {
		t.Errorf("harvested MPD: %d\n%s", code, mpd)
	}
	bucket, err := storage.OpenS3(storage.S3Config{Endpoint: minio.Endpoint, Bucket: "harvest", Prefix: "packages", AccessKey: minio.AccessKey, SecretKey: minio.SecretKey, Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	if objs, err := bucket.List(context.Background(), "clips/first/"); err != nil || len(objs) < 10 {
		t.Errorf("the bucket holds %d objects of the package: %v", len(objs), err)
	}
	if out, err := s.cli("harvest", "list"); err != nil || !strings.Contains(out, job.ID) || !strings.Contains(out, "COMPLETE") {
		t.Errorf("harvest list: %v\n%s", err, out)
	}

	playHarvested(t, s, job.HLS)

	// A range outside the window is refused with the window in the message.
	body2 := `{"channel":"dvr","endpoint":"hls","start":"` + start.Add(-time.Hour).Format(time.RFC3339) + `","end":"` + start.Format(time.RFC3339) + `"}`
	res, err := s.http.Post(s.url("/api/v1/harvest-jobs"), "application/json", strings.NewReader(body2))
	if err != nil {
		t.Fatal(err)
	}
	var d problem.Details
	_ = json.NewDecoder(res.Body).Decode(&d)
	_ = res.Body.Close()
	if res.StatusCode != 400 || !strings.Contains(d.Detail, "DVR window is") {
		t.Errorf("harvest outside the window: %d %+v", res.StatusCode, d)
	}
}

func formatDuration(t *testing.T, probe map[string]any) float64 {
	t.Helper()
	f, _ := probe["format"].(map[string]any)
	v, _ := f["duration"].(string)
	d, err := strconv.ParseFloat(v, 64)
	if err != nil {
		t.Fatalf("no duration in %v", probe)
	}
	return d
}

// harvestPage is a bare hls.js page for a VOD package, exposing the
// player's state as window.sluicePlayer for the browser harness.
const harvestPage = `<!doctype html><html><body><video id="v" muted autoplay playsinline></video>
<script src="%s"></script><script>
const p = window.sluicePlayer = {ready: false, fatal: "", errors: [], currentTime: () => document.getElementById("v").currentTime, latencySeconds: () => -1};
const v = document.getElementById("v");
const hls = new Hls();
hls.on(Hls.Events.ERROR, (_, d) => { p.errors.push(d.details); if (d.fatal) p.fatal = d.details; });
v.addEventListener("playing", () => { p.ready = true; });
hls.loadSource(%q); hls.attachMedia(v);
hls.on(Hls.Events.MANIFEST_PARSED, () => v.play());
</script></body></html>`

// playHarvested plays a harvested package with hls.js from the server's
// own assets, on a page of another origin (the package allows CORS).
func playHarvested(t *testing.T, s *server, manifest string) {
	t.Helper()
	if _, err := browser.Available(); err != nil {
		if os.Getenv(media.RequireEnv) == "1" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	hlsJS := "/assets/vendor/hls.min.js"
	if code, _, _ := s.get(hlsJS); code != 200 {
		t.Fatalf("GET %s: %d", hlsJS, code)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = fmt.Fprintf(w, harvestPage, s.url(hlsJS), s.url(manifest))
	}))
	defer srv.Close()
	res, err := playInBrowser(t, srv.URL, 4*time.Second)
	if err != nil {
		t.Fatalf("hls.js did not play the harvested package: %v (errors: %s)", err, strings.Join(errorsOf(res), "; "))
	}
	if res.Fatal != "" {
		t.Fatalf("hls.js fatal error on the harvested package: %s", res.Fatal)
	}
	if n := len(res.Samples); n < 2 || res.Samples[n-1].CurrentTime <= res.Samples[0].CurrentTime {
		t.Errorf("the harvested package did not advance: %+v", res.Samples)
	}
}
