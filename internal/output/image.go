package output

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"strings"

	"github.com/sluice-video/sluice/internal/resource"
)

// jpegQuality is the quality of every JPEG picture written.
const jpegQuality = 90

// toRGBA converts an RGB24 picture into an image the encoders take.
func toRGBA(fr Frame) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, fr.Width, fr.Height))
	px := img.Pix
	for i, j := 0, 0; i+2 < len(fr.RGB) && j+3 < len(px); i, j = i+3, j+4 {
		px[j], px[j+1], px[j+2], px[j+3] = fr.RGB[i], fr.RGB[i+1], fr.RGB[i+2], 0xff
	}
	return img
}

// EncodeImage encodes a frame as JPEG or PNG.
func EncodeImage(fr Frame, format string) ([]byte, error) {
	var b bytes.Buffer
	var err error
	switch format {
	case resource.ImageJPEG:
		err = jpeg.Encode(&b, toRGBA(fr), &jpeg.Options{Quality: jpegQuality})
	case resource.ImagePNG:
		enc := png.Encoder{CompressionLevel: png.BestSpeed}
		err = enc.Encode(&b, toRGBA(fr))
	case resource.ImageNPY:
		writeNPY(&b, fr)
	default:
		return nil, fmt.Errorf("unknown picture format %q", format)
	}
	return b.Bytes(), err
}

// imageExt is the file extension of a picture format.
func imageExt(format string) string {
	switch format {
	case resource.ImagePNG:
		return ".png"
	case resource.ImageNPY:
		return ".npy"
	}
	return ".jpg"
}

// writeNPY writes the picture as a NumPy .npy file (format version 1.0):
// numpy.load gives a uint8 array of shape (height, width, 3).
func writeNPY(b *bytes.Buffer, fr Frame) {
	dict := fmt.Sprintf("{'descr': '|u1', 'fortran_order': False, 'shape': (%d, %d, 3), }", fr.Height, fr.Width)
	// Magic, version and header length take 10 bytes; the header ends
	// with a newline and pads the whole preamble to a multiple of 64.
	pad := 64 - (10+len(dict)+1)%64
	if pad == 64 {
		pad = 0
	}
	header := dict + strings.Repeat(" ", pad) + "\n"
	b.WriteString("\x93NUMPY\x01\x00")
	_ = binary.Write(b, binary.LittleEndian, uint16(len(header))) //nolint:gosec // under 200 bytes
	b.WriteString(header)
	b.Write(fr.RGB)
}
