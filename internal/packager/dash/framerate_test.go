package dash

import (
	"math"
	"testing"
)

func TestFormatFrameRate(t *testing.T) {
	tests := []struct {
		fps  float64
		want string
	}{
		{0, ""},
		{-1, ""},
		{math.NaN(), ""},
		{math.Inf(1), ""},
		{25, "25"},
		{30, "30"},
		{60, "60"},
		{29.97, "30000/1001"},
		{30000.0 / 1001, "30000/1001"},
		{23.976, "24000/1001"},
		{59.94, "60000/1001"},
		{12.5, "25/2"},
		{7.5, "15/2"},
	}
	for _, tt := range tests {
		if got := formatFrameRate(tt.fps); got != tt.want {
			t.Errorf("formatFrameRate(%v) = %q, want %q", tt.fps, got, tt.want)
		}
	}
}
