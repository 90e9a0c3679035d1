package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sluice-video/sluice/bench/internal/report"
)

// failureLog keeps every failed viewer request by kind, so that failures
// outside the faults can be told apart: which URL, what went wrong, and
// who answered (the edge from its cache or after asking the origin, or
// nobody).
type failureLog struct {
	mu   sync.Mutex
	list []failure
}

// failure is one failed viewer request.
type failure struct {
	At  time.Time   `json:"at"`
	Key failureKind `json:"kind"`
	URL string      `json:"url"`
}

// failureKind is what the failure tables group by.
type failureKind struct {
	// Channel is the channel of the URL; URL is playlist, blocking
	// playlist, init or segment.
	Channel string `json:"channel"`
	URL     string `json:"url"`
	// What is the status or the transport error.
	What string `json:"what"`
	// From is who answered: "edge HIT", "edge MISS", ... (the edge's
	// X-Cache), "origin" for an answer without it, "-" without an answer.
	From string `json:"from"`
	// Detail is the problem document's detail, when there was one.
	Detail string `json:"detail,omitempty"`
}

// maxFailures bounds the log: a fault that fails every request for
// minutes should not grow the soak's own memory without bound.
const maxFailures = 500_000

// note records a failed request of u: err is the transport error (nil
// when an answer came), resp the answer, body what was read of it and
// readErr an error reading it.
func (l *failureLog) note(at time.Time, u string, resp *http.Response, body []byte, err, readErr error) {
	k := failureKind{Channel: urlChannel(u), URL: urlKind(u), From: "-"}
	switch {
	case err != nil:
		k.What = transportError(err)
	default:
		k.From = "origin"
		if c := resp.Header.Get("X-Cache"); c != "" {
			k.From = "edge " + c
		}
		k.What = fmt.Sprint(resp.StatusCode)
		if readErr != nil {
			k.What += ", body broke off: " + transportError(readErr)
		}
		var p struct {
			Detail string `json:"detail"`
		}
		if json.Unmarshal(body, &p) == nil {
			// Numbers (of segments, of milliseconds) would make every
			// failure a kind of its own.
			k.Detail = digits.ReplaceAllString(p.Detail, "N")
		}
	}
	l.mu.Lock()
	if len(l.list) < maxFailures {
		l.list = append(l.list, failure{At: at, Key: k, URL: u})
	}
	l.mu.Unlock()
}

var digits = regexp.MustCompile(`[0-9]+`)

// urlChannel is the channel of a /live/<channel>/... URL.
func urlChannel(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "?"
	}
	parts := strings.Split(strings.TrimPrefix(p.Path, "/"), "/")
	if len(parts) < 2 || parts[0] != "live" {
		return "?"
	}
	return parts[1]
}

// urlKind names what a viewer asked for.
func urlKind(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "?"
	}
	switch ext := path.Ext(p.Path); {
	case ext == ".m3u8" && p.Query().Has("_HLS_msn"):
		return "blocking playlist"
	case ext == ".m3u8":
		return "playlist"
	case strings.HasPrefix(path.Base(p.Path), "init"):
		return "init"
	default:
		return "segment"
	}
}

// transportError names an error without an answer in words that group:
// no addresses, ports or URLs.
func transportError(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, syscall.EPIPE):
		return "broken pipe"
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "connection closed before the answer"
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	}
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 {
		s = s[i+2:]
	}
	return s
}

// failureSplit is the failures by kind inside and outside the faults,
// with the first examples outside them.
type failureSplit struct {
	Kinds    []failureCount `json:"kinds"`
	Examples []string       `json:"examplesOutside,omitempty"`
	// Outside are the failures outside the faults, up to maxOutside,
	// for the JSON report.
	Outside []failure `json:"outside,omitempty"`
}

// maxOutside bounds the failures outside the faults the JSON report
// lists one by one.
const maxOutside = 5000

// failureCount is how often one kind of failure happened.
type failureCount struct {
	failureKind
	Inside  int `json:"inside"`
	Outside int `json:"outside"`
}

// examplesOutside is how many failures outside the faults are listed
// one by one.
const examplesOutside = 20

// split groups the failures by kind inside and outside the windows, and
// lists the first failures outside them with their distance to the
// nearest fault window.
func (l *failureLog) split(ws []window) failureSplit {
	l.mu.Lock()
	list := append([]failure(nil), l.list...)
	l.mu.Unlock()
	sort.Slice(list, func(i, j int) bool { return list[i].At.Before(list[j].At) })
	counts := map[failureKind]*failureCount{}
	var out failureSplit
	for _, f := range list {
		c := counts[f.Key]
		if c == nil {
			c = &failureCount{failureKind: f.Key}
			counts[f.Key] = c
		}
		if coveredSecond(ws, f.At.Unix()) {
			c.Inside++
			continue
		}
		c.Outside++
		if len(out.Outside) < maxOutside {
			out.Outside = append(out.Outside, f)
		}
		if len(out.Examples) < examplesOutside {
			out.Examples = append(out.Examples, fmt.Sprintf("%s %s %s: %s from %s%s (%s)", f.At.Format("15:04:05.000"),
				f.Key.URL, f.URL, f.Key.What, f.Key.From, detailSuffix(f.Key.Detail), nearestWindow(ws, f.At)))
		}
	}
	for _, c := range counts {
		out.Kinds = append(out.Kinds, *c)
	}
	sort.Slice(out.Kinds, func(i, j int) bool {
		a, b := out.Kinds[i], out.Kinds[j]
		if a.Outside != b.Outside {
			return a.Outside > b.Outside
		}
		if a.Inside != b.Inside {
			return a.Inside > b.Inside
		}
		return fmt.Sprint(a.failureKind) < fmt.Sprint(b.failureKind)
	})
	return out
}

func detailSuffix(d string) string {
	if d == "" {
		return ""
	}
	return ` "` + d + `"`
}

// nearestWindow says how far t lies from the closest fault window.
func nearestWindow(ws []window, t time.Time) string {
	best, where := time.Duration(-1), ""
	for i, w := range ws {
		var d time.Duration
		side := "after the end of"
		if t.Before(w.from) {
			d, side = w.from.Sub(t), "before the start of"
		} else {
			d = t.Sub(w.to)
		}
		if best < 0 || d < best {
			best, where = d, fmt.Sprintf("%s %s fault window %d", d.Round(100*time.Millisecond), side, i+1)
		}
	}
	if best < 0 {
		return "no fault window"
	}
	return where
}

// failureTable prints the viewers' failures by kind.
func (res *results) failureTable() report.Table {
	t := report.Table{Title: "Failed viewer requests by kind", Header: []string{"channel", "request", "failure", "answered by", "detail", "during faults", "outside"}}
	for i, k := range res.ViewerFailures.Kinds {
		if i == 15 {
			t.Notes = append(t.Notes, fmt.Sprintf("… and %d more kinds", len(res.ViewerFailures.Kinds)-i))
			break
		}
		t.Rows = append(t.Rows, []string{k.Channel, k.URL, k.What, k.From, orDash(k.Detail), fmt.Sprint(k.Inside), fmt.Sprint(k.Outside)})
	}
	if len(t.Rows) == 0 {
		t.Rows = append(t.Rows, []string{"-", "-", "none", "", "", "0", "0"})
	}
	if len(res.ViewerFailures.Examples) > 0 {
		t.Notes = append(t.Notes, "the first failures outside the faults:")
		for _, e := range res.ViewerFailures.Examples {
			t.Notes = append(t.Notes, "  "+e)
		}
	}
	return t
}
