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
			setInt(&p.Frame, val)
		case "fps":
			setFloat(&p.FPS, val)
		case "speed":
			setFloat(&p.Speed, strings.TrimSuffix(val, "x"))
		case "dup_frames":
			setInt(&p.Dup, val)
		case "drop_frames":
			setInt(&p.Drop, val)
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

// setInt and setFloat keep the previous figure when ffmpeg reports "N/A".
func setInt(dst *int64, s string) {
	if v, err := strconv.ParseInt(s, 10, 64); err == nil {
		*dst = v
	}
}

func setFloat(dst *float64, s string) {
	if v, err := strconv.ParseFloat(s, 64); err == nil {
		*dst = v
	}
}
