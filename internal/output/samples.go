package output

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/Eyevinn/mp4ff/mp4"
)

// Track is what a repacketizer needs of one rendition's init segment: the
// timescale, whether it is H.264 video, and the H.264 parameter sets, which
// the encoder keeps in the init segment rather than before each key frame.
type Track struct {
	Timescale uint32
	H264      bool
	// ParamSets are the SPS and PPS, without start codes.
	ParamSets [][]byte
	trex      *mp4.TrexBox
}

// Sample is one access unit of a fragment, ready to be packetized: H.264
// in Annex B form (the parameter sets before every key frame), or one
// audio frame as encoded (an Opus packet).
type Sample struct {
	Data []byte
	// PTS and Duration are in the track's timescale.
	PTS      int64
	Duration uint32
	Key      bool
}

// ReadTrack parses an init segment.
func ReadTrack(init []byte) (Track, error) {
	info, err := parseInit(init)
	if err != nil {
		return Track{}, err
	}
	t := Track{Timescale: info.timescale, trex: info.trex}
	f, _ := mp4.DecodeFile(bytes.NewReader(init)) // parseInit decoded it already
	stsd := f.Moov.Trak.Mdia.Minf
	if stsd != nil && stsd.Stbl != nil && stsd.Stbl.Stsd != nil && stsd.Stbl.Stsd.AvcX != nil && stsd.Stbl.Stsd.AvcX.AvcC != nil {
		c := stsd.Stbl.Stsd.AvcX.AvcC
		t.H264 = true
		t.ParamSets = append(append(t.ParamSets, c.SPSnalus...), c.PPSnalus...)
	}
	if t.trex == nil {
		t.trex = &mp4.TrexBox{}
	}
	return t, nil
}

// maxSamplesPerFragment bounds what one fragment may expand to.
const maxSamplesPerFragment = 4096

// Samples splits a fragment (moof+mdat) into its samples. H.264 samples
// are turned from length-prefixed NAL units into Annex B, with the
// parameter sets put before each key frame so a decoder can start at any
// of them.
func (t Track) Samples(frag []byte) ([]Sample, error) {
	f, err := mp4.DecodeFile(bytes.NewReader(frag))
	if err != nil {
		return nil, fmt.Errorf("%w: fragment: %w", errBox, err)
	}
	var out []Sample
	for _, seg := range f.Segments {
		for _, fr := range seg.Fragments {
			full, err := fr.GetFullSamples(t.trex)
			if err != nil {
				return nil, fmt.Errorf("%w: fragment samples: %w", errBox, err)
			}
			if len(out)+len(full) > maxSamplesPerFragment {
				return nil, fmt.Errorf("%w: more than %d samples in a fragment", errBox, maxSamplesPerFragment)
			}
			for i := range full {
				s := &full[i]
				smp := Sample{PTS: s.PresentationTime(), Duration: s.Dur, Key: !t.H264 || s.IsSync(), Data: s.Data}
				if t.H264 {
					if smp.Data, err = annexB(s.Data, t.ParamSets, smp.Key); err != nil {
						return nil, err
					}
				}
				out = append(out, smp)
			}
		}
	}
	return out, nil
}

var startCode = []byte{0, 0, 0, 1}

// annexB turns 4-byte length-prefixed NAL units into start-code-prefixed
// ones, with the parameter sets first when key is set. In-band parameter
// sets are dropped from key frames that get the init segment's.
func annexB(avcc []byte, params [][]byte, key bool) ([]byte, error) {
	n := len(avcc) + 16
	for _, p := range params {
		n += len(p) + 4
	}
	out := make([]byte, 0, n)
	if key {
		for _, p := range params {
			out = append(append(out, startCode...), p...)
		}
	}
	for len(avcc) > 0 {
		if len(avcc) < 4 {
			return nil, fmt.Errorf("%w: truncated NAL unit length", errBox)
		}
		l := binary.BigEndian.Uint32(avcc)
		if int64(l) > int64(len(avcc))-4 || l == 0 {
			return nil, fmt.Errorf("%w: NAL unit length %d past the sample", errBox, l)
		}
		nalu := avcc[4 : 4+l]
		avcc = avcc[4+l:]
		if typ := nalu[0] & 0x1f; key && len(params) > 0 && (typ == 7 || typ == 8) {
			continue
		}
		out = append(append(out, startCode...), nalu...)
	}
	return out, nil
}
