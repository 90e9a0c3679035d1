package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// markerPeriod is how often the publisher's picture turns black for a
// second: the marker whose arrival in the receiver's output is timed.
const markerPeriod = 6

// markerFilter draws the marker over the test picture: black during the
// first second of every markerPeriod seconds of media time.
func markerFilter() string {
	return fmt.Sprintf("drawbox=x=0:y=0:w=iw:h=ih:color=black:t=fill:enable='lt(mod(t,%d),1)'", markerPeriod)
}

// publisherClock estimates when the publisher's media time 0 was sent,
// from its -progress reports: each read at wall time w of out_time x
// bounds the start from above by w-x; the smallest bound is the closest.
type publisherClock struct {
	path  string
	start time.Time
}

// read takes one more bound from the progress file.
func (c *publisherClock) read() {
	b, err := os.ReadFile(c.path)
	now := time.Now()
	if err != nil {
		return
	}
	i := strings.LastIndex(string(b), "out_time_us=")
	if i < 0 {
		return
	}
	v, _, _ := strings.Cut(string(b[i+len("out_time_us="):]), "\n")
	us, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || us <= 0 {
		return
	}
	if t := now.Add(-time.Duration(us) * time.Microsecond); c.start.IsZero() || t.Before(c.start) {
		c.start = t
	}
}

// hasBlack decodes an fMP4 segment (its init segment first) and reports
// whether any of its pictures is the black marker.
func hasBlack(ctx context.Context, ffmpeg, dir string, init, seg []byte) (bool, error) {
	f, err := os.CreateTemp(dir, "segment-*.mp4")
	if err != nil {
		return false, err
	}
	defer func() { _ = os.Remove(f.Name()) }()
	if _, err := f.Write(append(append([]byte(nil), init...), seg...)); err != nil {
		_ = f.Close()
		return false, err
	}
	if err := f.Close(); err != nil {
		return false, err
	}
	out, err := exec.CommandContext(ctx, ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "info",
		"-i", f.Name(), "-map", "0:v:0", "-vf", "blackdetect=d=0.03:pix_th=0.10:pic_th=0.95", "-f", "null", "-").CombinedOutput()
	if err != nil {
		return false, fmt.Errorf("decoding %s: %w: %s", filepath.Base(f.Name()), err, lastLine(string(out)))
	}
	return strings.Contains(string(out), "black_start:"), nil
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndex(s, "\n"); i >= 0 {
		return s[i+1:]
	}
	return s
}
