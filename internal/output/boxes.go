package output

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/Eyevinn/mp4ff/mp4"
)

// maxBox bounds one top-level box of an encoder stream; a larger size is
// taken as corruption rather than buffered.
const maxBox = 64 << 20

// errBox is the sentinel of a malformed box stream.
var errBox = errors.New("malformed MP4 box stream")

// splitter cuts a fragmented-MP4 byte stream into its init segment and its
// fragments (moof+mdat), whatever the sizes of the writes it is given.
type splitter struct {
	buf  []byte
	ftyp []byte
	moof []byte
	// onInit and onFragment receive copies they may keep.
	onInit     func(init []byte) error
	onFragment func(frag []byte) error
	// idle, when set and true, means nobody wants fragments now: they are
	// skipped without being copied together.
	idle func() bool
}

// write adds bytes and hands over every box they complete.
func (s *splitter) write(p []byte) error {
	s.buf = append(s.buf, p...)
	off := 0
	for {
		rest := s.buf[off:]
		size, hdr, ok, err := boxSize(rest)
		if err != nil {
			return err
		}
		if !ok || uint64(len(rest)) < size {
			break
		}
		if err := s.box(string(rest[4:8]), rest[:size], hdr); err != nil {
			return err
		}
		off += int(size) //nolint:gosec // size <= maxBox
	}
	if off > 0 {
		s.buf = append(s.buf[:0], s.buf[off:]...)
	}
	return nil
}

// boxSize reads a box header: the whole box's size and the header length;
// ok is false when more bytes are needed.
func boxSize(b []byte) (size uint64, hdr int, ok bool, err error) {
	if len(b) < 8 {
		return 0, 0, false, nil
	}
	size, hdr = uint64(binary.BigEndian.Uint32(b)), 8
	if size == 1 {
		if len(b) < 16 {
			return 0, 0, false, nil
		}
		size, hdr = binary.BigEndian.Uint64(b[8:]), 16
	}
	if size < uint64(hdr) || size > maxBox {
		return 0, 0, false, fmt.Errorf("%w: box %q has size %d", errBox, printable(b[4:8]), size)
	}
	return size, hdr, true, nil
}

func (s *splitter) box(typ string, box []byte, _ int) error {
	switch typ {
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
