package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/sluice-video/sluice/bench/internal/report"
)

// dvrHole is a run of segment numbers missing from a channel's DVR
// archive, and what accounts for it.
type dvrHole struct {
	Channel string    `json:"channel"`
	From    uint64    `json:"from"` // the first missing number
	Missing uint64    `json:"missing"`
	Start   time.Time `json:"start"` // the end of the segment before the hole
	End     time.Time `json:"end"`   // the start of the segment after it
	// Fault is the fault whose window the hole overlaps ("" for none);
	// Event whether a segment.gap event of the channel came near it.
	Fault string `json:"fault,omitempty"`
	Event bool   `json:"event"`
}

// dvrResult is the DVR archive check.
type dvrResult struct {
	Channels int       `json:"channels"`
	Segments int       `json:"segments"`
	Holes    []dvrHole `json:"holes,omitempty"`
	// GapEvents counts the segment.gap events received.
	GapEvents int `json:"gapEvents"`
	// Error says why the archive could not be read.
	Error string `json:"error,omitempty"`
}

// gapLog keeps the segment.gap events the follower receives: channel and
// time, for the DVR check.
type gapLog struct {
	mu     sync.Mutex
	events []gapEvent
}

type gapEvent struct {
	channel string
	at      time.Time
}

// note records the event whose data is body, when it is a segment.gap.
func (g *gapLog) note(kind, body string) {
	if kind != "segment.gap" {
		return
	}
	var ev struct {
		At     time.Time         `json:"at"`
		Detail map[string]string `json:"detail"`
	}
	if json.Unmarshal([]byte(body), &ev) != nil {
		return
	}
	g.mu.Lock()
	g.events = append(g.events, gapEvent{channel: ev.Detail["channel"], at: ev.At})
	g.mu.Unlock()
}

// near reports whether a gap event of channel came within slack of the
// span from..to.
func (g *gapLog) near(channel string, from, to time.Time, slack time.Duration) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, e := range g.events {
		if e.channel == channel && !e.at.Before(from.Add(-slack)) && !e.at.After(to.Add(slack)) {
			return true
		}
	}
	return false
}

func (g *gapLog) count() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.events)
}

// startHole explains the holes of the channels' start, before the load:
// encoders restarting as their inputs come on air.
const startHole = "the channels' start"

// gapSlack is how far a segment.gap event may lie from the hole it
// reports: the server tells of a dropped segment when it gives up on it.
const gapSlack = 10 * time.Second

// archiveReader reads a channel's DVR archive: its index, kept as the
// server keeps it (see parseArchive), and its description.
type archiveReader func(channel string) ([]archiveEntry, archiveMeta, error)

// localArchives reads the archives of a server's data directory: one
// folder per channel under root.
func localArchives(root string) archiveReader {
	return func(channel string) ([]archiveEntry, archiveMeta, error) {
		return readArchive(filepath.Join(root, channel))
	}
}

// checkDVR reads the DVR archive of every channel (after the server
// stopped) and finds the holes in its numbering, each with the fault
// window it overlaps and whether a segment.gap event reported it. Holes
// before loaded (the channels starting, before the load and the faults)
// are explained by the start.
func checkDVR(read archiveReader, channels []string, loaded time.Time, ws []window, faults []faultRecord, gaps *gapLog) dvrResult {
	res := dvrResult{GapEvents: gaps.count()}
	for _, ch := range channels {
		entries, meta, err := read(ch)
		if err != nil {
			res.Error = err.Error()
			continue
		}
		res.Channels++
		res.Segments += len(entries)
		for _, h := range archiveHoles(ch, entries, meta) {
			if h.End.Before(loaded) {
				h.Fault = startHole
			}
			for i, w := range ws {
				if h.Fault != "" {
					break
				}
				if !h.End.Before(w.from) && !h.Start.After(w.to) {
					h.Fault = fmt.Sprintf("%s at %s", faults[i].Kind, faults[i].Start.Format("15:04:05"))
					break
				}
			}
			h.Event = gaps.near(ch, h.Start, h.End, gapSlack)
			res.Holes = append(res.Holes, h)
		}
	}
	sort.Slice(res.Holes, func(i, j int) bool { return res.Holes[i].Start.Before(res.Holes[j].Start) })
	return res
}

// archiveMeta is what the check reads of an archive's meta.json.
type archiveMeta struct {
	AvailabilityStart time.Time `json:"availabilityStart"`
	Renditions        []struct {
		ID        string
		Timescale uint32
	} `json:"renditions"`
}

// archiveEntry is one line of an archive's index.jsonl.
type archiveEntry struct {
	Number uint64 `json:"n"`
	Run    uint64 `json:"run"`
	Pieces []struct {
		Start    uint64 `json:"s"`
		Duration uint64 `json:"d"`
	} `json:"p"`
}

