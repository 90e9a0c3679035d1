// Package child starts the processes a benchmark runs (the Sluice server,
// reference ffmpeg encoders) so that none of them outlives the benchmark:
// each gets its own process group and is killed if the benchmark dies, and
// Stop ends it together with everything it started.
package child
