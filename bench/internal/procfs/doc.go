// Package procfs reads what the benchmarks measure about processes from
// Linux's /proc: CPU time, the process tree, peak resident memory and the
// machine-wide CPU counters that show how busy the rest of the machine was.
//
// It reads text files only, so it needs no cgo and no privileges beyond
// those to read the benchmark's own children.
package procfs
