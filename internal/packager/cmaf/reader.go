package cmaf

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/Eyevinn/mp4ff/mp4"

	"github.com/sluice-video/sluice/internal/mp4box"
)

// ErrMalformed wraps every problem with the bytes of a stream.
var ErrMalformed = errors.New("malformed fragmented MP4")

// Reader reads the fragmented MP4 byte stream that the encoder writes for
// one rendition: an init segment (ftyp, moov) and then moof+mdat pairs.
// Boxes are framed, and oversized ones refused, by mp4box.
type Reader struct {
	boxes *mp4box.Reader
	track *Track
	moof  *mp4.MoofBox
}

// NewReader returns a Reader over r.
func NewReader(r io.Reader) *Reader { return &Reader{boxes: mp4box.NewReader(r)} }

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
	if frag.Moof.Traf.Tfhd.TrackID != r.track.srcID {
		return nil, fmt.Errorf("%w: fragment for track %d, init segment declares track %d", ErrMalformed, frag.Moof.Traf.Tfhd.TrackID, r.track.srcID)
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
	data, pos, err := r.boxes.Next()
	switch {
	case errors.Is(err, mp4box.ErrMalformed):
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	case err != nil:
		return nil, err
	}
	box, err := decodeBox(pos, data)
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