// readArchive reads an archive's meta.json and index.jsonl.
func readArchive(dir string) ([]archiveEntry, archiveMeta, error) {
	channel := filepath.Base(dir)
	meta, err := os.ReadFile(filepath.Join(dir, "meta.json"))
	if err != nil {
		return nil, archiveMeta{}, fmt.Errorf("reading the DVR archive of %s: %w", channel, err)
	}
	f, err := os.Open(filepath.Join(dir, "index.jsonl"))
	if err != nil {
		return nil, archiveMeta{}, fmt.Errorf("reading the DVR archive of %s: %w", channel, err)
	}
	defer f.Close()
	var lines [][]byte
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		lines = append(lines, append([]byte(nil), sc.Bytes()...))
	}
	if err := sc.Err(); err != nil {
		return nil, archiveMeta{}, fmt.Errorf("reading the DVR archive of %s: %w", channel, err)
	}
	return parseArchive(channel, meta, lines)
}

// parseArchive reads an archive's description and its index entries,
// keeping (as the server does) only whole entries with growing numbers.
func parseArchive(channel string, metaJSON []byte, lines [][]byte) ([]archiveEntry, archiveMeta, error) {
	var meta archiveMeta
	if err := json.Unmarshal(metaJSON, &meta); err != nil {
		return nil, meta, fmt.Errorf("reading the DVR archive of %s: its description: %w", channel, err)
	}
	if len(meta.Renditions) == 0 || meta.Renditions[0].Timescale == 0 {
		return nil, meta, fmt.Errorf("the DVR archive of %s names no rendition with a timescale", channel)
	}
	var out []archiveEntry
	for _, line := range lines {
		var e archiveEntry
		if json.Unmarshal(line, &e) != nil || len(e.Pieces) != len(meta.Renditions) {
			continue
		}
		if n := len(out); n > 0 && e.Number <= out[n-1].Number {
			continue
		}
		out = append(out, e)
	}
	return out, meta, nil
}

// archiveHoles finds the numbers missing between consecutive entries,
// placed in time by the first rendition's pieces.
func archiveHoles(channel string, entries []archiveEntry, meta archiveMeta) []dvrHole {
	ts := float64(meta.Renditions[0].Timescale)
	at := func(t uint64) time.Time {
		return meta.AvailabilityStart.Add(time.Duration(float64(t) / ts * float64(time.Second)))
	}
	var holes []dvrHole
	for i := 1; i < len(entries); i++ {
		a, b := entries[i-1], entries[i]
		if b.Number == a.Number+1 {
			continue
		}
		pa, pb := a.Pieces[0], b.Pieces[0]
		holes = append(holes, dvrHole{Channel: channel, From: a.Number + 1, Missing: b.Number - a.Number - 1,
			Start: at(pa.Start + pa.Duration), End: at(pb.Start)})
	}
	return holes
}

// dvrTable prints the DVR check.
func (res *results) dvrTable() report.Table {
	d := res.DVR
	explained, reported := 0, 0
	for _, h := range d.Holes {
		if h.Fault != "" {
			explained++
		}
		if h.Event {
			reported++
		}
	}
	t := report.Table{Title: "DVR archive", Header: []string{"channels", "segments", "holes", "explained by a fault", "unexplained", "reported by segment.gap", "not reported", "segment.gap events"},
		Rows: [][]string{{fmt.Sprint(d.Channels), fmt.Sprint(d.Segments), fmt.Sprint(len(d.Holes)), fmt.Sprint(explained), fmt.Sprint(len(d.Holes) - explained),
			fmt.Sprint(reported), fmt.Sprint(len(d.Holes) - reported), fmt.Sprint(d.GapEvents)}}}
	if d.Error != "" {
		t.Notes = append(t.Notes, d.Error)
	}
	for i, h := range d.Holes {
		if i == 20 {
			t.Notes = append(t.Notes, fmt.Sprintf("… and %d more holes", len(d.Holes)-i))
			break
		}
		t.Notes = append(t.Notes, fmt.Sprintf("%s: %d segments from %d, %s to %s (%.1f s): %s, %s", h.Channel, h.Missing, h.From,
			h.Start.Format("15:04:05.0"), h.End.Format("15:04:05.0"), h.End.Sub(h.Start).Seconds(), orDash(h.Fault), map[bool]string{true: "segment.gap received", false: "no segment.gap"}[h.Event]))
	}
	return t
}

// dvrFindings are the holes nothing explains and the holes no event
// reported.
func (res *results) dvrFindings() []string {
	var out []string
	for _, h := range res.DVR.Holes {
		switch {
		case h.Fault == "" && !h.Event:
			out = append(out, fmt.Sprintf("DVR hole in %s at %s (%d segments from %d) outside every fault, and no segment.gap reported it", h.Channel, h.Start.Format("15:04:05"), h.Missing, h.From))
		case h.Fault == "":
			out = append(out, fmt.Sprintf("DVR hole in %s at %s (%d segments from %d) outside every fault", h.Channel, h.Start.Format("15:04:05"), h.Missing, h.From))
		case !h.Event && h.Fault != startHole:
			out = append(out, fmt.Sprintf("DVR hole in %s at %s (%d segments from %d, during %s) without a segment.gap event", h.Channel, h.Start.Format("15:04:05"), h.Missing, h.From, h.Fault))
		}
	}
	if res.DVR.Error != "" {
		out = append(out, "DVR archive check: "+res.DVR.Error)
	}
	return out
}
