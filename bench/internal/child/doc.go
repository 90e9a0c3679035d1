// Package child starts the processes a benchmark runs (the Sluice server,
// reference ffmpeg encoders) so that none of them outlives the benchmark:
// each gets its own process group and is killed if the benchmark dies, and
// Stop ends it together with everything it started. A child may be kept
// on CPUs of its own, and the benchmark on others, or held to a CPU quota,
// so that the benchmark's clients do not take the server's CPU.
package child
