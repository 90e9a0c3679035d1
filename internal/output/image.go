package output

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"

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
	default:
		return nil, fmt.Errorf("unknown picture format %q", format)
	}
	return b.Bytes(), err
}

// imageExt is the file extension of a picture format.
func imageExt(format string) string {
	if format == resource.ImagePNG {
		return ".png"
	}
	return ".jpg"
}
