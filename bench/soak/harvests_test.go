package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/resource"
)

// TestHarvestAccounting follows requests through successive job lists and
// counts each outcome once: complete, a stated ERROR, refusals inside and
// outside the faults, a lost answer whose job is found by its
// destination, and the jobs nothing excuses: one that vanished, one that
// ended twice, one that never ended, an ERROR without a reason.
func TestHarvestAccounting(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 17, 0, 0, 0, time.UTC)
	track := func(dest, id, refused string, at time.Duration) *harvestTrack {
		return &harvestTrack{Channel: "c", Destination: harvestPrefix + dest, ID: id, Refused: refused, At: t0.Add(at)}
	}
	tracks := []*harvestTrack{
		track("ok", "hv-ok", "", 0),
		track("err", "hv-err", "", 0),
		track("refused-in", "", "POST /api/v1/harvest-jobs: 400 start 1795374000 is outside the DVR window", 10*time.Second),
		track("refused-out", "", "POST /api/v1/harvest-jobs: 400 start 1795374999 is outside the DVR window", time.Minute),
		track("lost-answer", "", "POST /api/v1/harvest-jobs: EOF", 10*time.Second),
		track("vanished", "hv-vanished", "", 0),
		track("twice", "hv-twice", "", 0),
		track("stuck", "hv-stuck", "", 0),
		track("silent", "hv-silent", "", 0),
		track("never", "hv-never", "", 0),
	}
	job := func(dest, id string, st resource.HarvestState, msg string, after time.Duration) resource.HarvestJob {
		return resource.HarvestJob{ID: id, HarvestSpec: resource.HarvestSpec{Destination: harvestPrefix + dest}, State: st, Message: msg,
			CreatedAt: t0, UpdatedAt: t0.Add(after)}
	}
	observeHarvests(tracks, []resource.HarvestJob{
		job("ok", "hv-ok", resource.HarvestProgressing, "", time.Second),
		job("err", "hv-err", resource.HarvestSubmitted, "", 0),
		job("lost-answer", "hv-adopted", resource.HarvestProgressing, "", 0),
		job("vanished", "hv-vanished", resource.HarvestProgressing, "", 0),
		job("twice", "hv-twice", resource.HarvestComplete, "", 2*time.Second),
		job("stuck", "hv-stuck", resource.HarvestSubmitted, "", 0),
		job("silent", "hv-silent", resource.HarvestProgressing, "", 0),
	})
	final := []resource.HarvestJob{
		job("ok", "hv-ok", resource.HarvestComplete, "", 3*time.Second),
		job("err", "hv-err", resource.HarvestError, "segment 1234 of low has left the DVR window", 4*time.Second),
		job("lost-answer", "hv-adopted", resource.HarvestComplete, "", 5*time.Second),
		job("twice", "hv-twice", resource.HarvestError, "the server stopped while the job ran; submit it again", 9*time.Second),
		job("stuck", "hv-stuck", resource.HarvestProgressing, "", 0),
		job("silent", "hv-silent", resource.HarvestError, "", time.Second),
	}
	observeHarvests(tracks, final)
	// The same list again changes nothing.
	observeHarvests(tracks, final)
	if !allHarvestsEnded(tracks[:3]) || allHarvestsEnded(tracks) {
		t.Errorf("allHarvestsEnded: the first three ended, hv-stuck did not")
	}

	windows := []window{{from: t0.Add(5 * time.Second), to: t0.Add(20 * time.Second)}}
	acc := accountHarvests(tracks, windows)
	want := harvestAccount{Requested: 10, Submitted: 8, Refused: 2, Complete: 2, Errored: 2}
	if acc.Requested != want.Requested || acc.Submitted != want.Submitted || acc.Refused != want.Refused || acc.Complete != want.Complete || acc.Errored != want.Errored {
		t.Errorf("counts: %+v, want %+v", acc, want)
	}
	if len(acc.RefusedOutside) != 1 || !strings.Contains(acc.RefusedOutside[0], "refused-out") {
		t.Errorf("refused outside the faults: %q", acc.RefusedOutside)
	}
	if len(acc.RefusalReasons) != 1 || acc.RefusalReasons[0].Count != 2 || acc.RefusalReasons[0].Reason != "POST /api/vN/harvest-jobs: N start N is outside the DVR window" {
		t.Errorf("refusal reasons: %+v", acc.RefusalReasons)
	}
	if len(acc.ErrorReasons) != 2 || acc.ErrorReasons[0].Reason != "" || acc.ErrorReasons[1].Reason != "segment N of low has left the DVR window" {
		t.Errorf("error reasons: %+v", acc.ErrorReasons)
	}
	wantLost := []string{"vanished", "stuck", "silent", "never"}
	if len(acc.Lost) != len(wantLost) {
		t.Fatalf("lost: %q, want %q", acc.Lost, wantLost)
	}
	for i, l := range wantLost {
		if !strings.Contains(acc.Lost[i], harvestPrefix+l) {
			t.Errorf("lost[%d] = %q, want %s", i, acc.Lost[i], l)
		}
	}
	if len(acc.Twice) != 1 || !strings.Contains(acc.Twice[0], "COMPLETE at 17:00:02.000, then ERROR at 17:00:09.000") {
		t.Errorf("ended twice: %q", acc.Twice)
	}
	if len(acc.FinishSeconds) != 2 || acc.FinishSeconds[0] != 3 || acc.FinishSeconds[1] != 5 {
		t.Errorf("finish seconds: %v", acc.FinishSeconds)
	}

	res := &results{Harvests: &acc, Integrity: "ok"}
	res.findings()
	harvestFindings := 0
	for _, f := range res.Findings {
		if strings.Contains(f, "harvest") {
			harvestFindings++
		}
	}
	if len(res.Broken) != 5 || harvestFindings != 6 {
		t.Errorf("findings: %q (broken %q)", res.Findings, res.Broken)
	}
	var out strings.Builder
	tbl := res.harvestTable()
	if err := tbl.Write(&out); err != nil || !strings.Contains(out.String(), "ERROR 1 × segment N of low has left the DVR window") {
		t.Errorf("table: %v\n%s", err, out.String())
	}
}

