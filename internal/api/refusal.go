package api

import (
	"time"

	"github.com/sluice-video/sluice/internal/metrics"
)

// unauthorizedError refuses a request that lacks credentials it needs or
// presents a wrong token: 401 with a Bearer challenge.
type unauthorizedError struct {
	detail string
	// presented is true when the request carried credentials, wrong ones.
	presented bool
}

func (e *unauthorizedError) Error() string { return e.detail }

// forbiddenError refuses a request no credentials could admit here: 403.
type forbiddenError struct{ detail string }

func (e *forbiddenError) Error() string { return e.detail }

// limitError refuses a stream because a cap on streams served at once is
// reached: 429 with Retry-After.
type limitError struct {
	detail     string
	reason     metrics.FrameRefusal
	retryAfter time.Duration
}

func (e *limitError) Error() string { return e.detail }
