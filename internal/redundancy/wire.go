package redundancy

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/sluice-video/sluice/internal/packager/cmaf"
)

// On the wire a feed is a sequence of frames: the message's kind (one
// byte), its header as JSON (a 4-byte big-endian length, then the bytes),
// then its media (a 4-byte big-endian length, then the bytes). The media
// of a complete segment is its renditions' bytes one after the other,
// leaving out those sent as parts.

// feedVersion is the version of the feed's frames a hello announces.
const feedVersion = 1

// Bounds of a frame: a header lists at most a segment's parts; media is at
// most a segment of every rendition.
const (
	maxHeader = 1 << 20
	maxMedia  = 256 << 20
)

// ErrFeed wraps every problem with the bytes of a feed.
var ErrFeed = errors.New("malformed pipeline feed")

// wireHeader is the JSON header of every kind of frame; each kind uses
// some of the fields.
type wireHeader struct {
	Version     int           `json:"v,omitempty"`
	Hello       *hello        `json:"hello,omitempty"`
	Run         uint64        `json:"run,omitempty"`
	Number      uint64        `json:"n,omitempty"`
	Rendition   int           `json:"r,omitempty"`
	RunStart    int64         `json:"runStart,omitempty"`
	Silent      bool          `json:"silent,omitempty"`
	Disc        uint64        `json:"disc,omitempty"`
	Start       uint64        `json:"start,omitempty"`
	Part        int           `json:"p,omitempty"`
	Duration    uint64        `json:"d,omitempty"`
	Independent bool          `json:"i,omitempty"`
	Segments    []wireSegment `json:"segs,omitempty"`
	Live        bool          `json:"live,omitempty"`
}

// wireSegment describes one rendition's part of a complete segment.
type wireSegment struct {
	Start     uint64     `json:"start"`
	Duration  uint64     `json:"d"`
	Dependent bool       `json:"dep,omitempty"`
	Size      int        `json:"size"`
	ETag      string     `json:"etag,omitempty"`
	Parts     []wirePart `json:"parts,omitempty"`
	FromParts bool       `json:"fromParts,omitempty"`
}

// wirePart is a cmaf.Part.
type wirePart struct {
	Offset      int    `json:"o"`
	Size        int    `json:"s"`
	Duration    uint64 `json:"d"`
	Independent bool   `json:"i,omitempty"`
}

