// Package ts remuxes Sluice's CMAF segments into MPEG-TS segments for the
// HLS_TS endpoint type: the same timeline, numbers and timestamps, for
// players that only read transport streams. Nothing is re-encoded: H.264
// samples are rewritten from length-prefixed NAL units to Annex B (with an
// access unit delimiter, and the SPS and PPS before every key frame), AAC
// frames get ADTS headers.
package ts

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sort"

	"github.com/Eyevinn/mp4ff/aac"
	"github.com/Eyevinn/mp4ff/mp4"
	"github.com/asticode/go-astits"

	"github.com/sluice-video/sluice/internal/packager/cmaf"
)

// ErrMalformed means a segment or init segment cannot be remuxed.
var ErrMalformed = errors.New("ts: malformed input")

// Elementary stream PIDs of every segment.
const (
	videoPID = 0x100
	audioPID = 0x101
)

// clock is the MPEG-TS 90 kHz clock.
const clock = 90000

// Segment is one rendition's CMAF segment with its init segment.
type Segment struct {
	Init []byte
	Data []byte
}

// unit is one access unit to write: a PES packet.
type unit struct {
	pid  uint16
	dts  uint64
	pts  uint64
	key  bool
	data []byte
}

// Remux writes one MPEG-TS segment holding the video segment and, when
// audio has data, the audio segment of the same number, interleaved by
// decode time.
func Remux(video Segment, audio *Segment) ([]byte, error) {
	units, err := videoUnits(video)
	if err != nil {
		return nil, fmt.Errorf("video: %w", err)
	}
	if audio != nil {
		a, err := audioUnits(*audio)
		if err != nil {
			return nil, fmt.Errorf("audio: %w", err)
		}
		units = append(units, a...)
	}
	sort.SliceStable(units, func(i, j int) bool { return units[i].dts < units[j].dts })

	var out bytes.Buffer
	mux := astits.NewMuxer(context.Background(), &out)
	if err := mux.AddElementaryStream(astits.PMTElementaryStream{ElementaryPID: videoPID, StreamType: astits.StreamTypeH264Video}); err != nil {
		return nil, err
	}
	if audio != nil {
		if err := mux.AddElementaryStream(astits.PMTElementaryStream{ElementaryPID: audioPID, StreamType: astits.StreamTypeAACAudio}); err != nil {
			return nil, err
		}
	}
	mux.SetPCRPID(videoPID)
	if _, err := mux.WriteTables(); err != nil {
		return nil, err
	}
	for _, u := range units {
		d := &astits.MuxerData{
			PID: u.pid,
			PES: &astits.PESData{
				Header: &astits.PESHeader{OptionalHeader: &astits.PESOptionalHeader{
					MarkerBits:      2,
					PTSDTSIndicator: astits.PTSDTSIndicatorBothPresent,
					PTS:             &astits.ClockReference{Base: int64(u.pts & (1<<33 - 1))}, //nolint:gosec // masked to 33 bits
					DTS:             &astits.ClockReference{Base: int64(u.dts & (1<<33 - 1))}, //nolint:gosec // masked to 33 bits
				}},
				Data: u.data,
			},
		}
		if u.pid == audioPID {
			d.PES.Header.OptionalHeader.PTSDTSIndicator = astits.PTSDTSIndicatorOnlyPTS
			d.PES.Header.OptionalHeader.DTS = nil
		}
		if u.pid == videoPID {
			d.AdaptationField = &astits.PacketAdaptationField{
				RandomAccessIndicator: u.key,
				HasPCR:                true,
				PCR:                   &astits.ClockReference{Base: int64(u.dts & (1<<33 - 1))}, //nolint:gosec // masked to 33 bits
			}
		}
		if _, err := mux.WriteData(d); err != nil {
			return nil, err
		}
	}
	return out.Bytes(), nil
}

// samples reads every sample of a CMAF segment.
func samples(s Segment) (*cmaf.Track, []mp4.FullSample, error) {
	rd := cmaf.NewReader(io.MultiReader(bytes.NewReader(s.Init), bytes.NewReader(s.Data)))
	tr, err := rd.ReadInit()
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	var all []mp4.FullSample
	for {
		ss, err := rd.ReadFragment()
		if errors.Is(err, io.EOF) {
			return tr, all, nil
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %w", ErrMalformed, err)
		}
		all = append(all, ss...)
	}
}

