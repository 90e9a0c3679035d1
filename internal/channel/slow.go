package channel

import "time"

// slowWatch notices an encoder that runs slower than real time for a while,
// which a live channel cannot afford: its segments fall behind the clock.
type slowWatch struct {
	since  time.Time // start of the current slow stretch; zero when fast
	warned time.Time // last warning
}

// Thresholds of slowWatch.
const (
	slowSpeed   = 0.95
	slowFor     = 10 * time.Second
	slowRepeats = time.Minute
)

// observe records a speed report and says whether to warn now.
func (w *slowWatch) observe(speed float64, now time.Time) bool {
	if speed <= 0 || speed >= slowSpeed {
		w.since = time.Time{}
		return false
	}
	if w.since.IsZero() {
		w.since = now
	}
	if now.Sub(w.since) < slowFor || now.Sub(w.warned) < slowRepeats {
		return false
	}
	w.warned = now
	return true
}
