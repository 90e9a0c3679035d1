package pull

import "time"

// backoff spaces reconnections: first, doubling up to most; a session
// that lasted stable starts it over, so a source that fails now and then
// is retried quickly while one that keeps failing is not hammered.
type backoff struct {
	first, most, stable time.Duration
	next                time.Duration
}

func newBackoff(first, most, stable time.Duration) *backoff {
	return &backoff{first: first, most: most, stable: stable, next: first}
}

// delay returns how long to wait before the next attempt, given how long
// the last session was live (zero when it never was).
func (b *backoff) delay(lived time.Duration) time.Duration {
	if lived >= b.stable {
		b.next = b.first
	}
	d := b.next
	b.next = min(2*b.next, b.most)
	return d
}
