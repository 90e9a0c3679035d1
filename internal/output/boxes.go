package output

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/Eyevinn/mp4ff/mp4"

	"github.com/sluice-video/sluice/internal/mp4box"
)

// errBox is the sentinel of a malformed box stream.
var errBox = errors.New("malformed MP4 box stream")

// splitter cuts a fragmented-MP4 byte stream into its init segment and its
// fragments (moof+mdat), whatever the sizes of the writes it is given.
type splitter struct {
	boxes mp4box.Framer
	ftyp  []byte
	moof  []byte
	// onInit and onFragment receive copies they may keep.
	onInit     func(init []byte) error
	onFragment func(frag []byte) error
	// idle, when set and true, means nobody wants fragments now: they are
	// skipped without being copied together.
	idle func() bool
}

// write adds bytes and hands over every box they complete.
func (s *splitter) write(p []byte) error {
	err := s.boxes.Write(p, s.box)
	if errors.Is(err, mp4box.ErrMalformed) {
		return fmt.Errorf("%w: %w", errBox, err)
	}
	return err
}

func (s *splitter) box(h mp4box.Header, box []byte) error {
	switch string(h.Type[:]) {
	case "ftyp":
		s.ftyp = bytes.Clone(box)
	case "moov":
		init := make([]byte, 0, len(s.ftyp)+len(box))
		init = append(append(init, s.ftyp...), box...)
		return s.onInit(init)
	case "moof":
		s.moof = bytes.Clone(box)
	case "mdat":
		if s.moof == nil {
			return fmt.Errorf("%w: mdat without moof", errBox)
		}
		if s.idle != nil && s.idle() {
			s.moof = nil
			return nil
		}
		frag := make([]byte, 0, len(s.moof)+len(box))
		frag = append(append(frag, s.moof...), box...)
		s.moof = nil
		return s.onFragment(frag)
	}
	return nil // styp, sidx, free, prft: not needed downstream
}

// initInfo is what a fragment's reader needs from the init segment.
type initInfo struct {
	timescale uint32
	trex      *mp4.TrexBox
	video     bool
}

func parseInit(init []byte) (initInfo, error) {
	f, err := mp4.DecodeFile(bytes.NewReader(init))
	if err != nil {
		return initInfo{}, fmt.Errorf("%w: init segment: %w", errBox, err)
	}
	if f.Moov == nil || f.Moov.Trak == nil || f.Moov.Trak.Mdia == nil || f.Moov.Trak.Mdia.Mdhd == nil {
		return initInfo{}, fmt.Errorf("%w: init segment without a track", errBox)
	}
	info := initInfo{timescale: f.Moov.Trak.Mdia.Mdhd.Timescale}
	if info.timescale == 0 {
		return initInfo{}, fmt.Errorf("%w: track timescale 0", errBox)
	}
	if hd := f.Moov.Trak.Mdia.Hdlr; hd != nil {
		info.video = hd.HandlerType == "vide"
	}
	if f.Moov.Mvex != nil {
		info.trex = f.Moov.Mvex.Trex
	}
	return info, nil
}

// fragInfo is the timing of a fragment, in the track's timescale.
type fragInfo struct {
	start    uint64 // decode time of the first sample
	pts      int64  // presentation time of the first sample
	duration uint64
	sync     bool // starts with a sync sample
}

func parseFragment(frag []byte, in initInfo) (fragInfo, error) {
	box, err := mp4.DecodeBox(0, bytes.NewReader(frag))
	if err != nil {
		return fragInfo{}, fmt.Errorf("%w: moof: %w", errBox, err)
	}
	moof, ok := box.(*mp4.MoofBox)
	if !ok || moof.Traf == nil || moof.Traf.Tfhd == nil || moof.Traf.Trun == nil {
		return fragInfo{}, fmt.Errorf("%w: fragment without a track run", errBox)
	}
	traf := moof.Traf
	var fi fragInfo
	if traf.Tfdt != nil {
		fi.start = traf.Tfdt.BaseMediaDecodeTime()
	}
	trun := traf.Trun
	trex := in.trex
	if trex == nil {
		trex = &mp4.TrexBox{}
	}
	fi.duration = trun.AddSampleDefaultValues(traf.Tfhd, trex)
	fi.pts = int64(fi.start) //nolint:gosec // decode times stay far below 2^63
	if len(trun.Samples) == 0 {
		return fi, nil
	}
	first := trun.Samples[0]
	fi.pts += int64(first.CompositionTimeOffset)
	flags := first.Flags
	if f, present := trun.FirstSampleFlags(); present {
		flags = f
	}
	fi.sync = !in.video || mp4.IsSyncSampleFlags(flags)
	return fi, nil
}
