package report

import (
	"fmt"
	"io"
	"time"
)

// Log prints progress lines prefixed with the time since the benchmark
// started, so that long phases show they are moving.
type Log struct {
	w     io.Writer
	start time.Time
}

// NewLog returns a Log writing to w, counting from now.
func NewLog(w io.Writer) *Log {
	return &Log{w: w, start: time.Now()}
}

// Printf prints one progress line.
func (l *Log) Printf(format string, args ...any) {
	fmt.Fprintf(l.w, "[%7.1fs] %s\n", time.Since(l.start).Seconds(), fmt.Sprintf(format, args...))
}
