package main

import (
	"image"
)

// The clock code is a wall-clock time drawn as a row of black and white
// cells, readable by a program from a screenshot however the picture was
// compressed on the way: 24 bits of milliseconds (the Unix time in
// milliseconds modulo 2^24, which repeats every 4.66 hours) followed by a
// CRC-8 of those bits, most significant bit first, white for 1. The
// publisher draws it into every frame it sends; the player page draws the
// browser's clock the same way next to the video.
const (
	codeCells    = 32
	codeDataBits = 24
	// codeModulo is the period of the coded clock, in milliseconds.
	codeModulo = 1 << codeDataBits
	// codeWhite and codeBlack are the luma levels of the cells (video
	// range, so that no encoder clips them).
	codeWhite = 235
	codeBlack = 16
	// codeMargin is how far from mid-grey (128) a cell's mean must be to
	// count as read: compression blurs cell edges, never their centres.
	codeMargin = 40
)

// crc8 is the CRC-8 (polynomial x^8+x^2+x+1, 0x07) of the three bytes of
// a 24-bit value, high byte first.
func crc8(v uint32) byte {
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

// encodeClock returns the 32 cells of the clock code of a Unix time in
// milliseconds, as the bits of a word (bit 31 is the leftmost cell).
func encodeClock(unixMillis int64) uint32 {
	v := uint32(unixMillis & (codeModulo - 1))
	return v<<8 | uint32(crc8(v))
}

// decodeClock checks the CRC of a code and returns its 24-bit time.
func decodeClock(bits uint32) (uint32, bool) {
	v := bits >> 8
	return v, byte(bits&0xff) == crc8(v)
}

// clockDiff is a − b for two coded times, in milliseconds, taken as the
// difference of smallest magnitude (the clock wraps every codeModulo ms).
func clockDiff(a, b uint32) int64 {
	d := (int64(a) - int64(b)) % codeModulo
	switch {
	case d >= codeModulo/2:
		d -= codeModulo
	case d < -codeModulo/2:
		d += codeModulo
	}
	return d
}

// drawCode paints the cells of bits over the rectangle r of a luma plane
// with the given stride: codeCells cells of equal width (the last ones
// absorb the rounding), the full height of r.
func drawCode(luma []byte, stride int, r image.Rectangle, bits uint32) {
	w := r.Dx()
	for i := range codeCells {
		level := byte(codeBlack)
		if bits&(1<<(codeCells-1-i)) != 0 {
			level = codeWhite
		}
		x0, x1 := r.Min.X+i*w/codeCells, r.Min.X+(i+1)*w/codeCells
		for y := r.Min.Y; y < r.Max.Y; y++ {
			row := luma[y*stride:]
			for x := x0; x < x1; x++ {
				row[x] = level
			}
		}
	}
}

// readCode reads the cells laid out over r of img: each cell's value is
// the mean brightness of its central half (in both directions). ok is
// false when a cell is too close to mid-grey to tell, or when the CRC
// does not match (a frame that is not a coded one, or a misread).
func readCode(img image.Image, r image.Rectangle) (v uint32, ok bool) {
	w := r.Dx()
	h := r.Dy()
	if w < codeCells*2 || h < 2 {
		return 0, false
	}
	var bits uint32
	for i := range codeCells {
		x0, x1 := r.Min.X+i*w/codeCells, r.Min.X+(i+1)*w/codeCells
		cw := x1 - x0
		cell := image.Rect(x0+cw/4, r.Min.Y+h/4, x1-cw/4, r.Max.Y-h/4)
		if cell.Empty() {
			cell = image.Rect(x0, r.Min.Y, x1, r.Max.Y)
		}
		m := meanBrightness(img, cell)
		switch {
		case m >= 128+codeMargin:
			bits |= 1 << (codeCells - 1 - i)
		case m <= 128-codeMargin:
		default:
			return 0, false
		}
	}
	return decodeClock(bits)
}

// meanBrightness is the mean of (R+G+B)/3 over r, 0–255.
func meanBrightness(img image.Image, r image.Rectangle) float64 {
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
