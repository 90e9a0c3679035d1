package ffmpeg

import "time"

// lineLimit lets at most max log lines through per period, so an encoder
// that repeats a warning for every frame cannot flood the server's log.
type lineLimit struct {
	max     int
	per     time.Duration
	start   time.Time
	n       int
	dropped int
}

// allow reports whether a line may be logged now and, when it may, how many
// were dropped since the last one that was.
func (l *lineLimit) allow(now time.Time) (bool, int) {
	if now.Sub(l.start) >= l.per {
		l.start, l.n = now, 0
	}
	if l.n >= l.max {
		l.dropped++
		return false, 0
	}
	l.n++
	dropped := l.dropped
	l.dropped = 0
	return true, dropped
}
