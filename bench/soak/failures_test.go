package main

import (
	"fmt"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Failures group by what was asked for, what went wrong and who answered,
// and split by the fault windows.
func TestUnitFailureKinds(t *testing.T) {
	t0 := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	ws := []window{{from: t0, to: t0.Add(10 * time.Second)}}
	var l failureLog
	edge := &http.Response{StatusCode: 502, Header: http.Header{"X-Cache": {"MISS"}}}
	origin := &http.Response{StatusCode: 404, Header: http.Header{}}
	problem := []byte(`{"status":502,"detail":"no origin could be reached"}`)
	missing := []byte(`{"status":404,"detail":"segment 12 is not in the window"}`)
	l.note(t0.Add(time.Second), "http://e/live/c/hls/low/index.m3u8", edge, problem, nil, nil)
	l.note(t0.Add(20*time.Second), "http://e/live/c/hls/low/index.m3u8", edge, problem, nil, nil)
	l.note(t0.Add(21*time.Second), "http://e/live/c/hls/low/12.m4s", origin, missing, nil, nil)
	l.note(t0.Add(22*time.Second), "http://e/live/c/ll/low/index.m3u8?_HLS_msn=9", nil, nil,
		fmt.Errorf("Get %q: %w", "http://e", &netErr{syscall.ECONNREFUSED}), nil)
	l.note(t0.Add(23*time.Second), "http://e/live/c/hls/low/init-3.mp4", nil, nil, timeoutErr{}, nil)
	s := l.split(ws)
	want := map[string][2]int{
		"c|playlist|502|edge MISS|no origin could be reached": {1, 1},
		"c|segment|404|origin|segment N is not in the window": {0, 1},
		"c|blocking playlist|connection refused|-|":           {0, 1},
		"c|init|timeout|-|": {0, 1},
	}
	if len(s.Kinds) != len(want) {
		t.Fatalf("kinds %+v", s.Kinds)
	}
	for _, k := range s.Kinds {
		key := strings.Join([]string{k.Channel, k.URL, k.What, k.From, k.Detail}, "|")
		if w, ok := want[key]; !ok || w != [2]int{k.Inside, k.Outside} {
			t.Errorf("kind %q: %d inside, %d outside; want %v", key, k.Inside, k.Outside, w)
		}
	}
	if len(s.Examples) != 4 || !strings.Contains(s.Examples[0], "10s after the end of fault window 1") {
		t.Errorf("examples %q", s.Examples)
	}
}

type netErr struct{ err error }

func (e *netErr) Error() string { return "dial tcp: " + e.err.Error() }
func (e *netErr) Unwrap() error { return e.err }

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }
