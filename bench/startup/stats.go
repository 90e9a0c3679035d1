package main

import (
	"slices"
)

// maximum returns the largest value; zero for no values.
func maximum(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	return slices.Max(xs)
}
