package main

import (
	"sync"
	"time"
)

// traffic counts requests and failures per second of the run, so that
// failures can afterwards be split into those a fault explains and the
// others.
type traffic struct {
	mu  sync.Mutex
	sec map[int64]*[2]int64
}

func newTraffic() *traffic { return &traffic{sec: map[int64]*[2]int64{}} }

// add records one request at t that succeeded or not.
func (tr *traffic) add(t time.Time, ok bool) {
	s := t.Unix()
	tr.mu.Lock()
	c := tr.sec[s]
	if c == nil {
		c = new([2]int64)
		tr.sec[s] = c
	}
	c[0]++
	if !ok {
		c[1]++
	}
	tr.mu.Unlock()
}

// split returns the requests and failures outside and inside the windows.
func (tr *traffic) split(windows []window) (total, failed, faultTotal, faultFailed int64) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for s, c := range tr.sec {
		if coveredSecond(windows, s) {
			faultTotal += c[0]
			faultFailed += c[1]
			continue
		}
		total += c[0]
		failed += c[1]
	}
	return total, failed, faultTotal, faultFailed
}

// window is a span of the run that a fault covers: from its start until
// the channels were back and players had had time to catch up.
type window struct{ from, to time.Time }

func coveredSecond(ws []window, s int64) bool {
	for _, w := range ws {
		if s >= w.from.Unix() && s <= w.to.Unix() {
			return true
		}
	}
	return false
}
