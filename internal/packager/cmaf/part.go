package cmaf

// Part is one partial segment (LL-HLS) or CMAF chunk group (LL-DASH): a byte
// range of its segment holding whole moof+mdat pairs. Parts are cut on a
// grid of the timeline's PartDuration counted from the segment start, so
// that every part lasts at most PartDuration; the first part of a segment
// also carries the segment's styp box, so the parts concatenated are the
// segment.
type Part struct {
	// Offset and Size locate the part in its segment's bytes.
	Offset int
	Size   int
	// Duration is in the rendition's timescale.
	Duration uint64
	// Independent is true when the part starts with a key frame (always for
	// audio): a player may start decoding there.
	Independent bool
}

// PartInfo describes one part in a snapshot.
type PartInfo struct {
	Duration    uint64
	Independent bool
}

// edgeSink hears of a segment's progress while the segmenter builds it: the
// live edge that LL-HLS and LL-DASH serve before the segment is complete.
type edgeSink interface {
	opened(index, start uint64)
	wrote(chunk []byte)
	partClosed(p Part)
	closed(duration uint64)
}

// liveSegment is one rendition's segment at the live edge: being written,
// or complete in this rendition but not yet in every other one.
type liveSegment struct {
	index uint64 // boundary index within the run
	start uint64 // decode time with the run offset
	// data only grows; the bytes below len(data) never change, so a reader
	// may keep a slice of it while the writer appends.
	data     []byte
	parts    []Part
	duration uint64
	done     bool
	// source is Segment.Source of the segment this becomes.
	source uint64
}

// openPartOffset is where the part being written starts in data.
func (l *liveSegment) openPartOffset() int {
	if n := len(l.parts); n > 0 {
		p := l.parts[n-1]
		return p.Offset + p.Size
	}
	return 0
}

func infos(parts []Part) []PartInfo {
	if len(parts) == 0 {
		return nil
	}
	out := make([]PartInfo, len(parts))
	for i, p := range parts {
		out[i] = PartInfo{Duration: p.Duration, Independent: p.Independent}
	}
	return out
}
