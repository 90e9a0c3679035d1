// Package sluice drives the Sluice binary under benchmark as a black box:
// it finds or builds the binary, runs `sluice serve` on loopback in a
// temporary data directory, talks to its REST API (whose answers it reads
// into Sluice's own resource types) and origin over HTTP and asks it for
// the encoder command of a ladder.
package sluice
