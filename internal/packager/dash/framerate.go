package dash

import (
	"math"
	"strconv"
)

// formatFrameRate renders fps in the DASH FrameRateType syntax, an integer
// or a fraction (N or N/D): 30, 30000/1001, 25/2. Decimal values such as
// 29.97 are not allowed there.
func formatFrameRate(fps float64) string {
	if fps <= 0 || math.IsNaN(fps) || math.IsInf(fps, 0) {
		return ""
	}
	if n := math.Round(fps); math.Abs(fps-n) < 1e-6 {
		return strconv.FormatInt(int64(n), 10)
	}
	// NTSC-style rates: 23.976, 29.97, 59.94.
	if n := math.Round(fps * 1.001); math.Abs(fps*1.001-n) < 1e-3 {
		return strconv.FormatInt(int64(n)*1000, 10) + "/1001"
	}
	num := int64(math.Round(fps * 1000))
	den := int64(1000)
	g := gcd(num, den)
	return strconv.FormatInt(num/g, 10) + "/" + strconv.FormatInt(den/g, 10)
}

func gcd(a, b int64) int64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
