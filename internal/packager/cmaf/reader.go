package cmaf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/Eyevinn/mp4ff/mp4"
)

// MaxBoxSize bounds one box of the encoder's output. A fragment of a few
// hundred milliseconds of even 4K video is far below it; anything larger is
// a corrupt or hostile stream and is refused before it is buffered.
const MaxBoxSize = 64 << 20

// ErrMalformed wraps every problem with the bytes of a stream.
var ErrMalformed = errors.New("malformed fragmented MP4")

// Reader reads the fragmented MP4 byte stream that the encoder writes for
// one rendition: an init segment (ftyp, moov) and then moof+mdat pairs.
type Reader struct {
	r     io.Reader
	pos   uint64
	track *Track
	moof  *mp4.MoofBox
	buf   bytes.Buffer
}

// NewReader returns a Reader over r.
func NewReader(r io.Reader) *Reader { return &Reader{r: r} }

// Track returns the track described by the init segment, once read.
func (r *Reader) Track() *Track { return r.track }

// ReadInit reads boxes up to and including the moov box and returns the
// track it describes.
func (r *Reader) ReadInit() (*Track, error) {
	var ftyp *mp4.FtypBox
	for {
		box, err := r.next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil, fmt.Errorf("%w: stream ended before the init segment", ErrMalformed)
			}
			return nil, err
		}
		switch b := box.(type) {
		case *mp4.FtypBox:
			ftyp = b
		case *mp4.MoovBox:
			t, err := newTrack(ftyp, b)
			if err != nil {
				return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
			}
			r.track = t
			return t, nil
		case *mp4.MoofBox, *mp4.MdatBox:
			return nil, fmt.Errorf("%w: %s box before the init segment", ErrMalformed, box.Type())
		}
	}
}

// ReadFragment returns the samples of the next moof+mdat pair, with decode
// times in the track's timescale as the encoder wrote them. It returns
// io.EOF when the stream ends cleanly (or with the trailing mfra box).
func (r *Reader) ReadFragment() ([]mp4.FullSample, error) {
	if r.track == nil {
		return nil, errors.New("cmaf: ReadFragment before ReadInit")
	}
	for {
		box, err := r.next()
		if err != nil {
			return nil, err
		}
		switch b := box.(type) {
		case *mp4.MoofBox:
			if r.moof != nil {
				return nil, fmt.Errorf("%w: two moof boxes without an mdat", ErrMalformed)
			}
			r.moof = b
		case *mp4.MdatBox:
			if r.moof == nil {
				return nil, fmt.Errorf("%w: mdat without a moof", ErrMalformed)
			}
			frag := mp4.NewFragment()
			frag.AddChild(r.moof)
			frag.AddChild(b)
			r.moof = nil
			samples, err := r.samples(frag)
			if err != nil {
				return nil, err
			}
			return samples, nil
		case *mp4.MfraBox:
			return nil, io.EOF
		}
	}
}

func (r *Reader) samples(frag *mp4.Fragment) (samples []mp4.FullSample, err error) {
	defer func() {
		// The sample table comes from the stream; a table that does not fit
		// the mdat must not take the process down.
		if p := recover(); p != nil {
			samples, err = nil, fmt.Errorf("%w: sample table does not match the data: %v", ErrMalformed, p)
		}
	}()
	if frag.Moof.Traf == nil || frag.Moof.Traf.Tfhd == nil {
		return nil, fmt.Errorf("%w: moof without a track fragment", ErrMalformed)
	}
	if frag.Moof.Traf.Tfhd.TrackID != r.track.TrackID {
		return nil, fmt.Errorf("%w: fragment for track %d, init segment declares track %d", ErrMalformed, frag.Moof.Traf.Tfhd.TrackID, r.track.TrackID)
	}
	samples, err = frag.GetFullSamples(r.track.trex)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	end := uint64(len(frag.Mdat.Data))
	for i := range samples {
		if uint64(len(samples[i].Data)) != uint64(samples[i].Size) || uint64(samples[i].Size) > end {
			return nil, fmt.Errorf("%w: sample %d is larger than its mdat", ErrMalformed, i)
		}
	}
	return samples, nil
}

// next reads one whole top-level box, refusing oversized ones.
func (r *Reader) next() (mp4.Box, error) {
	var hdr [16]byte
	if _, err := io.ReadFull(r.r, hdr[:8]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("%w: stream ends inside a box header", ErrMalformed)
		}
		return nil, err
	}
	size := uint64(binary.BigEndian.Uint32(hdr[:4]))
	hdrLen := 8
	switch size {
	case 1:
		if _, err := io.ReadFull(r.r, hdr[8:16]); err != nil {
			return nil, fmt.Errorf("%w: stream ends inside a box header", ErrMalformed)
		}
		size = binary.BigEndian.Uint64(hdr[8:16])
		hdrLen = 16
	case 0:
		return nil, fmt.Errorf("%w: box %q runs to the end of the stream, which a live stream cannot do", ErrMalformed, printable(hdr[4:8]))
	}
	if size < uint64(hdrLen) || size > MaxBoxSize {
		return nil, fmt.Errorf("%w: box %q declares %d bytes (limit %d)", ErrMalformed, printable(hdr[4:8]), size, MaxBoxSize)
	}
	r.buf.Reset()
	r.buf.Write(hdr[:hdrLen])
	if _, err := io.CopyN(&r.buf, r.r, int64(size)-int64(hdrLen)); err != nil {
		return nil, fmt.Errorf("%w: stream ends inside box %q", ErrMalformed, printable(hdr[4:8]))
	}
	data := bytes.Clone(r.buf.Bytes())
	box, err := decodeBox(r.pos, data)
	r.pos += size
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return box, nil
}

func decodeBox(pos uint64, data []byte) (box mp4.Box, err error) {
	defer func() {
		if p := recover(); p != nil {
			box, err = nil, fmt.Errorf("box at byte %d cannot be decoded: %v", pos, p)
		}
	}()
	return mp4.DecodeBox(pos, bytes.NewReader(data))
}

func printable(b []byte) string {
	out := make([]byte, len(b))
	for i, c := range b {
		if c < 0x20 || c > 0x7e {
			c = '?'
		}
		out[i] = c
	}
	return string(out)
}