func TestProgramDateTimes(t *testing.T) {
	body := "#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:7\n#EXT-X-MAP:URI=\"init-1.mp4\"\n" +
		"#EXT-X-PROGRAM-DATE-TIME:2026-12-07T17:00:00.000Z\n#EXTINF:2,\n7.m4s\n" +
		"#EXT-X-GAP\n#EXT-X-PROGRAM-DATE-TIME:2026-12-07T17:00:02.000Z\n#EXTINF:2,\n8.m4s\n" +
		"#EXTINF:2,\n9.m4s\n" +
		"#EXT-X-PROGRAM-DATE-TIME:2026-12-07T17:00:06.5Z\n#EXTINF:2,\n10.m4s\n"
	got := programDateTimes(body)
	if len(got) != 2 || got[0] != time.Date(2026, 12, 7, 17, 0, 0, 0, time.UTC) || got[1] != time.Date(2026, 12, 7, 17, 0, 6, 5e8, time.UTC) {
		t.Errorf("programDateTimes: %v", got)
	}
}

// packageSite answers paths from a map, as a server holding a harvested
// package does; every other path is 404.
type packageSite map[string]string

func (p packageSite) Get(_ context.Context, path string) (int, []byte, error) {
	body, ok := p[path]
	if !ok {
		return http.StatusNotFound, []byte("not found"), nil
	}
	return http.StatusOK, []byte(body), nil
}

func (p packageSite) GetJSON(ctx context.Context, path string, v any) error {
	code, body, _ := p.Get(ctx, path)
	if code != http.StatusOK {
		return fmt.Errorf("GET %s: %d", path, code)
	}
	return json.Unmarshal(body, v)
}

