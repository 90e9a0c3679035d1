package main

import (
	"encoding/json"
	"image"
	"image/color"
	"math"
	"testing"
)

// lumaImage wraps a luma plane as an image, as a screenshot of a frame
// with neutral chroma would look.
func lumaImage(luma []byte, w, h int) *image.Gray {
	return &image.Gray{Pix: luma, Stride: w, Rect: image.Rect(0, 0, w, h)}
}

func TestClockCodeRoundTrip(t *testing.T) {
	const w, h = 640, 360
	strip := image.Rect(0, h-24, w, h)
	for _, ms := range []int64{0, 1, codeModulo - 1, codeModulo, 1_765_000_123_456, 1_765_000_123_457} {
		luma := make([]byte, w*h)
		for i := range luma {
			luma[i] = 128 // mid-grey around the strip: only the strip is read
		}
		drawCode(luma, w, strip, encodeClock(ms))
		v, ok := readCode(lumaImage(luma, w, h), strip)
		if !ok || int64(v) != ms%codeModulo {
			t.Errorf("ms %d: read %d, %v; want %d", ms, v, ok, ms%codeModulo)
		}
	}
}

func TestReadCodeSurvivesScalingAndNoise(t *testing.T) {
	const w, h = 640, 24
	luma := make([]byte, w*h)
	ms := int64(1_765_000_987_654)
	drawCode(luma, w, image.Rect(0, 0, w, h), encodeClock(ms))
	// Shown at 75 % size, with blurred cell edges and some noise, as a
	// scaled, compressed video frame would be.
	const sw, sh = 480, 18
	img := image.NewRGBA(image.Rect(0, 0, sw, sh))
	for y := range sh {
		for x := range sw {
			sx := x * w / sw
			v := int(luma[(y*h/sh)*w+sx])
			if sx > 0 && sx < w-1 {
				v = (int(luma[(y*h/sh)*w+sx-1]) + 2*v + int(luma[(y*h/sh)*w+sx+1])) / 4
			}
			v += (x*7+y*13)%21 - 10
			img.Set(x, y, color.RGBA{R: uint8(v), G: uint8(v), B: uint8(v), A: 255})
		}
	}
	v, ok := readCode(img, img.Bounds())
	if !ok || int64(v) != ms%codeModulo {
		t.Fatalf("read %d, %v; want %d", v, ok, ms%codeModulo)
	}
}

func TestReadCodeRefusesWhatIsNotACode(t *testing.T) {
	const w, h = 640, 24
	grey := make([]byte, w*h)
	for i := range grey {
		grey[i] = 128
	}
	if _, ok := readCode(lumaImage(grey, w, h), image.Rect(0, 0, w, h)); ok {
		t.Error("a grey strip read as a code")
	}
	// A code with one cell flipped fails its CRC.
	luma := make([]byte, w*h)
	drawCode(luma, w, image.Rect(0, 0, w, h), encodeClock(123456)^1<<20)
	if v, ok := readCode(lumaImage(luma, w, h), image.Rect(0, 0, w, h)); ok {
		t.Errorf("a corrupted code read as %d", v)
	}
	if _, ok := readCode(lumaImage(luma, w, h), image.Rect(0, 0, 40, h)); ok {
		t.Error("a strip narrower than two pixels a cell read as a code")
	}
}

func TestCRC8DetectsEverySingleBitError(t *testing.T) {
	for _, v := range []uint32{0, 1, 0xABCDEF, 0xFFFFFF} {
		c := encodeClock(int64(v))
		for bit := range 32 {
			if _, ok := decodeClock(c ^ 1<<bit); ok {
				t.Errorf("value %#x: flipping bit %d goes unnoticed", v, bit)
			}
		}
	}
	// 0x313233 is "123", whose CRC-8/SMBUS is 0xC0: a fixed point for the
	// player page's JavaScript encoder (playerPage) to agree with.
	if got := crc8(0x313233); got != 0xC0 {
		t.Errorf("crc8(0x313233) = %#x", got)
	}
}

func TestClockDiffWraps(t *testing.T) {
	for _, tc := range []struct {
		a, b uint32
		want int64
	}{
		{1500, 200, 1300},
		{200, 1500, -1300},
		{100, codeModulo - 900, 1000},  // the clock wrapped between b and a
		{codeModulo - 900, 100, -1000}, // and the other way round
	} {
		if got := clockDiff(tc.a, tc.b); got != tc.want {
			t.Errorf("clockDiff(%d, %d) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestQuantileAndSummary(t *testing.T) {
	xs := []float64{5, 1, 4, 2, 3}
	for _, tc := range []struct{ q, want float64 }{{0, 1}, {0.5, 3}, {1, 5}, {0.1, 1.4}, {0.9, 4.6}} {
		if got := quantile(xs, tc.q); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("quantile(%v) = %v, want %v", tc.q, got, tc.want)
		}
	}
	if xs[0] != 5 {
		t.Error("quantile reordered its argument")
	}
	if !math.IsNaN(quantile(nil, 0.5)) {
		t.Error("quantile of nothing is not NaN")
	}
	s := summarize([]float64{1.5, 1.6, 1.4, 1.55})
	if s.N != 4 || s.String() != "1.52 (1.43–1.59, n=4)" {
		t.Errorf("summary = %+v %q", s, s)
	}
	if got := (summary{}).String(); got != "-" {
		t.Errorf("empty summary = %q", got)
	}
	if ratio(1.5, 1.2) != "1.25" || ratio(math.NaN(), 1) != "-" || ratio(1, 0) != "-" {
		t.Error("ratio")
	}
}

func TestMissingFiguresAreNullInJSON(t *testing.T) {
	b, err := json.Marshal(struct {
		S summary
		E num
		F num
	}{summarize(nil), num(math.NaN()), 1.25})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"S":{"samples":0,"p10":null,"median":null,"p90":null},"E":null,"F":1.25}`; string(b) != want {
		t.Errorf("JSON = %s, want %s", b, want)
	}
}
