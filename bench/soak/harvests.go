package main

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sluice-video/sluice/bench/internal/report"
	"github.com/sluice-video/sluice/internal/resource"
)

// harvester asks for live-to-VOD harvests as an editor clipping the last
// half minute of a channel does: through the API, a channel at a time in
// turn, each into a destination of its own. It follows every job to its
// end by the job list, and afterwards checks that each complete package
// answers, segment by segment.
type harvester struct {
	// api is a server that answers the API at each request.
	api      func() harvestAPI
	channels []string

	mu     sync.Mutex
	tracks []*harvestTrack
}

// harvestAPI is what the harvester asks of a server; *sluice.Server
// satisfies it.
type harvestAPI interface {
	Get(ctx context.Context, path string) (int, []byte, error)
	GetJSON(ctx context.Context, path string, v any) error
	PostJSON(ctx context.Context, path string, body, out any) error
}

// The harvests' endpoint, span and destination prefix.
const (
	harvestEndpoint = "hls"
	harvestSpan     = 24 * time.Second
	harvestPrefix   = "soak/"
	// harvestFirst is when the first harvest is asked for after the
	// load starts, when --harvest-every is longer.
	harvestFirst = 30 * time.Second
	// harvestBound is how long after the load every job has to end.
	harvestBound = 5 * time.Minute
)

// harvestTrack is one harvest asked for and what was seen of its job.
type harvestTrack struct {
	Channel     string
	Destination string
	At          time.Time
	// ID is the job the API answered with, or the one found later by its
	// destination when the answer was lost; "" while there is none.
	ID string
	// Refused is why the request had no job ("" when it had one).
	Refused string
	// seen is set once the job list held the job; vanished when a later
	// list did not.
	seen, vanished bool
	// end is the first end state seen and when the job reached it;
	// twice says how a later list contradicted it.
	end     resource.HarvestState
	endedAt time.Time
	twice   string
	last    resource.HarvestJob
}

// run asks for a harvest every interval until ctx ends, the first after
// harvestFirst, and follows the jobs' states meanwhile.
func (h *harvester) run(ctx context.Context, every time.Duration) {
	go h.follow(ctx)
	sleep(ctx, min(every, harvestFirst))
	for i := 1; ctx.Err() == nil; i++ {
		h.submit(ctx, i)
		sleep(ctx, every)
	}
}

// follow reads the job list every few seconds until ctx ends.
func (h *harvester) follow(ctx context.Context) {
	for ctx.Err() == nil {
		h.poll(ctx)
		sleep(ctx, 5*time.Second)
	}
}

// poll reads the job list once and records what it holds; false when the
// list did not answer.
func (h *harvester) poll(ctx context.Context) bool {
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var jobs []resource.HarvestJob
	if err := h.api().GetJSON(rctx, "/api/v1/harvest-jobs", &jobs); err != nil {
		return false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	observeHarvests(h.tracks, jobs)
	return true
}

// submit asks for harvest i: the last harvestSpan of the HLS endpoint of
// the next channel, ending a few segments before its live edge.
func (h *harvester) submit(ctx context.Context, i int) {
	ch := h.channels[(i-1)%len(h.channels)]
	t := &harvestTrack{Channel: ch, Destination: fmt.Sprintf("%s%s-%04d", harvestPrefix, ch, i), At: time.Now()}
	rctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	end := h.rangeEnd(rctx, ch)
	spec := resource.HarvestSpec{Channel: ch, Endpoint: harvestEndpoint, Destination: t.Destination,
		Start: end.Add(-harvestSpan).UTC().Format(time.RFC3339Nano), End: end.UTC().Format(time.RFC3339Nano)}
	var job resource.HarvestJob
	if err := h.api().PostJSON(rctx, "/api/v1/harvest-jobs", spec, &job); err != nil {
		t.Refused = err.Error()
	} else {
		t.ID = job.ID
	}
	h.mu.Lock()
	h.tracks = append(h.tracks, t)
	h.mu.Unlock()
}

// rangeEnd is where a harvest of channel ends: the start of the third
// segment from the live edge of its media playlist, which the DVR archive
// holds by then; the clock six seconds ago when the playlist does not say.
func (h *harvester) rangeEnd(ctx context.Context, channel string) time.Time {
	code, body, err := h.api().Get(ctx, hlsPlaylist(channel))
	if err == nil && code == http.StatusOK {
		if at := programDateTimes(string(body)); len(at) >= 3 {
			return at[len(at)-3]
		}
	}
	return time.Now().Add(-6 * time.Second)
}

// programDateTimes are the EXT-X-PROGRAM-DATE-TIME of a media playlist's
// segments that carry one, in order, leaving out gaps.
func programDateTimes(body string) []time.Time {
	var out []time.Time
	var pdt time.Time
	gap := false
	sc := bufio.NewScanner(strings.NewReader(body))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "#EXT-X-PROGRAM-DATE-TIME:"):
			pdt, _ = time.Parse(time.RFC3339Nano, strings.TrimPrefix(line, "#EXT-X-PROGRAM-DATE-TIME:"))
		case line == "#EXT-X-GAP":
			gap = true
		case line != "" && !strings.HasPrefix(line, "#"):
			if !pdt.IsZero() && !gap {
				out = append(out, pdt)
			}
			pdt, gap = time.Time{}, false
		}
	}
	return out
}