// writeFrame writes m to w.
func writeFrame(w *bufio.Writer, m message) error {
	h := wireHeader{Run: m.run, Number: m.number, Rendition: m.rendition}
	var media [][]byte
	switch m.kind {
	case kindHello:
		h.Version, h.Hello = feedVersion, m.hello
	case kindRun:
		h.RunStart, h.Silent, h.Disc = int64(m.runStart), m.silent, m.disc
	case kindInit:
		media = append(media, m.data)
	case kindPart:
		h.Start, h.Part, h.Duration, h.Independent = m.start, m.part, m.duration, m.independent
		media = append(media, m.data)
	case kindClose:
		h.Start, h.Duration = m.start, m.duration
	case kindSegment:
		h.Segments = make([]wireSegment, len(m.segs))
		for i, s := range m.segs {
			ws := wireSegment{Start: s.Start, Duration: s.Duration, Dependent: s.Dependent, Size: len(s.Data), ETag: s.ETag}
			if s.Data == nil && i < len(m.sizes) {
				ws.Size = m.sizes[i] // read from a feed, not joined yet
			}
			for _, p := range s.Parts {
				ws.Parts = append(ws.Parts, wirePart{Offset: p.Offset, Size: p.Size, Duration: p.Duration, Independent: p.Independent})
			}
			if i < len(m.fromParts) && m.fromParts[i] {
				ws.FromParts = true
			} else {
				media = append(media, s.Data)
			}
			h.Segments[i] = ws
		}
	case kindLive:
		h.Live = m.live
	case kindEnded, kindPing:
	default:
		return fmt.Errorf("redundancy: no frame for message kind %q", byte(m.kind))
	}
	hdr, err := json.Marshal(h)
	if err != nil {
		return err
	}
	size := 0
	for _, b := range media {
		size += len(b)
	}
	if len(hdr) > maxHeader || size > maxMedia {
		return fmt.Errorf("redundancy: a %s frame of %d header and %d media bytes is larger than a feed carries", m.kind, len(hdr), size)
	}
	var pre [5]byte
	pre[0] = byte(m.kind)
	binary.BigEndian.PutUint32(pre[1:], uint32(len(hdr))) //nolint:gosec // bounded above
	if _, err := w.Write(pre[:]); err != nil {
		return err
	}
	if _, err := w.Write(hdr); err != nil {
		return err
	}
	binary.BigEndian.PutUint32(pre[1:], uint32(size)) //nolint:gosec // bounded above
	if _, err := w.Write(pre[1:]); err != nil {
		return err
	}
	for _, b := range media {
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}

// readFrame reads the next frame of a feed. It returns io.EOF when the
// feed ends cleanly between frames, and an error wrapping ErrFeed when
// its bytes are malformed.
func readFrame(r *bufio.Reader) (message, error) {
	var pre [5]byte
	if _, err := io.ReadFull(r, pre[:1]); err != nil {
		return message{}, err // io.EOF between frames
	}
	if _, err := io.ReadFull(r, pre[1:]); err != nil {
		return message{}, truncated(err)
	}
	k := kind(pre[0])
	hlen := binary.BigEndian.Uint32(pre[1:])
	if hlen > maxHeader {
		return message{}, fmt.Errorf("%w: a %s frame's header of %d bytes is over the limit of %d", ErrFeed, k, hlen, maxHeader)
	}
	hdr := make([]byte, hlen)
	if _, err := io.ReadFull(r, hdr); err != nil {
		return message{}, truncated(err)
	}
	if _, err := io.ReadFull(r, pre[1:]); err != nil {
		return message{}, truncated(err)
	}
	mlen := binary.BigEndian.Uint32(pre[1:])
	if mlen > maxMedia {
		return message{}, fmt.Errorf("%w: a %s frame's media of %d bytes is over the limit of %d", ErrFeed, k, mlen, maxMedia)
	}
	var h wireHeader
	if err := json.Unmarshal(hdr, &h); err != nil {
		return message{}, fmt.Errorf("%w: the header of a %s frame: %w", ErrFeed, k, err)
	}
	media, err := readMedia(r, int(mlen))
	if err != nil {
		return message{}, err
	}
	return decode(k, h, media)
}

// readMedia reads n bytes, growing the buffer as they arrive rather than
// trusting the length a peer announced.
func readMedia(r io.Reader, n int) ([]byte, error) {
	if n == 0 {
		return nil, nil
	}
	buf := make([]byte, 0, min(n, 1<<20))
	for len(buf) < n {
		chunk := min(n-len(buf), 1<<20)
		if cap(buf)-len(buf) < chunk {
			buf = append(buf, make([]byte, chunk)...)[:len(buf)]
		}
		m, err := io.ReadFull(r, buf[len(buf):len(buf)+chunk])
		buf = buf[:len(buf)+m]
		if err != nil {
			return nil, truncated(err)
		}
	}
	return buf, nil
}

func truncated(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: the feed ended inside a frame", ErrFeed)
	}
	return err
}

