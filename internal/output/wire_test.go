package output

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/resource"
)

func TestFrameStreamRoundTrip(t *testing.T) {
	var b bytes.Buffer
	at := time.Date(2026, 3, 4, 5, 6, 7, 890000000, time.UTC)
	want := []FrameHeader{
		{Seq: 0, PTS: 12.4, Time: at, Width: 4, Height: 2, Format: FormatRGB24, Rendition: "360p", Channel: "ch"},
		{Seq: 1, PTS: 12.6, Time: at.Add(200 * time.Millisecond), Width: 4, Height: 2, Format: FormatRGB24, Rendition: "360p", Channel: "ch", Fill: true},
	}
	for i, h := range want {
		if err := WriteFrame(&b, h, bytes.Repeat([]byte{byte(i)}, 4*2*3)); err != nil {
			t.Fatal(err)
		}
	}
	r := NewFrameReader(&b)
	for i, w := range want {
		h, p, err := r.Next()
		if err != nil {
			t.Fatal(err)
		}
		if !h.Time.Equal(w.Time) || h.Seq != w.Seq || h.PTS != w.PTS || h.Fill != w.Fill || len(p) != 24 || p[0] != byte(i) {
			t.Errorf("frame %d: %+v, %d bytes", i, h, len(p))
		}
	}
	if _, _, err := r.Next(); !errors.Is(err, io.EOF) {
		t.Errorf("end: %v", err)
	}
}

func TestFrameReaderRefusesMalformedStreams(t *testing.T) {
	good := func() []byte {
		var b bytes.Buffer
		_ = WriteFrame(&b, FrameHeader{Width: 2, Height: 2, Format: FormatRGB24}, make([]byte, 12))
		return b.Bytes()
	}
	cases := map[string][]byte{
		"magic":     append([]byte("XXXX"), good()[4:]...),
		"truncated": good()[:len(good())-1],
		"header":    {'S', 'L', 'F', 'R', 0, 0, 0xff, 0xff},
		"json":      {'S', 'L', 'F', 'R', 0, 0, 0, 1, '{'},
		"size":      append(good()[:len(good())-16], 0, 0, 0, 13),
	}
	for name, data := range cases {
		if _, _, err := NewFrameReader(bytes.NewReader(data)).Next(); !errors.Is(err, ErrFrameStream) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestMultipartFrames(t *testing.T) {
	var b bytes.Buffer
	m, err := NewMultipartFrames(&b)
	if err != nil {
		t.Fatal(err)
	}
	_ = m.Write(FrameHeader{Seq: 7, PTS: 1.5, Width: 2, Height: 2, Format: FormatJPEG, Discontinuity: true}, []byte("jpeg"))
	_ = m.Close()
	_, params, err := mime.ParseMediaType(m.ContentType())
	if err != nil {
		t.Fatal(err)
	}
	part, err := multipart.NewReader(&b, params["boundary"]).NextPart()
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(part)
	if part.Header.Get("Content-Type") != "image/jpeg" || part.Header.Get("X-Frame-Seq") != "7" ||
		part.Header.Get("X-Frame-Pts") != "1.5" || part.Header.Get("X-Frame-Discontinuity") != "true" || string(body) != "jpeg" {
		t.Errorf("part %v %q", part.Header, body)
	}
}

func TestParseFrameRequest(t *testing.T) {
	req, err := ParseFrameRequest(url.Values{})
	if err != nil || req.FPS != 1 || req.Format != FormatJPEG || req.Transport != TransportLength || req.Width != 0 || req.Count != 0 {
		t.Errorf("defaults %+v %v", req, err)
	}
	q, _ := url.ParseQuery("width=224&height=224&fps=7.5&format=rgb24&rendition=360p&transport=multipart&count=30")
	req, err = ParseFrameRequest(q)
	want := FrameRequest{Width: 224, Height: 224, FPS: 7.5, Format: FormatRGB24, Rendition: "360p", Transport: TransportMultipart, Count: 30}
	if err != nil || req != want {
		t.Errorf("%+v %v", req, err)
	}
	bad := map[string]string{
		"width=224":             "width",
		"width=15&height=16":    "width",
		"width=17&height=16":    "width",
		"width=a&height=16":     "width",
		"width=16&height=99999": "height",
		"fps=0":                 "fps",
		"fps=NaN":               "fps",
		"fps=61":                "fps",
		"format=gif":            "format",
		"transport=ws":          "transport",
		"count=0":               "count",
		"rendition=../x":        "rendition",
		"fps=1&fps=2":           "fps",
		"colour=red":            "colour",
	}
	for raw, path := range bad {
		q, _ := url.ParseQuery(raw)
		_, err := ParseFrameRequest(q)
		var fe resource.FieldErrors
		if !errors.As(err, &fe) || !slices.ContainsFunc(fe, func(f resource.FieldError) bool { return f.Path == path }) {
			t.Errorf("%s: %v, want a problem with %s", raw, err, path)
		}
	}
}

func TestNPYHeader(t *testing.T) {
	data, err := EncodeImage(Frame{Width: 5, Height: 3, RGB: make([]byte, 45)}, resource.ImageNPY)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(data, []byte("\x93NUMPY\x01\x00")) {
		t.Fatalf("magic % x", data[:8])
	}
	hlen := int(data[8]) | int(data[9])<<8
	if (10+hlen)%64 != 0 || len(data) != 10+hlen+45 {
		t.Errorf("preamble %d bytes, file %d bytes", 10+hlen, len(data))
	}
	if h := string(data[10 : 10+hlen]); !strings.Contains(h, "'shape': (3, 5, 3)") || !strings.HasSuffix(h, "\n") {
		t.Errorf("header %q", h)
	}
}