// moov decodes an init segment's movie box.
func moov(init []byte) (mv *mp4.MoovBox, err error) {
	defer func() {
		if p := recover(); p != nil {
			mv, err = nil, fmt.Errorf("%w: the init segment cannot be decoded: %v", ErrMalformed, p)
		}
	}()
	f, err := mp4.DecodeFile(bytes.NewReader(init))
	if err != nil || f.Init == nil || f.Init.Moov == nil || f.Init.Moov.Trak == nil ||
		f.Init.Moov.Trak.Mdia == nil || f.Init.Moov.Trak.Mdia.Minf == nil || f.Init.Moov.Trak.Mdia.Minf.Stbl == nil {
		return nil, fmt.Errorf("%w: no movie box with a sample table in the init segment", ErrMalformed)
	}
	return f.Init.Moov, nil
}

func to90k(t uint64, timescale uint32) uint64 {
	return t/uint64(timescale)*clock + t%uint64(timescale)*clock/uint64(timescale)
}

func videoUnits(s Segment) ([]unit, error) {
	mv, err := moov(s.Init)
	if err != nil {
		return nil, err
	}
	stsd := mv.Trak.Mdia.Minf.Stbl.Stsd
	if stsd == nil || stsd.AvcX == nil || stsd.AvcX.AvcC == nil {
		return nil, fmt.Errorf("%w: not H.264", ErrMalformed)
	}
	var params []byte
	for _, n := range stsd.AvcX.AvcC.SPSnalus {
		params = append(append(params, 0, 0, 0, 1), n...)
	}
	for _, n := range stsd.AvcX.AvcC.PPSnalus {
		params = append(append(params, 0, 0, 0, 1), n...)
	}
	tr, ss, err := samples(s)
	if err != nil {
		return nil, err
	}
	units := make([]unit, 0, len(ss))
	for _, smp := range ss {
		data := []byte{0, 0, 0, 1, 0x09, 0xf0} // access unit delimiter
		if smp.IsSync() {
			data = append(data, params...)
		}
		data, err = annexB(data, smp.Data)
		if err != nil {
			return nil, err
		}
		dts := to90k(smp.DecodeTime, tr.Timescale) + clock // one second of headroom for negative offsets
		cto := int64(smp.CompositionTimeOffset) * clock / int64(tr.Timescale)
		units = append(units, unit{pid: videoPID, dts: dts, pts: uint64(int64(dts) + cto), key: smp.IsSync(), data: data}) //nolint:gosec // offsets are far below a second
	}
	return units, nil
}

// annexB appends the length-prefixed NAL units of sample to out with start
// codes, refusing lengths that run past the sample.
func annexB(out, sample []byte) ([]byte, error) {
	for len(sample) > 0 {
		if len(sample) < 4 {
			return nil, fmt.Errorf("%w: a NAL unit length is cut short", ErrMalformed)
		}
		n := int64(binary.BigEndian.Uint32(sample))
		if n > int64(len(sample)-4) {
			return nil, fmt.Errorf("%w: a NAL unit of %d bytes runs past its sample", ErrMalformed, n)
		}
		out = append(append(out, 0, 0, 0, 1), sample[4:4+n]...)
		sample = sample[4+n:]
	}
	return out, nil
}

func audioUnits(s Segment) ([]unit, error) {
	mv, err := moov(s.Init)
	if err != nil {
		return nil, err
	}
	stsd := mv.Trak.Mdia.Minf.Stbl.Stsd
	if stsd == nil || stsd.Mp4a == nil || stsd.Mp4a.Esds == nil || stsd.Mp4a.Esds.DecConfigDescriptor.DecSpecificInfo == nil {
		return nil, fmt.Errorf("%w: not AAC", ErrMalformed)
	}
	asc, err := aac.DecodeAudioSpecificConfig(bytes.NewReader(stsd.Mp4a.Esds.DecConfigDescriptor.DecSpecificInfo.DecConfig))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	tr, ss, err := samples(s)
	if err != nil {
		return nil, err
	}
	units := make([]unit, 0, len(ss))
	for _, smp := range ss {
		if len(smp.Data) > 8191-7 {
			return nil, fmt.Errorf("%w: an AAC frame of %d bytes", ErrMalformed, len(smp.Data))
		}
		hdr, err := aac.NewADTSHeader(asc.SamplingFrequency, asc.ChannelConfiguration, asc.ObjectType, uint16(len(smp.Data))) //nolint:gosec // checked above
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
		}
		pts := to90k(smp.DecodeTime, tr.Timescale) + clock
		units = append(units, unit{pid: audioPID, dts: pts, pts: pts, key: true, data: append(hdr.Encode(), smp.Data...)})
	}
	return units, nil
}
