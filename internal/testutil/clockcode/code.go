// Package clockcode is a wall-clock time drawn into a picture as a row of
// black and white cells, readable by a program from a decoded frame or a
// screenshot however the picture was compressed on the way: 24 bits of
// milliseconds (the Unix time in milliseconds modulo 2^24, which repeats
// every 4.66 hours) followed by a check byte (a CRC-8 of those bits, xored
// with CheckXor), most significant bit first, white for 1. A publisher draws its capture clock into every frame
// (Publisher); tests and benchmarks read it back from what a server made of
// the stream and compare it with the times the server claims.
package clockcode

import (
	"image"
	"time"
)

// Layout of the code.
const (
	Cells    = 32
	DataBits = 24
	// Modulo is the period of the coded clock, in milliseconds.
	Modulo = 1 << DataBits
	// White and Black are the luma levels of the cells (video range, so
	// that no encoder clips them).
	White = 235
	Black = 16
	// Margin is how far from mid-grey (128) a cell's mean must be to count
	// as read: compression blurs cell edges, never their centres.
	Margin = 40
)

// CRC8 is the CRC-8 (polynomial x^8+x^2+x+1, 0x07) of the three bytes of a
// 24-bit value, high byte first.
func CRC8(v uint32) byte {
	var crc byte
	for _, b := range []byte{byte(v >> 16 & 0xff), byte(v >> 8 & 0xff), byte(v & 0xff)} {
		crc ^= b
		for range 8 {
			if crc&0x80 != 0 {
				crc = crc<<1 ^ 0x07
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}

// CheckXor is xored into the CRC of a code, so that a picture of one
// colour is no code: a black strip would otherwise read as time 0 (whose
// CRC is 0), and fill, a black picture, as a clock hours away.
const CheckXor = 0x5a

// check is a code's check byte.
func check(v uint32) byte { return CRC8(v) ^ CheckXor }

// Encode returns the 32 cells of the code of a Unix time in milliseconds,
// as the bits of a word (bit 31 is the leftmost cell).
func Encode(unixMillis int64) uint32 {
	v := uint32(unixMillis & (Modulo - 1))
	return v<<8 | uint32(check(v))
}

// Decode checks the check byte of a code and returns its 24-bit time.
func Decode(bits uint32) (uint32, bool) {
	v := bits >> 8
	return v, byte(bits&0xff) == check(v)
}

// Of is a wall-clock instant as the code counts it (milliseconds modulo
// Modulo).
func Of(t time.Time) uint32 { return Encode(t.UnixMilli()) >> 8 }

// Diff is a − b for two coded times, in milliseconds, taken as the
// difference of smallest magnitude (the clock wraps every Modulo ms).
func Diff(a, b uint32) int64 {
	d := (int64(a) - int64(b)) % Modulo
	switch {
	case d >= Modulo/2:
		d -= Modulo
	case d < -Modulo/2:
		d += Modulo
	}
	return d
}

// Strip is where the code sits in a w×h picture: the bottom rows, codeRows
// of every 360 (24 rows at 640×360, a whole number of 8-pixel block rows).
func Strip(w, h int) image.Rectangle {
	return image.Rect(0, h-h*stripRows/stripOf, w, h)
}

const stripRows, stripOf = 24, 360

// Draw paints the cells of bits over the rectangle r of a luma plane with
// the given stride: Cells cells of equal width (the last ones absorb the
// rounding), the full height of r.
func Draw(luma []byte, stride int, r image.Rectangle, bits uint32) {
	w := r.Dx()
	for i := range Cells {
		level := byte(Black)
		if bits&(1<<(Cells-1-i)) != 0 {
			level = White
		}
		x0, x1 := r.Min.X+i*w/Cells, r.Min.X+(i+1)*w/Cells
		for y := r.Min.Y; y < r.Max.Y; y++ {
			row := luma[y*stride:]
			for x := x0; x < x1; x++ {
				row[x] = level
			}
		}
	}
}

// Read reads the cells laid out over r of img: each cell's value is the
// mean brightness of its central half (in both directions). ok is false
// when a cell is too close to mid-grey to tell, or when the CRC does not
// match (a frame that is not a coded one, or a misread).
func Read(img image.Image, r image.Rectangle) (v uint32, ok bool) {
	w := r.Dx()
	h := r.Dy()
	if w < Cells*2 || h < 2 {
		return 0, false
	}
	var bits uint32
	for i := range Cells {
		x0, x1 := r.Min.X+i*w/Cells, r.Min.X+(i+1)*w/Cells
		cw := x1 - x0
		cell := image.Rect(x0+cw/4, r.Min.Y+h/4, x1-cw/4, r.Max.Y-h/4)
		if cell.Empty() {
			cell = image.Rect(x0, r.Min.Y, x1, r.Max.Y)
		}
		m := meanBrightness(img, cell)
		switch {
		case m >= 128+Margin:
			bits |= 1 << (Cells - 1 - i)
		case m <= 128-Margin:
		default:
			return 0, false
		}
	}
	return Decode(bits)
}

// meanBrightness is the mean of (R+G+B)/3 over r, 0–255.
func meanBrightness(img image.Image, r image.Rectangle) float64 {
	if g, ok := img.(*image.Gray); ok {
		var sum, n int
		for y := r.Min.Y; y < r.Max.Y; y++ {
			row := g.Pix[g.PixOffset(r.Min.X, y):g.PixOffset(r.Max.X, y)]
			for _, p := range row {
				sum += int(p)
			}
			n += len(row)
		}
		if n == 0 {
			return 0
		}
		return float64(sum) / float64(n)
	}
	var sum, n float64
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			sum += float64(cr+cg+cb) / 3 / 257
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return sum / n
}
