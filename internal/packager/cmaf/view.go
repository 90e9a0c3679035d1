package cmaf

import "time"

// Snapshot returns the timeline's segments inside window (the newest
// segments covering at most window), ready for manifest rendering.
func (t *Timeline) Snapshot(window time.Duration) *Snapshot {
	t.mu.RLock()
	defer t.mu.RUnlock()
	s := &Snapshot{
		AvailabilityStart: t.cfg.AvailabilityStart,
		SegmentDuration:   t.cfg.SegmentDuration,
		PartDuration:      t.cfg.PartDuration,
		Window:            window,
		Ended:             t.ended,
		Updated:           t.updated,
		Version:           t.version,
	}
	first := len(t.rows)
	if first > 0 {
		ts := t.tracks[0].Timescale
		last := t.rows[first-1].segs[0]
		end := last.StartTimeOf(ts) + last.DurationOf(ts)
		for first > 0 {
			seg := t.rows[first-1].segs[0]
			if end-seg.StartTimeOf(ts) > window {
				break
			}
			first--
		}
	}
	rows := t.rows[first:]
	for _, rw := range rows {
		if n := len(s.Runs); n == 0 || s.Runs[n-1].ID != rw.run.id {
			s.Runs = append(s.Runs, Run{ID: rw.run.id, Start: rw.run.startTime(), Discontinuity: rw.run.disc, Silent: rw.run.silent,
				Grid: rw.run.grid, FirstNumber: rw.run.gridFirst, Aligned: rw.run.alignment().Aligned})
		}
	}
	for i, rc := range t.cfg.Renditions {
		r := Rendition{ID: rc.ID, Kind: rc.Kind, FrameRate: rc.FrameRate}
		if tr := t.tracks[i]; tr != nil {
			r.Codec, r.Width, r.Height = tr.Codec, tr.Width, tr.Height
			r.SampleRate, r.Channels, r.Timescale = tr.SampleRate, tr.Channels, tr.Timescale
		}
		var bits, ticks float64
		for _, rw := range rows {
			seg := rw.segs[i]
			r.Segments = append(r.Segments, SegmentInfo{
				Number: seg.Number, Run: seg.Run, Discontinuity: rw.run.disc,
				Start: seg.Start, Duration: seg.Duration, Size: len(seg.Data),
				Parts: infos(seg.Parts), Dependent: seg.Dependent,
			})
			if seg.Duration > 0 {
				rate := float64(len(seg.Data)*8) * float64(r.Timescale) / float64(seg.Duration)
				r.Bandwidth = max(r.Bandwidth, int64(rate))
				bits += float64(len(seg.Data) * 8)
				ticks += float64(seg.Duration)
			}
		}
		if ticks > 0 {
			r.AverageBandwidth = int64(bits * float64(r.Timescale) / ticks)
		} else {
			r.Bandwidth, r.AverageBandwidth = rc.MaxBitrate, rc.Bitrate
		}
		if len(rows) > 0 && t.cfg.PartDuration > 0 {
			r.Edge = t.edgeInfos(i, rows[len(rows)-1].run)
		}
		s.Renditions = append(s.Renditions, r)
	}
	return s
}

// edgeInfos describes rendition i's live-edge segments; t.mu must be held.
// They follow the rows only when they belong to the run of the last row or
// to a run whose first row has not completed yet, so numbers are continuous.
func (t *Timeline) edgeInfos(i int, lastRun *Feed) []SegmentInfo {
	segs, nums := t.edgeOf(i)
	if len(segs) == 0 || t.runs[len(t.runs)-1] != lastRun {
		return nil
	}
	out := make([]SegmentInfo, len(segs))
	for k, l := range segs {
		var d uint64
		for _, p := range l.parts {
			d += p.Duration
		}
		if l.done {
			d = l.duration
		}
		out[k] = SegmentInfo{
			Number: nums[k], Run: lastRun.id, Discontinuity: lastRun.disc,
			Start: l.start, Duration: d, Size: len(l.data),
			Parts: infos(l.parts), Partial: !l.done, Dependent: len(l.parts) > 0 && !l.parts[0].Independent,
		}
	}
	return out
}
