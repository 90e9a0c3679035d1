package clockcode

import (
	"image"
	"image/color"
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
	for _, ms := range []int64{0, 1, Modulo - 1, Modulo, 1_765_000_123_456, 1_765_000_123_457} {
		luma := make([]byte, w*h)
		for i := range luma {
			luma[i] = 128 // mid-grey around the strip: only the strip is read
		}
		Draw(luma, w, strip, Encode(ms))
		v, ok := Read(lumaImage(luma, w, h), strip)
		if !ok || int64(v) != ms%Modulo {
			t.Errorf("ms %d: read %d, %v; want %d", ms, v, ok, ms%Modulo)
		}
	}
}

func TestReadCodeSurvivesScalingAndNoise(t *testing.T) {
	const w, h = 640, 24
	luma := make([]byte, w*h)
	ms := int64(1_765_000_987_654)
	Draw(luma, w, image.Rect(0, 0, w, h), Encode(ms))
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
	v, ok := Read(img, img.Bounds())
	if !ok || int64(v) != ms%Modulo {
		t.Fatalf("read %d, %v; want %d", v, ok, ms%Modulo)
	}
}

func TestReadCodeRefusesWhatIsNotACode(t *testing.T) {
	const w, h = 640, 24
	grey := make([]byte, w*h)
	for i := range grey {
		grey[i] = 128
	}
	if _, ok := Read(lumaImage(grey, w, h), image.Rect(0, 0, w, h)); ok {
		t.Error("a grey strip read as a code")
	}
	// A picture of one colour (black fill, a white card) is no code.
	for name, level := range map[string]byte{"black": Black, "white": White} {
		plain := make([]byte, w*h)
		for i := range plain {
			plain[i] = level
		}
		if v, ok := Read(lumaImage(plain, w, h), image.Rect(0, 0, w, h)); ok {
			t.Errorf("a %s strip read as the code of %d", name, v)
		}
	}
	// A code with one cell flipped fails its CRC.
	luma := make([]byte, w*h)
	Draw(luma, w, image.Rect(0, 0, w, h), Encode(123456)^1<<20)
	if v, ok := Read(lumaImage(luma, w, h), image.Rect(0, 0, w, h)); ok {
		t.Errorf("a corrupted code read as %d", v)
	}
	if _, ok := Read(lumaImage(luma, w, h), image.Rect(0, 0, 40, h)); ok {
		t.Error("a strip narrower than two pixels a cell read as a code")
	}
}

func TestCRC8DetectsEverySingleBitError(t *testing.T) {
	for _, v := range []uint32{0, 1, 0xABCDEF, 0xFFFFFF} {
		c := Encode(int64(v))
		for bit := range 32 {
			if _, ok := Decode(c ^ 1<<bit); ok {
				t.Errorf("value %#x: flipping bit %d goes unnoticed", v, bit)
			}
		}
	}
	// 0x313233 is "123", whose CRC-8/SMBUS is 0xC0: a fixed point for the
	// JavaScript encoder of bench/latency's player page to agree with.
	if got := CRC8(0x313233); got != 0xC0 {
		t.Errorf("CRC8(0x313233) = %#x", got)
	}
}

func TestClockDiffWraps(t *testing.T) {
	for _, tc := range []struct {
		a, b uint32
		want int64
	}{
		{1500, 200, 1300},
		{200, 1500, -1300},
		{100, Modulo - 900, 1000},  // the clock wrapped between b and a
		{Modulo - 900, 100, -1000}, // and the other way round
	} {
		if got := Diff(tc.a, tc.b); got != tc.want {
			t.Errorf("Diff(%d, %d) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}
