package output

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/textproto"
	"strconv"
	"time"

	"github.com/sluice-video/sluice/internal/mp4box"
	"github.com/sluice-video/sluice/internal/resource"
)

// The frames stream: each frame is
//
//	"SLFR"                magic, 4 bytes
//	header length         uint32, big-endian
//	header                JSON (FrameHeader)
//	payload length        uint32, big-endian
//	payload               RGB24 rows, or a JPEG or PNG file
//
// so a consumer needs nothing but a socket and a JSON parser.
const (
	// FramesContentType is the media type of the length-prefixed stream.
	FramesContentType = "application/x-sluice-frames"
	// MultipartBoundary separates the parts of a multipart frames stream.
	MultipartBoundary = "sluice-frame"
	frameMagic        = "SLFR"
	maxHeader         = 4096
	// MaxPayload bounds one frame's payload: the largest RGB24 picture.
	MaxPayload = resource.MaxFrameSide * resource.MaxFrameSide * 3
)

// ErrFrameStream is the sentinel of a malformed frames stream.
var ErrFrameStream = errors.New("malformed frames stream")

// FrameHeader describes one frame on the wire.
type FrameHeader struct {
	Seq uint64 `json:"seq"`
	// PTS is the presentation time in seconds, on a grid of 1/fps.
	PTS float64 `json:"pts"`
	// Time is the wall-clock time the picture was taken.
	Time      time.Time `json:"time"`
	Width     int       `json:"width"`
	Height    int       `json:"height"`
	Format    string    `json:"format"`
	Rendition string    `json:"rendition"`
	Channel   string    `json:"channel"`
	Fill      bool      `json:"fill,omitempty"`
	// Discontinuity marks the first picture after the encoder restarted.
	Discontinuity bool `json:"discontinuity,omitempty"`
}

// WriteFrame writes one length-prefixed frame.
func WriteFrame(w io.Writer, h FrameHeader, payload []byte) error {
	hdr, err := json.Marshal(h)
	if err != nil {
		return err
	}
	buf := make([]byte, 0, 12+len(hdr))
	buf = append(buf, frameMagic...)
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(hdr))) //nolint:gosec // a header is a few hundred bytes
	buf = append(buf, hdr...)
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(payload))) //nolint:gosec // payload <= MaxPayload
	if _, err := w.Write(buf); err != nil {
		return err
	}
	_, err = w.Write(payload)
	return err
}

// FrameReader reads a length-prefixed frames stream, refusing anything
// malformed or oversized with ErrFrameStream.
type FrameReader struct {
	r *bufio.Reader
}

// NewFrameReader returns a reader of the stream r.
func NewFrameReader(r io.Reader) *FrameReader { return &FrameReader{r: bufio.NewReader(r)} }

// Next returns the next frame; io.EOF at a clean end of the stream.
func (fr *FrameReader) Next() (FrameHeader, []byte, error) {
	var pre [8]byte
	if _, err := io.ReadFull(fr.r, pre[:]); err != nil {
		if errors.Is(err, io.EOF) {
			return FrameHeader{}, nil, io.EOF
		}
		return FrameHeader{}, nil, fmt.Errorf("%w: truncated frame: %w", ErrFrameStream, err)
	}
	if string(pre[:4]) != frameMagic {
		return FrameHeader{}, nil, fmt.Errorf("%w: expected %q, found %q", ErrFrameStream, frameMagic, mp4box.Printable(pre[:4]))
	}
	n := binary.BigEndian.Uint32(pre[4:])
	if n == 0 || n > maxHeader {
		return FrameHeader{}, nil, fmt.Errorf("%w: header of %d bytes", ErrFrameStream, n)
	}
	hdr := make([]byte, n)
	if _, err := io.ReadFull(fr.r, hdr); err != nil {
		return FrameHeader{}, nil, fmt.Errorf("%w: truncated header: %w", ErrFrameStream, err)
	}
	var h FrameHeader
	if err := json.Unmarshal(hdr, &h); err != nil {
		return FrameHeader{}, nil, fmt.Errorf("%w: header: %w", ErrFrameStream, err)
	}
	var lenBuf [4]byte
	if _, err := io.ReadFull(fr.r, lenBuf[:]); err != nil {
		return FrameHeader{}, nil, fmt.Errorf("%w: truncated frame: %w", ErrFrameStream, err)
	}
	size := binary.BigEndian.Uint32(lenBuf[:])
	if size > MaxPayload {
		return FrameHeader{}, nil, fmt.Errorf("%w: payload of %d bytes", ErrFrameStream, size)
	}
	if h.Format == FormatRGB24 && (h.Width <= 0 || h.Height <= 0 || uint64(h.Width)*uint64(h.Height)*3 != uint64(size)) {
		return FrameHeader{}, nil, fmt.Errorf("%w: an rgb24 frame of %dx%d cannot have %d bytes", ErrFrameStream, h.Width, h.Height, size)
	}
	payload := make([]byte, size)
	if _, err := io.ReadFull(fr.r, payload); err != nil {
		return FrameHeader{}, nil, fmt.Errorf("%w: truncated payload: %w", ErrFrameStream, err)
	}
	return h, payload, nil
}

// MultipartFrames writes frames as a multipart/x-mixed-replace stream,
// which browsers show as a moving picture; the header travels as X-Frame-*
// fields of each part.
type MultipartFrames struct {
	mw *multipart.Writer
}

// NewMultipartFrames returns a writer to w with MultipartBoundary.
func NewMultipartFrames(w io.Writer) (*MultipartFrames, error) {
	mw := multipart.NewWriter(w)
	if err := mw.SetBoundary(MultipartBoundary); err != nil {
		return nil, err
	}
	return &MultipartFrames{mw: mw}, nil
}

// ContentType is the response's Content-Type.
func (m *MultipartFrames) ContentType() string {
	return "multipart/x-mixed-replace; boundary=" + MultipartBoundary
}

// Write adds one frame as a part.
func (m *MultipartFrames) Write(h FrameHeader, payload []byte) error {
	hdr := textproto.MIMEHeader{}
	hdr.Set("Content-Type", payloadType(h.Format))
	hdr.Set("Content-Length", strconv.Itoa(len(payload)))
	hdr.Set("X-Frame-Seq", strconv.FormatUint(h.Seq, 10))
	hdr.Set("X-Frame-Pts", strconv.FormatFloat(h.PTS, 'f', -1, 64))
	hdr.Set("X-Frame-Time", h.Time.UTC().Format(time.RFC3339Nano))
	hdr.Set("X-Frame-Width", strconv.Itoa(h.Width))
	hdr.Set("X-Frame-Height", strconv.Itoa(h.Height))
	hdr.Set("X-Frame-Rendition", h.Rendition)
	if h.Fill {
		hdr.Set("X-Frame-Fill", "true")
	}
	if h.Discontinuity {
		hdr.Set("X-Frame-Discontinuity", "true")
	}
	part, err := m.mw.CreatePart(hdr)
	if err != nil {
		return err
	}
	_, err = part.Write(payload)
	return err
}

func payloadType(format string) string {
	switch format {
	case FormatJPEG:
		return "image/jpeg"
	case FormatPNG:
		return "image/png"
	}
	return "application/octet-stream"
}

// Close writes the final boundary.
func (m *MultipartFrames) Close() error { return m.mw.Close() }
