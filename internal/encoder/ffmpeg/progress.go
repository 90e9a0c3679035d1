// Package ffmpeg runs the encoder as a supervised child process: extra
// pipes for its outputs, its -progress report parsed, the end of its log
// kept to explain a failure.
package ffmpeg

import (
	"bufio"
	"io"
	"strconv"
	"strings"
	"time"
)

// Progress is one -progress report of ffmpeg.
type Progress struct {
	Frame   int64
	FPS     float64
	Speed   float64
	Dup     int64
	Drop    int64
	OutTime time.Duration
	End     bool
}

// ParseProgress reads ffmpeg's key=value progress blocks from r and calls fn
// after each block (a "progress=" line ends one). It returns when r ends.
func ParseProgress(r io.Reader, fn func(Progress)) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), 64<<10)
	var p Progress
	for sc.Scan() {
		key, val, ok := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		if !ok {
			continue
		}
		val = strings.TrimSpace(val)
		switch key {
		case "frame":
			p.Frame, _ = strconv.ParseInt(val, 10, 64)
		case "fps":
			p.FPS, _ = strconv.ParseFloat(val, 64)
		case "speed":
			p.Speed, _ = strconv.ParseFloat(strings.TrimSuffix(val, "x"), 64)
		case "dup_frames":
			p.Dup, _ = strconv.ParseInt(val, 10, 64)
		case "drop_frames":
			p.Drop, _ = strconv.ParseInt(val, 10, 64)
		case "out_time_us":
			if us, err := strconv.ParseInt(val, 10, 64); err == nil && us >= 0 {
				p.OutTime = time.Duration(us) * time.Microsecond
			}
		case "progress":
			p.End = val == "end"
			fn(p)
		}
	}
	return sc.Err()
}
