package api

import (
	"net/http"
	"strconv"

	"github.com/sluice-video/sluice/internal/resource"
)

// Paging bounds of the history and list routes.
const (
	defaultLimit = 100
	maxLimit     = 1000
)

// limitOf reads the ?limit= of a paged route: 100 when absent, else a
// whole number from 1 to 1000; anything else is added to errs.
func limitOf(r *http.Request, errs *resource.FieldErrors) int {
	s := r.URL.Query().Get("limit")
	if s == "" {
		return defaultLimit
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > maxLimit {
		errs.Add("limit", "must be a whole number from 1 to 1000")
	}
	return n
}
