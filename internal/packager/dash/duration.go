package dash

import (
	"strconv"
	"strings"
	"time"
)

// formatDuration renders d as an xs:duration such as PT12.5S or PT1H2M3S,
// with at most nanosecond precision and no trailing zeros. The MPD never
// needs days, so hours are the largest unit.
func formatDuration(d time.Duration) string {
	if d == 0 {
		return "PT0S"
	}
	var b strings.Builder
	if d < 0 {
		b.WriteByte('-')
		d = -d
	}
	b.WriteString("PT")
	h := d / time.Hour
	d -= h * time.Hour
	m := d / time.Minute
	d -= m * time.Minute
	if h > 0 {
		b.WriteString(strconv.FormatInt(int64(h), 10) + "H")
	}
	if m > 0 {
		b.WriteString(strconv.FormatInt(int64(m), 10) + "M")
	}
	if d > 0 {
		sec := d / time.Second
		frac := d % time.Second
		b.WriteString(strconv.FormatInt(int64(sec), 10))
		if frac > 0 {
			digits := strconv.FormatInt(int64(frac)+int64(time.Second), 10)[1:] // nine digits
			b.WriteString("." + strings.TrimRight(digits, "0"))
		}
		b.WriteByte('S')
	}
	return b.String()
}

// formatDateTime renders t as an xs:dateTime in UTC, with milliseconds only
// when t has a non-zero sub-second part (finer precision is dropped).
func formatDateTime(t time.Time) string {
	t = t.UTC().Truncate(time.Millisecond)
	if t.Nanosecond() == 0 {
		return t.Format("2006-01-02T15:04:05Z")
	}
	return t.Format("2006-01-02T15:04:05.000Z")
}

// ceilMillis rounds d up to a whole millisecond, for the MPD attributes that
// are upper bounds (maxSegmentDuration, mediaPresentationDuration).
func ceilMillis(d time.Duration) time.Duration {
	if r := d % time.Millisecond; r > 0 {
		d += time.Millisecond - r
	}
	return d
}

// durationToTicks expresses d in timescale units, rounding to the nearest
// tick so that a time computed from ticks converts back to the same tick.
func durationToTicks(d time.Duration, timescale uint32) uint64 {
	if d <= 0 {
		return 0
	}
	ts := uint64(timescale)
	sec := uint64(d / time.Second)
	ns := uint64(d % time.Second)
	return sec*ts + (ns*ts+uint64(time.Second)/2)/uint64(time.Second)
}