// observeHarvests records in tracks what one job list says: which jobs
// exist, which vanished, and where each ended. A request whose answer was
// lost adopts the job its destination names.
func observeHarvests(tracks []*harvestTrack, jobs []resource.HarvestJob) {
	byID := map[string]resource.HarvestJob{}
	byDest := map[string]resource.HarvestJob{}
	for _, j := range jobs {
		byID[j.ID] = j
		byDest[j.Destination] = j
	}
	for _, t := range tracks {
		if t.ID == "" {
			j, ok := byDest[t.Destination]
			if !ok {
				continue
			}
			t.ID = j.ID
		}
		j, ok := byID[t.ID]
		if !ok {
			t.vanished = t.vanished || t.seen
			continue
		}
		t.seen, t.last = true, j
		if !terminalHarvest(j.State) {
			if t.end != "" && t.twice == "" {
				t.twice = fmt.Sprintf("%s, then %s again", t.end, j.State)
			}
			continue
		}
		switch {
		case t.end == "":
			t.end, t.endedAt = j.State, j.UpdatedAt
		case t.twice == "" && (j.State != t.end || !j.UpdatedAt.Equal(t.endedAt)):
			t.twice = fmt.Sprintf("%s at %s, then %s at %s", t.end, t.endedAt.Format("15:04:05.000"), j.State, j.UpdatedAt.Format("15:04:05.000"))
		}
	}
}

func terminalHarvest(s resource.HarvestState) bool {
	return s == resource.HarvestComplete || s == resource.HarvestError
}

// settle follows the jobs for up to bound after the load until every one
// has ended, checks the complete packages and accounts for every request.
// windows are the faults' spans, which excuse a refused request.
func (h *harvester) settle(ctx context.Context, bound time.Duration, windows []window) harvestAccount {
	deadline := time.Now().Add(bound)
	for {
		answered := h.poll(ctx)
		h.mu.Lock()
		done := answered && allHarvestsEnded(h.tracks)
		h.mu.Unlock()
		if done || time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		sleep(ctx, 2*time.Second)
	}
	h.mu.Lock()
	tracks := append([]*harvestTrack(nil), h.tracks...)
	h.mu.Unlock()
	acc := accountHarvests(tracks, windows)
	for _, t := range tracks {
		switch {
		case t.twice != "" || t.vanished:
		case t.end == resource.HarvestComplete:
			if err := h.checkPackage(ctx, t.last); err != nil {
				acc.Unplayable = append(acc.Unplayable, fmt.Sprintf("%s (%s): %v", t.Destination, t.ID, err))
			} else {
				acc.Playable++
			}
		case t.end == resource.HarvestError:
			// A failed job deletes what it wrote.
			if code, _, err := h.api().Get(ctx, "/harvest/"+t.Destination+"/index.m3u8"); err == nil && code == http.StatusOK {
				acc.LeftBehind = append(acc.LeftBehind, t.Destination+" ("+t.ID+")")
			}
		}
	}
	return acc
}

func allHarvestsEnded(tracks []*harvestTrack) bool {
	for _, t := range tracks {
		if t.ID != "" && t.end == "" {
			return false
		}
	}
	return true
}

