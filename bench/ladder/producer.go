package main

import (
	"context"
	"time"

	"github.com/sluice-video/sluice/bench/internal/procfs"
)

// reading is one observation of a producer: how much media it had output
// and how much CPU its processes had used, taken together right after a
// progress report of the encoder so that the two agree.
type reading struct {
	// OutTime is the encoder's output position since it started.
	OutTime time.Duration
	// Speed is the encoder's own speed report (1.0 = real time).
	Speed float64
	CPU   procfs.TreeSample
}

// producer is a process tree that produces all or part of the ladder: the
// Sluice server with its encoder, or one reference ffmpeg.
type producer interface {
	// Label names the producer in progress lines and results.
	Label() string
	// Root is the process whose tree is counted.
	Root() int
	// Next waits for the next progress report and returns the reading taken
	// right after it.
	Next(ctx context.Context) (reading, error)
	// Latest returns a reading without waiting for a report, for progress
	// lines; its parts may be up to one report apart.
	Latest(ctx context.Context) (reading, error)
}
