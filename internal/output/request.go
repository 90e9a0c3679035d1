package output

import (
	"math"
	"net/url"
	"slices"
	"strconv"

	"github.com/sluice-video/sluice/internal/resource"
)

// Picture formats of the frames API.
const (
	FormatRGB24 = "rgb24"
	FormatJPEG  = "jpeg"
	FormatPNG   = "png"
)

// Transports of the frames API.
const (
	TransportLength    = "length"
	TransportMultipart = "multipart"
)

// Frames API defaults and limits.
const (
	DefaultFramesFPS = 1
	MaxFramesFPS     = 60
	MaxFramesCount   = 1000000
)

// FrameRequest is a parsed frames API query.
type FrameRequest struct {
	// Width and Height are 0 for the rendition's own size.
	Width, Height int
	FPS           float64
	Format        string
	// Rendition is "" for the first rung of the ladder.
	Rendition string
	Transport string
	// Count ends the stream after that many frames; 0 streams until the
	// client goes away.
	Count int
}

var frameParams = []string{"width", "height", "fps", "format", "rendition", "transport", "count"}

// ParseFrameRequest reads a frames API query, naming every parameter that
// is wrong.
func ParseFrameRequest(q url.Values) (FrameRequest, error) {
	var errs resource.FieldErrors
	req := FrameRequest{FPS: DefaultFramesFPS, Format: FormatJPEG, Transport: TransportLength}
	for k, v := range q {
		if !slices.Contains(frameParams, k) {
			errs.Add(k, "unknown parameter; the frames API takes width, height, fps, format, rendition, transport and count")
			continue
		}
		if len(v) > 1 {
			errs.Add(k, "is given more than once")
		}
	}
	integer := func(key string, lo, hi int) int {
		s := q.Get(key)
		if s == "" {
			return 0
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < lo || n > hi {
			errs.Add(key, "must be a whole number from "+strconv.Itoa(lo)+" to "+strconv.Itoa(hi))
			return 0
		}
		return n
	}
	req.Width = integer("width", resource.MinFrameSide, resource.MaxFrameSide)
	req.Height = integer("height", resource.MinFrameSide, resource.MaxFrameSide)
	switch {
	case (q.Get("width") == "") != (q.Get("height") == ""):
		errs.Add("width", "give width and height together, or neither for the rendition's size")
	case req.Width%2 != 0 || req.Height%2 != 0:
		errs.Add("width", "width and height must be even")
	}
	if s := q.Get("fps"); s != "" {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(f) || f < 0.01 || f > MaxFramesFPS {
			errs.Add("fps", "must be a number from 0.01 to "+strconv.Itoa(MaxFramesFPS))
		} else {
			req.FPS = f
		}
	}
	if s := q.Get("format"); s != "" {
		switch s {
		case FormatRGB24, FormatJPEG, FormatPNG:
			req.Format = s
		default:
			errs.Add("format", "must be rgb24, jpeg or png")
		}
	}
	if s := q.Get("transport"); s != "" {
		switch s {
		case TransportLength, TransportMultipart:
			req.Transport = s
		default:
			errs.Add("transport", "must be length or multipart")
		}
	}
	if s := q.Get("rendition"); s != "" {
		var fe resource.FieldErrors
		fe.CheckName("rendition", s)
		if len(fe) > 0 {
			errs.Add("rendition", "is not a rendition name")
		}
		req.Rendition = s
	}
	req.Count = integer("count", 1, MaxFramesCount)
	return req, errs.Err()
}