// harvestAccount is what became of the harvests asked for.
type harvestAccount struct {
	// Requested counts the requests; Submitted those that got a job,
	// Refused those that did not (RefusedOutside: outside the faults).
	Requested      int           `json:"requested"`
	Submitted      int           `json:"submitted"`
	Refused        int           `json:"refused"`
	RefusedOutside []string      `json:"refusedOutsideFaults,omitempty"`
	RefusalReasons []reasonCount `json:"refusalReasons,omitempty"`
	Complete       int           `json:"complete"`
	// Playable counts the complete packages whose playlists and every
	// segment they list answered 200; Unplayable says what did not.
	Playable     int           `json:"playable"`
	Unplayable   []string      `json:"unplayable,omitempty"`
	Errored      int           `json:"errored"`
	ErrorReasons []reasonCount `json:"errorReasons,omitempty"`
	// Lost are jobs that vanished, never ended within the bound, or ended
	// in ERROR without a reason; Twice jobs that ended more than once.
	Lost  []string `json:"lost,omitempty"`
	Twice []string `json:"endedTwice,omitempty"`
	// LeftBehind are failed jobs whose package still answers.
	LeftBehind []string `json:"leftBehind,omitempty"`
	// FinishSeconds are the complete jobs' times from creation to COMPLETE.
	FinishSeconds []float64 `json:"finishSeconds"`
}

// reasonCount is how many times a reason was given, numbers left out.
type reasonCount struct {
	Reason string `json:"reason"`
	Count  int    `json:"count"`
}

// accountHarvests counts what became of the requests in tracks; the
// package check is the caller's.
func accountHarvests(tracks []*harvestTrack, windows []window) harvestAccount {
	acc := harvestAccount{Requested: len(tracks)}
	refusals, errs := map[string]int{}, map[string]int{}
	for _, t := range tracks {
		name := t.Destination
		if t.ID != "" {
			name += " (" + t.ID + ")"
		}
		if t.ID == "" {
			acc.Refused++
			reason := reasonOf(t.Refused)
			refusals[reason]++
			if !coveredSecond(windows, t.At.Unix()) {
				acc.RefusedOutside = append(acc.RefusedOutside, fmt.Sprintf("%s at %s: %s", t.Destination, t.At.Format("15:04:05"), t.Refused))
			}
			continue
		}
		acc.Submitted++
		switch {
		case t.vanished:
			acc.Lost = append(acc.Lost, name+" vanished from the job list")
			continue
		case t.twice != "":
			acc.Twice = append(acc.Twice, name+": "+t.twice)
			continue
		case !t.seen:
			acc.Lost = append(acc.Lost, name+" never in the job list")
			continue
		}
		switch t.end {
		case resource.HarvestComplete:
			acc.Complete++
			acc.FinishSeconds = append(acc.FinishSeconds, t.endedAt.Sub(t.last.CreatedAt).Seconds())
		case resource.HarvestError:
			acc.Errored++
			if t.last.Message == "" {
				acc.Lost = append(acc.Lost, name+" ERROR without a reason")
			}
			errs[reasonOf(t.last.Message)]++
		default:
			acc.Lost = append(acc.Lost, fmt.Sprintf("%s still %s", name, t.last.State))
		}
	}
	acc.RefusalReasons, acc.ErrorReasons = countsOf(refusals), countsOf(errs)
	sort.Float64s(acc.FinishSeconds)
	return acc
}

// reasonOf is a reason for counting: its numbers and job ids left out,
// shortened.
func reasonOf(s string) string {
	s = digits.ReplaceAllString(s, "N")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

func countsOf(m map[string]int) []reasonCount {
	var out []reasonCount
	for r, n := range m {
		out = append(out, reasonCount{Reason: r, Count: n})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Reason < out[j].Reason
	})
	return out
}

// checkPackage fetches a complete job's multivariant playlist, each media
// playlist, every init segment and segment they list, and its MPD: each
// must answer 200, each media playlist must have ended, and the first
// must list as many segments as the job reports.
func (h *harvester) checkPackage(ctx context.Context, j resource.HarvestJob) error {
	get := func(path string) ([]byte, error) {
		rctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		code, body, err := h.api().Get(rctx, path)
		switch {
		case err != nil:
			return nil, fmt.Errorf("%s: %w", path, err)
		case code != http.StatusOK:
			return nil, fmt.Errorf("%s answered %d", path, code)
		case len(body) == 0:
			return nil, fmt.Errorf("%s is empty", path)
		}
		return body, nil
	}
	if j.HLS == "" || j.DASH == "" {
		return fmt.Errorf("the job names no HLS or DASH manifest")
	}
	master, err := get(j.HLS)
	if err != nil {
		return err
	}
	variants := playlistURIs(string(master))
	if len(variants) == 0 {
		return fmt.Errorf("%s lists no media playlist", j.HLS)
	}
	for i, v := range variants {
		vpath := resolvePath(j.HLS, v)
		media, err := get(vpath)
		if err != nil {
			return err
		}
		if !strings.Contains(string(media), "#EXT-X-ENDLIST") {
			return fmt.Errorf("%s has no EXT-X-ENDLIST", vpath)
		}
		// Numbers a hole in the archive left out are listed as EXT-X-GAP
		// segments, which players skip: they are neither counted nor
		// fetched.
		pl, _ := parseMediaPlaylist(string(media))
		var uris []string
		for _, u := range playlistURIs(string(media)) {
			if !gapURI(pl, u) {
				uris = append(uris, u)
			}
		}
		if n := len(pl.segments) - countGaps(pl); i == 0 && j.Segments > 0 && n != j.Segments {
			return fmt.Errorf("%s lists %d segments besides gaps, the job reports %d", vpath, n, j.Segments)
		}
		for _, u := range uris {
			if _, err := get(resolvePath(vpath, u)); err != nil {
				return err
			}
		}
	}
	_, err = get(j.DASH)
	return err
}