func (p packageSite) PostJSON(context.Context, string, any, any) error {
	return fmt.Errorf("not here")
}

func TestCheckPackage(t *testing.T) {
	site := func() packageSite {
		return packageSite{
			"/harvest/soak/a/index.m3u8":     "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=150000\nlow/index.m3u8\n",
			"/harvest/soak/a/manifest.mpd":   "<MPD/>",
			"/harvest/soak/a/low/init-1.mp4": "init",
			"/harvest/soak/a/low/5.m4s":      "seg",
			"/harvest/soak/a/low/6.m4s":      "seg",
			"/harvest/soak/a/low/index.m3u8": "#EXTM3U\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-MAP:URI=\"init-1.mp4\"\n#EXTINF:2,\n5.m4s\n#EXTINF:2,\n6.m4s\n#EXT-X-ENDLIST\n",
		}
	}
	job := resource.HarvestJob{ID: "hv-a", State: resource.HarvestComplete, Segments: 2, HLS: "/harvest/soak/a/index.m3u8", DASH: "/harvest/soak/a/manifest.mpd"}
	check := func(p packageSite, j resource.HarvestJob) error {
		h := &harvester{api: func() harvestAPI { return p }}
		return h.checkPackage(context.Background(), j)
	}
	if err := check(site(), job); err != nil {
		t.Fatalf("a whole package: %v", err)
	}
	noSegment := site()
	delete(noSegment, "/harvest/soak/a/low/6.m4s")
	noInit := site()
	delete(noInit, "/harvest/soak/a/low/init-1.mp4")
	open := site()
	open["/harvest/soak/a/low/index.m3u8"] = strings.Replace(open["/harvest/soak/a/low/index.m3u8"], "#EXT-X-ENDLIST\n", "", 1)
	// A hole in the archive: its numbers are EXT-X-GAP segments, not fetched.
	gap := site()
	gap["/harvest/soak/a/low/index.m3u8"] = strings.Replace(gap["/harvest/soak/a/low/index.m3u8"], "#EXTINF:2,\n6.m4s\n", "#EXT-X-GAP\n#EXTINF:2,\n6.m4s\n#EXTINF:2,\n7.m4s\n", 1)
	delete(gap, "/harvest/soak/a/low/6.m4s")
	gap["/harvest/soak/a/low/7.m4s"] = "seg"
	if err := check(gap, job); err != nil {
		t.Errorf("a package across a hole: %v", err)
	}
	noMPD := site()
	delete(noMPD, "/harvest/soak/a/manifest.mpd")
	more := job
	more.Segments = 3
	for name, c := range map[string]struct {
		site packageSite
		job  resource.HarvestJob
		want string
	}{
		"segment":  {noSegment, job, "low/6.m4s answered 404"},
		"init":     {noInit, job, "init-1.mp4 answered 404"},
		"ended":    {open, job, "no EXT-X-ENDLIST"},
		"mpd":      {noMPD, job, "manifest.mpd answered 404"},
		"segments": {site(), more, "lists 2 segments besides gaps, the job reports 3"},
	} {
		if err := check(c.site, c.job); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
	}
}

func TestParseHarvestEvery(t *testing.T) {
	cfg, err := parseConfig(nil, &strings.Builder{})
	if err != nil || cfg.harvestEvery != 2*time.Minute {
		t.Fatalf("default --harvest-every: %v, %v", cfg.harvestEvery, err)
	}
	if cfg, err := parseConfig([]string{"--harvest-every", "0"}, &strings.Builder{}); err != nil || cfg.harvestEvery != 0 {
		t.Errorf("--harvest-every 0: %v, %v", cfg.harvestEvery, err)
	}
	if _, err := parseConfig([]string{"--harvest-every", "-1m"}, &strings.Builder{}); err == nil {
		t.Error("a negative --harvest-every was accepted")
	}
}