// decode turns a frame's header and media into a message, checking that
// they fit together.
func decode(k kind, h wireHeader, media []byte) (message, error) {
	m := message{kind: k, run: h.Run, number: h.Number, rendition: h.Rendition}
	noMedia := func() error {
		if len(media) > 0 {
			return fmt.Errorf("%w: a %s frame carries %d bytes of media", ErrFeed, k, len(media))
		}
		return nil
	}
	if h.Rendition < 0 {
		return message{}, fmt.Errorf("%w: rendition %d", ErrFeed, h.Rendition)
	}
	switch k {
	case kindHello:
		if h.Version != feedVersion || h.Hello == nil {
			return message{}, fmt.Errorf("%w: a hello of version %d, this node speaks version %d", ErrFeed, h.Version, feedVersion)
		}
		if len(h.Hello.Renditions) == 0 || h.Hello.SegmentDuration <= 0 || h.Hello.PartDuration < 0 {
			return message{}, fmt.Errorf("%w: a hello without renditions or segment duration", ErrFeed)
		}
		m.hello = h.Hello
		return m, noMedia()
	case kindRun:
		if h.RunStart < 0 {
			return message{}, fmt.Errorf("%w: run %d starts at %d", ErrFeed, h.Run, h.RunStart)
		}
		m.runStart, m.silent, m.disc = time.Duration(h.RunStart), h.Silent, h.Disc
		return m, noMedia()
	case kindInit:
		if len(media) == 0 {
			return message{}, fmt.Errorf("%w: an empty init segment", ErrFeed)
		}
		m.data = media
		return m, nil
	case kindPart:
		if len(media) == 0 || h.Duration == 0 || h.Part < 0 {
			return message{}, fmt.Errorf("%w: part %d of segment %d is empty", ErrFeed, h.Part, h.Number)
		}
		m.start, m.part, m.duration, m.independent, m.data = h.Start, h.Part, h.Duration, h.Independent, media
		return m, nil
	case kindClose:
		m.start, m.duration = h.Start, h.Duration
		return m, noMedia()
	case kindSegment:
		return decodeSegment(m, h, media)
	case kindLive:
		m.live = h.Live
		return m, noMedia()
	case kindEnded, kindPing:
		return m, noMedia()
	}
	return message{}, fmt.Errorf("%w: unknown frame kind %d", ErrFeed, byte(k))
}

// decodeSegment checks a complete segment's header against its media.
func decodeSegment(m message, h wireHeader, media []byte) (message, error) {
	if len(h.Segments) == 0 {
		return message{}, fmt.Errorf("%w: segment %d has no renditions", ErrFeed, h.Number)
	}
	m.segs = make([]*cmaf.Segment, len(h.Segments))
	m.fromParts = make([]bool, len(h.Segments))
	m.sizes = make([]int, len(h.Segments))
	off := 0
	for i, ws := range h.Segments {
		if ws.Size <= 0 || ws.Size > maxMedia || ws.Duration == 0 {
			return message{}, fmt.Errorf("%w: rendition %d of segment %d has %d bytes lasting %d", ErrFeed, i, h.Number, ws.Size, ws.Duration)
		}
		s := &cmaf.Segment{Number: h.Number, Run: h.Run, Start: ws.Start, Duration: ws.Duration, Dependent: ws.Dependent, ETag: ws.ETag}
		end := 0
		for _, p := range ws.Parts {
			if p.Offset < 0 || p.Size <= 0 || p.Offset > ws.Size || p.Size > ws.Size-p.Offset {
				return message{}, fmt.Errorf("%w: a part of rendition %d of segment %d lies outside its %d bytes", ErrFeed, i, h.Number, ws.Size)
			}
			if ws.FromParts && p.Offset != end {
				return message{}, fmt.Errorf("%w: the parts of rendition %d of segment %d do not follow each other", ErrFeed, i, h.Number)
			}
			end = p.Offset + p.Size
			s.Parts = append(s.Parts, cmaf.Part{Offset: p.Offset, Size: p.Size, Duration: p.Duration, Independent: p.Independent})
		}
		if ws.FromParts {
			if end != ws.Size {
				return message{}, fmt.Errorf("%w: rendition %d of segment %d is sent as parts that do not make its %d bytes", ErrFeed, i, h.Number, ws.Size)
			}
			m.fromParts[i] = true
			s.Data = nil
		} else {
			if ws.Size > len(media)-off {
				return message{}, fmt.Errorf("%w: segment %d announces more bytes than its frame carries", ErrFeed, h.Number)
			}
			s.Data = media[off : off+ws.Size : off+ws.Size]
			off += ws.Size
		}
		m.sizes[i] = ws.Size
		m.segs[i] = s
	}
	if off != len(media) {
		return message{}, fmt.Errorf("%w: segment %d carries %d bytes more than its renditions", ErrFeed, h.Number, len(media)-off)
	}
	return m, nil
}