// mapURI is the URI attribute of an EXT-X-MAP tag.
var mapURI = regexp.MustCompile(`^#EXT-X-MAP:.*URI="([^"]+)"`)

// playlistURIs are the URIs a playlist lists: its variants or segments,
// and its init segments, each once.
func playlistURIs(body string) []string {
	var out []string
	seen := map[string]bool{}
	for _, line := range strings.Split(body, "\n") {
		line = strings.TrimSpace(line)
		u := line
		if m := mapURI.FindStringSubmatch(line); m != nil {
			u = m[1]
		} else if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if !seen[u] {
			seen[u] = true
			out = append(out, u)
		}
	}
	return out
}

// gapURI reports whether u is a segment of pl tagged EXT-X-GAP.
func gapURI(pl mediaPlaylist, u string) bool {
	for i, s := range pl.segments {
		if s == u && pl.gap[i] {
			return true
		}
	}
	return false
}

// countGaps counts the segments of pl tagged EXT-X-GAP.
func countGaps(pl mediaPlaylist) int {
	n := 0
	for _, g := range pl.gap {
		if g {
			n++
		}
	}
	return n
}

// resolvePath resolves a playlist's URI against the playlist's path.
func resolvePath(base, ref string) string {
	b, err := url.Parse(base)
	if err != nil {
		return ref
	}
	r, err := url.Parse(ref)
	if err != nil {
		return ref
	}
	return b.ResolveReference(r).RequestURI()
}

// harvestTable is the harvests' table.
func (res *results) harvestTable() report.Table {
	h := res.Harvests
	t := report.Table{Title: "Harvest jobs (live to VOD, the last " + harvestSpan.String() + " of a channel)",
		Header: []string{"asked", "refused", "submitted", "complete", "playable", "error", "lost", "ended twice", "time to finish median", "max"}}
	if h == nil {
		t.Notes = []string{"none asked for (--harvest-every 0)"}
		return t
	}
	t.Rows = [][]string{{fmt.Sprint(h.Requested), fmt.Sprint(h.Refused), fmt.Sprint(h.Submitted), fmt.Sprint(h.Complete), fmt.Sprint(h.Playable),
		fmt.Sprint(h.Errored), fmt.Sprint(len(h.Lost)), fmt.Sprint(len(h.Twice)), fineSecs(report.Median(h.FinishSeconds)), fineSecs(maxOf(h.FinishSeconds))}}
	for _, r := range h.ErrorReasons {
		t.Notes = append(t.Notes, fmt.Sprintf("ERROR %d × %s", r.Count, r.Reason))
	}
	for _, r := range h.RefusalReasons {
		t.Notes = append(t.Notes, fmt.Sprintf("refused %d × %s", r.Count, r.Reason))
	}
	return t
}

// fineSecs is secs to the hundredth: harvests take a fraction of one.
func fineSecs(s float64) string {
	if s == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f s", s)
}

// harvestFindings adds what did not hold of the harvests: a lost job or
// one that ended twice nothing excuses; an unplayable package, a failed
// job's files left behind or a request refused outside the faults are
// findings.
func (res *results) harvestFindings(broken, finding func(string, ...any)) {
	h := res.Harvests
	if h == nil {
		return
	}
	for _, l := range h.Lost {
		broken("harvest job lost: %s", l)
	}
	for _, l := range h.Twice {
		broken("harvest job ended twice: %s", l)
	}
	for _, u := range h.Unplayable {
		finding("harvested package does not play: %s", u)
	}
	for _, l := range h.LeftBehind {
		finding("failed harvest job left its package: %s", l)
	}
	for _, r := range h.RefusedOutside {
		finding("harvest refused outside the faults: %s", r)
	}
}
