package live

import (
	"bytes"
	"slices"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h265"
)

// VideoParams follows a video track's parameter sets as access units go
// by: it learns the size from the SPS and reports when it changes, so a
// new resolution reaches subscribers as new tracks.
type VideoParams struct {
	Codec Codec
	vps   []byte
	sps   []byte
	pps   []byte
}

// Observe scans an access unit for parameter sets. It returns true when
// they changed (the first time too), with the track they describe.
func (v *VideoParams) Observe(au [][]byte) (*Track, bool) {
	changed := false
	for _, nalu := range au {
		if len(nalu) == 0 {
			continue
		}
		switch v.Codec {
		case H264:
			switch h264.NALUType(nalu[0] & 0x1f) {
			case h264.NALUTypeSPS:
				changed = v.set(&v.sps, nalu) || changed
			case h264.NALUTypePPS:
				changed = v.set(&v.pps, nalu) || changed
			}
		case H265:
			if len(nalu) < 2 {
				continue
			}
			switch h265.NALUType((nalu[0] >> 1) & 0x3f) {
			case h265.NALUType_VPS_NUT:
				changed = v.set(&v.vps, nalu) || changed
			case h265.NALUType_SPS_NUT:
				changed = v.set(&v.sps, nalu) || changed
			case h265.NALUType_PPS_NUT:
				changed = v.set(&v.pps, nalu) || changed
			}
		}
	}
	if !changed || v.sps == nil || v.pps == nil {
		return nil, false
	}
	return v.Track(), true
}

// Track returns the track the current parameter sets describe.
func (v *VideoParams) Track() *Track {
	t := &Track{Kind: Video, Codec: v.Codec}
	switch v.Codec {
	case H264:
		var sps h264.SPS
		if v.sps != nil && sps.Unmarshal(v.sps) == nil {
			t.Width, t.Height = sps.Width(), sps.Height()
		}
		t.ParamSets = nonNil(v.sps, v.pps)
	case H265:
		var sps h265.SPS
		if v.sps != nil && sps.Unmarshal(v.sps) == nil {
			t.Width, t.Height = sps.Width(), sps.Height()
		}
		t.ParamSets = nonNil(v.vps, v.sps, v.pps)
	}
	return t
}

// Seed sets parameter sets known out of band (an RTMP sequence header, an
// RTSP SDP).
func (v *VideoParams) Seed(sets ...[]byte) {
	v.Observe(sets)
}

func (v *VideoParams) set(dst *[]byte, nalu []byte) bool {
	if bytes.Equal(*dst, nalu) {
		return false
	}
	*dst = slices.Clone(nalu)
	return true
}

// IsKey reports whether an access unit starts a decode.
func IsKey(codec Codec, au [][]byte) bool {
	switch codec {
	case H264:
		return h264.IsRandomAccess(au)
	case H265:
		return h265.IsRandomAccess(au)
	}
	return false
}

func nonNil(sets ...[]byte) [][]byte {
	var out [][]byte
	for _, s := range sets {
		if s != nil {
			out = append(out, s)
		}
	}
	return out
}
