package redundancy

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/sluice-video/sluice/internal/packager/cmaf"
)

// The merge decides one segment number at a time: the segment after the
// merged timeline's last one (the slot), which starts where that one
// ended. A pipeline has the slot when one of its segments starts there,
// to within the renditions' tolerance: alignment is by media time, so
// pipelines on the same grid follow each other without a discontinuity
// whatever they numbered their segments.
//
//   - A complete segment for the slot is taken from the pipeline the
//     merge prefers: one whose input is live before one on fill, then the
//     pipeline of the previous segment, then the one that completed it
//     first. A preferred pipeline that has not completed the slot yet is
//     waited for during Grace after the first completion.
//   - Once the merged timeline shows parts of the slot, they come from one
//     pipeline (chosen by the same preference when the first part
//     arrives), and so does the slot, unless that pipeline stopped, moved
//     past the slot, or is later than Grace behind another: the slot is
//     then taken whole from the other, without parts.
//   - A slot that no pipeline has, once a pipeline has moved past it and
//     no other may still make it (or GapWait has passed), is skipped: the
//     segment that starts soonest after it starts a new run, numbered on
//     the grid, so the numbers in between are listed as gaps.
//   - A segment whose init segments, audio or start differ from the
//     merged run's starts a new run: a discontinuity, and its reason is
//     in the switch event.

// slotView is what one pipeline has of the slot.
type slotView struct {
	s *source
	// seg is its complete segment for the slot, edge its segment at the
	// live edge for it; past says it has media after the slot but not
	// the slot.
	seg  *srcSeg
	edge *srcEdge
	past bool
}

// working reports whether the pipeline may still complete the slot.
func (v slotView) working() bool { return v.s.up && v.seg == nil && !v.past }

// advanceLocked merges every segment that can be decided now and shows
// the parts of the slot; m.mu must be held.
func (m *Merged) advanceLocked() {
	prev := m.wake
	m.wake = time.Time{}
	now := time.Now()
	for range maxSteps {
		if m.last == 0 {
			if !m.begin(now) {
				break
			}
			continue
		}
		if !m.fill(now) {
			m.mirrorEdge(now)
			break
		}
	}
	m.checkEnded()
	if !m.wake.IsZero() && !m.wake.Equal(prev) {
		select {
		case m.kick <- struct{}{}:
		default:
		}
	}
}

// maxSteps bounds the segments merged in one go: a pipeline's window, when
// the merge starts late.
const maxSteps = 4096

// wakeAt asks for the merge to run again at t.
func (m *Merged) wakeAt(t time.Time) {
	if m.wake.IsZero() || t.Before(m.wake) {
		m.wake = t
	}
}

// near reports whether media times a and b are within rendition i's
// tolerance.
func (m *Merged) near(i int, a, b time.Duration) bool {
	d := a - b
	return d <= m.tols[i] && -d <= m.tols[i]
}

// views returns what every attached pipeline has of the slot.
func (m *Merged) views() []slotView {
	var out []slotView
	for _, s := range m.src {
		if s != nil {
			out = append(out, m.view(s))
		}
	}
	return out
}

func (m *Merged) view(s *source) slotView {
	v := slotView{s: s}
	for _, seg := range s.segs {
		if m.near(0, seg.startOf(0), m.ends[0]) {
			v.seg = seg
			return v
		}
	}
	for _, e := range s.edges {
		for i := range e.r {
			if st, ok := e.startOf(i); ok && m.near(i, st, m.ends[i]) {
				v.edge = e
				return v
			}
		}
	}
	if at, ok := s.newest(); ok && at > m.ends[0]+m.tols[0] {
		v.past = true
	}
	return v
}

func find(views []slotView, index int) (slotView, bool) {
	for _, v := range views {
		if v.s.index == index {
			return v, true
		}
	}
	return slotView{}, false
}

// better reports whether pipeline a, which had the slot at atA, is
// preferred to b, which had it at atB.
func (m *Merged) better(a, b *source, atA, atB time.Time) bool {
	if a.live != b.live {
		return a.live
	}
	if (a.index == m.lastSrc) != (b.index == m.lastSrc) {
		return a.index == m.lastSrc
	}
	return atA.Before(atB)
}

// waitFor reports whether a pipeline other than best that may still make
// the slot (and has not made what best has) is preferred enough to wait
// for: its input is live where best's is not, or it is the pipeline of the
// previous segment.
func (m *Merged) waitFor(views []slotView, best *source, has func(slotView) bool) bool {
	for _, v := range views {
		if v.s == best || !v.working() || has(v) {
			continue
		}
		if (v.s.live && !best.live) || (v.s.index == m.lastSrc && v.s.live == best.live) {
			return true
		}
	}
	return false
}

// begin starts the merged timeline from the oldest segment of the
// preferred pipeline.
func (m *Merged) begin(now time.Time) bool {
	var best *source
	var seg *srcSeg
	for _, s := range m.src {
		if s == nil || !s.up || len(s.segs) == 0 {
			continue
		}
		if first := s.segs[0]; best == nil || m.better(s, best, first.at, seg.at) {
			best, seg = s, first
		}
	}
	if best == nil {
		return false
	}
	if !best.live && now.Sub(seg.at) < m.cfg.GapWait {
		for _, s := range m.src {
			if s != nil && s != best && s.up && s.live {
				m.wakeAt(seg.at.Add(m.cfg.GapWait))
				return false
			}
		}
	}
	m.take(seg.number, best, seg, "", "")
	return true
}

// fill merges the slot when a pipeline has completed it and the rules say
// whose to take.
func (m *Merged) fill(now time.Time) bool {
	n := m.last + 1
	views := m.views()
	var have []slotView
	var first time.Time
	for _, v := range views {
		if v.seg == nil {
			continue
		}
		have = append(have, v)
		if first.IsZero() || v.seg.at.Before(first) {
			first = v.seg.at
		}
	}
	if len(have) == 0 {
		return m.skip(now, n, views)
	}
	m.pastSince = time.Time{}
	best := have[0]
	for _, v := range have[1:] {
		if m.better(v.s, best.s, v.seg.at, best.seg.at) {
			best = v
		}
	}
	if !best.s.live {
		// A pipeline on fill loses to one whose input is live even when
		// that one is not aligned: viewers see the discontinuity rather
		// than the fill.
		if taken, waiting := m.leaveFill(now, n, views, best.s, first); taken || waiting {
			return taken
		}
	}
	choice, reason := best, ""
	if p, locked := m.lock[n]; locked {
		if v, ok := find(have, p); ok {
			choice = v
		} else {
			pv, attached := find(views, p)
			switch {
			case !attached || !pv.s.up:
				reason = fmt.Sprintf("pipeline %d stopped during segment %d", p, n)
			case pv.past:
				reason = fmt.Sprintf("pipeline %d moved past segment %d without completing it", p, n)
			case now.Sub(first) >= m.cfg.Grace:
				reason = fmt.Sprintf("pipeline %d did not complete segment %d within %v of pipeline %d", p, n, m.cfg.Grace, best.s.index)
			default:
				m.wakeAt(first.Add(m.cfg.Grace))
				return false
			}
		}
	} else if now.Sub(first) < m.cfg.Grace && m.waitFor(views, best.s, func(v slotView) bool { return v.seg != nil }) {
		m.wakeAt(first.Add(m.cfg.Grace))
		return false
	}
	if reason == "" {
		reason = m.why(choice.s, views, n)
	}
	m.take(n, choice.s, choice.seg, reason, "")
	return true
}

// leaveFill moves to a live pipeline that is off the merged run's grid
// when the slot's pipeline (first complete at firstAt) is on fill: at that
// pipeline's next segment, as a new run, waiting up to GapWait for it to
// complete. It reports whether it merged that segment, or waits.
func (m *Merged) leaveFill(now time.Time, n uint64, views []slotView, fill *source, firstAt time.Time) (taken, waiting bool) {
	for _, v := range views {
		s := v.s
		if s == fill || !s.live || !s.up {
			continue
		}
		st, complete, ok := m.nextMedia(s)
		if !ok || !m.offGrid(st) {
			continue // a live pipeline on the grid takes its next slot as usual
		}
		if complete {
			why := fmt.Sprintf("the input of pipeline %d is not live (on fill), pipeline %d's is", fill.index, s.index)
			return m.jump(n, views, func(x *source) bool { return x == s }, why), false
		}
		if now.Sub(firstAt) < m.cfg.GapWait {
			m.wakeAt(firstAt.Add(m.cfg.GapWait))
			return false, true
		}
	}
	return false, false
}

// nextMedia returns the start of a pipeline's soonest segment after the
// slot, complete or at its live edge.
func (m *Merged) nextMedia(s *source) (start time.Duration, complete, ok bool) {
	for _, seg := range s.segs {
		if st := seg.startOf(0); st > m.ends[0] && (!ok || st < start) {
			start, complete, ok = st, true, true
		}
	}
	for _, e := range s.edges {
		if st, has := e.startOf(0); has && st > m.ends[0] && (!ok || st < start) {
			start, complete, ok = st, false, true
		}
	}
	return start, complete, ok
}

// why says why the slot comes from another pipeline than the previous
// segment.
func (m *Merged) why(to *source, views []slotView, n uint64) string {
	prev := m.lastSrc
	if prev < 0 || prev == to.index {
		return ""
	}
	pv, ok := find(views, prev)
	switch {
	case !ok:
		return fmt.Sprintf("pipeline %d was removed", prev)
	case !pv.s.up:
		return fmt.Sprintf("pipeline %d stopped", prev)
	case !pv.s.live && to.live:
		return fmt.Sprintf("the input of pipeline %d is not live (on fill), pipeline %d's is", prev, to.index)
	case pv.seg == nil:
		return fmt.Sprintf("pipeline %d did not complete segment %d within %v of pipeline %d", prev, n, m.cfg.Grace, to.index)
	}
	return fmt.Sprintf("pipeline %d completed segment %d first", to.index, n)
}

// skip moves past a slot that no pipeline has, once it is clear none
// will make it in time: to the complete segment that starts soonest after
// it, as a new run.
func (m *Merged) skip(now time.Time, n uint64, views []slotView) bool {
	past, working := false, false
	for _, v := range views {
		past = past || v.past
		working = working || v.working()
	}
	if !past {
		m.pastSince = time.Time{}
		return false
	}
	if m.pastSince.IsZero() {
		m.pastSince = now
	}
	if working && now.Sub(m.pastSince) < m.cfg.GapWait {
		m.wakeAt(m.pastSince.Add(m.cfg.GapWait))
		return false
	}
	m.pastSince = time.Time{}
	return m.jump(n, views, nil, "")
}

// jump starts a new run with the complete segment that starts soonest
// after the slot, of a pipeline accept takes (nil: any), numbered on the
// grid after the slot so that the numbers left out are listed as gaps.
// why, when set, says why the merge leaves the slot's pipeline.
func (m *Merged) jump(n uint64, views []slotView, accept func(*source) bool, why string) bool {
	from, next := m.soonestAfter(views, accept)
	if next == nil {
		return false // no pipeline past the slot has completed a segment yet
	}
	gap := next.startOf(0) - m.ends[0]
	sd := m.cfg.Timeline.SegmentDuration
	k := min(uint64((gap+sd/2)/sd), maxGap) //nolint:gosec // gap is positive
	var disc string
	switch {
	case m.offGrid(next.startOf(0)):
		disc = fmt.Sprintf("pipeline %d's next segment starts %v after the end of segment %d: the pipelines are not aligned", from.index, gap.Round(time.Millisecond), n-1)
	case k == 1:
		disc = fmt.Sprintf("no pipeline has segment %d", n)
	default:
		disc = fmt.Sprintf("no pipeline has segments %d to %d", n, n+k-1)
	}
	if k > 0 {
		m.tl.Gap(disc)
	}
	reason := disc
	if why != "" {
		reason = why + "; it starts a discontinuity: " + disc
	}
	m.take(n+k, from, next, reason, disc)
	return true
}

// soonestAfter returns the complete segment, of a pipeline accept takes
// (nil: any), that starts soonest after the slot.
func (m *Merged) soonestAfter(views []slotView, accept func(*source) bool) (*source, *srcSeg) {
	var from *source
	var next *srcSeg
	for _, v := range views {
		if accept != nil && !accept(v.s) {
			continue
		}
		for _, seg := range v.s.segs {
			st := seg.startOf(0)
			if st <= m.ends[0] {
				continue
			}
			if next == nil || st < next.startOf(0) || (st == next.startOf(0) && m.better(v.s, from, seg.at, next.at)) {
				from, next = v.s, seg
			}
		}
	}
	return from, next
}

// offGrid reports whether a segment starting at st lies off the grid of
// the merged run: not a whole number of segments after the slot.
func (m *Merged) offGrid(st time.Duration) bool {
	sd := m.cfg.Timeline.SegmentDuration
	phase := (st - m.ends[0]) % sd
	if phase < 0 {
		phase += sd
	}
	return phase > m.tols[0] && sd-phase > m.tols[0]
}

// maxGap bounds the numbers a gap leaves out, whatever a pipeline's
// timestamps say: about four weeks of one-second segments.
const maxGap = 1 << 21

// discontinuity says why a segment cannot follow the merged run, or "".
func (m *Merged) discontinuity(seg *srcSeg) string {
	if m.rep == nil {
		return ""
	}
	if m.ended {
		return "the pipelines had stopped"
	}
	if d := m.runDiffers(seg.run); d != "" {
		return d
	}
	for i := range m.ids {
		if d := seg.startOf(i) - m.ends[i]; !m.near(i, seg.startOf(i), m.ends[i]) {
			return fmt.Sprintf("rendition %s starts %v %s the end of segment %d", m.ids[i], abs(d).Round(time.Millisecond), beforeAfter(d), m.last)
		}
	}
	return ""
}

// runDiffers says how a pipeline's run differs from the merged run, or "".
func (m *Merged) runDiffers(r *srcRun) string {
	for i := range m.ids {
		if !bytes.Equal(r.inits[i], m.runInits[i]) {
			return fmt.Sprintf("the init segments of rendition %s differ", m.ids[i])
		}
	}
	if r.silent != m.runSilent {
		return "the audio of one pipeline is generated silence, the other's is not"
	}
	return ""
}

func abs(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

func beforeAfter(d time.Duration) string {
	if d < 0 {
		return "before"
	}
	return "after"
}

// take adds seg of pipeline s to the merged timeline as segment number.
// forced, when set, is why it starts a new run whatever it is.
func (m *Merged) take(number uint64, s *source, seg *srcSeg, reason, forced string) {
	run := seg.run
	disc := forced
	if disc == "" {
		disc = m.discontinuity(seg)
	}
	newRun := m.rep == nil || m.ended || disc != ""
	if newRun {
		start := m.runStart(seg)
		rep, err := m.tl.StartNamedReplica(runName(start, run.silent, run.inits), start, run.silent, run.inits)
		if err != nil {
			m.logger.Error(fmt.Sprintf("channel %s: segment %d of pipeline %d cannot start a run: %v", m.cfg.Channel, number, s.index, err), "pipeline", s.index)
			s.drop(seg)
			return
		}
		m.rep, m.runInits, m.runSilent, m.ended = rep, run.inits, run.silent, false
	}
	tag := sourceTag(s.index, run.id)
	mr := m.mirror[number]
	whole := mr != nil && (newRun || mr.source != s.index || mr.tag != tag)
	segs := make([]*cmaf.Segment, len(seg.segs))
	for i, sg := range seg.segs {
		c := *sg
		c.Source = tag
		if whole {
			c.Parts = nil
		}
		segs[i] = &c
	}
	if err := m.rep.Complete(number, segs); err != nil {
		m.logger.Error(fmt.Sprintf("channel %s: segment %d of pipeline %d cannot be merged: %v", m.cfg.Channel, number, s.index, err), "pipeline", s.index)
		s.drop(seg)
		return
	}
	m.last = number
	for i := range m.ends {
		m.ends[i] = seg.startOf(i) + seg.segs[i].DurationOf(run.timescales[i])
	}
	from := m.lastSrc
	m.lastSrc = s.index
	for k := range m.lock {
		if k <= number {
			delete(m.lock, k)
			delete(m.mirror, k)
		}
	}
	for _, src := range m.src {
		if src != nil {
			src.prune(m.ends[0], m.tols[0])
		}
	}
	switch {
	case from >= 0 && from != s.index:
		ev := Switch{Channel: m.cfg.Channel, From: from, To: s.index, Segment: number, Reason: reason, Discontinuity: newRun}
		if newRun && forced == "" {
			ev.Reason += "; it starts a discontinuity: " + disc
		}
		m.pending = append(m.pending, ev)
		m.logger.Info(ev.Message(), "from", from, "to", s.index, "segment", number, "discontinuity", newRun)
	case newRun && from >= 0:
		m.logger.Info(fmt.Sprintf("channel %s: segment %d of pipeline %d starts a new run: %s", m.cfg.Channel, number, s.index, disc), "pipeline", s.index, "segment", number)
	case from < 0:
		m.logger.Info(fmt.Sprintf("channel %s: the merged timeline starts at segment %d of pipeline %d", m.cfg.Channel, number, s.index), "pipeline", s.index, "segment", number)
	}
}

// runStart is the media time at which the merged run that seg begins
// starts: its DASH Period start. Every node that runs a pipeline merges on
// its own, from whichever segment it had first, and an edge moves between
// them: the Period of the same media must not depend on where a node
// began. The merged timeline's first run starts at media time zero (the
// channel's availability start), which every node shares; a later run,
// after a discontinuity of the merge, at its first segment's start, which
// every node making the same switch shares.
func (m *Merged) runStart(seg *srcSeg) time.Duration {
	if m.rep == nil {
		return 0
	}
	start := seg.startOf(0)
	for i := range m.ids {
		start = min(start, seg.startOf(i))
	}
	return max(start.Truncate(time.Millisecond), 0)
}

// runName names a merged run after what every node merging the same media
// shares: its start and its init segments, so that the nodes serve it
// under the same init segment URLs and DASH Period id. Names stay below
// 2^63, as the origin's init-<run>.mp4 URLs take at most 19 digits.
func runName(start time.Duration, silent bool, inits [][]byte) uint64 {
	h := fnv.New64a()
	var b [9]byte
	binary.BigEndian.PutUint64(b[:8], uint64(start)) //nolint:gosec // a media time is not negative
	if silent {
		b[8] = 1
	}
	_, _ = h.Write(b[:])
	for _, init := range inits {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(init)))
		_, _ = h.Write(n[:])
		_, _ = h.Write(init)
	}
	return h.Sum64()>>1 | 1
}

// drop forgets a segment the merge could not use.
func (s *source) drop(seg *srcSeg) {
	for k, x := range s.segs {
		if x == seg {
			s.segs = append(s.segs[:k], s.segs[k+1:]...)
			return
		}
	}
}

// sourceTag names the bytes of one run of one pipeline (Segment.Source).
func sourceTag(index int, run uint64) uint64 {
	h := fnv.New64a()
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(index)) //nolint:gosec // 0 or 1
	binary.BigEndian.PutUint64(b[8:], run)
	_, _ = h.Write(b[:])
	return h.Sum64() | 1
}

// mirrorEdge shows at the merged timeline's live edge the parts of the
// slot, from the one pipeline chosen when its first part arrived.
func (m *Merged) mirrorEdge(now time.Time) {
	if m.rep == nil || m.ended {
		return
	}
	n := m.last + 1
	mr := m.mirror[n]
	if mr == nil {
		views := m.views()
		var have []slotView
		var first time.Time
		for _, v := range views {
			if v.edge == nil || !v.s.up || v.edge.parts() == 0 || m.edgeDiffers(v.edge) {
				continue
			}
			have = append(have, v)
			if first.IsZero() || v.edge.firstAt.Before(first) {
				first = v.edge.firstAt
			}
		}
		if len(have) == 0 {
			return
		}
		best := have[0]
		for _, v := range have[1:] {
			if m.better(v.s, best.s, v.edge.firstAt, best.edge.firstAt) {
				best = v
			}
		}
		if now.Sub(first) < m.cfg.Grace && m.waitFor(views, best.s, func(v slotView) bool { return v.edge != nil && v.edge.parts() > 0 }) {
			m.wakeAt(first.Add(m.cfg.Grace))
			return
		}
		e := best.edge
		k := len(m.ids)
		mr = &mirrored{
			source: best.s.index, tag: sourceTag(best.s.index, e.run.id), run: e.run, srcNumber: e.number,
			starts: make([]uint64, k), opened: make([]bool, k), parts: make([]int, k), closed: make([]bool, k),
		}
		m.lock[n] = best.s.index
		m.mirror[n] = mr
	}
	s := m.src[mr.source]
	if s == nil {
		return
	}
	e := s.edges[mr.srcNumber]
	if e == nil || e.run != mr.run {
		return
	}
	for i, p := range e.r {
		if p == nil {
			continue
		}
		if !mr.opened[i] {
			if err := m.rep.OpenSegment(i, n, p.start, mr.tag); err != nil {
				m.logger.Debug("the merged live edge cannot open a segment", "segment", n, "error", err)
				continue
			}
			mr.opened[i], mr.starts[i] = true, p.start
		}
		if p.start != mr.starts[i] {
			continue
		}
		for mr.parts[i] < len(p.parts) {
			pt := p.parts[mr.parts[i]]
			if err := m.rep.AddPart(i, n, p.data[pt.Offset:pt.Offset+pt.Size:pt.Offset+pt.Size], pt.Duration, pt.Independent); err != nil {
				m.logger.Debug("the merged live edge cannot add a part", "segment", n, "error", err)
				break
			}
			mr.parts[i]++
		}
		if p.done && !mr.closed[i] && mr.parts[i] == len(p.parts) {
			if err := m.rep.CloseSegment(i, n, p.duration); err == nil {
				mr.closed[i] = true
			}
		}
	}
}

// edgeDiffers reports whether a segment at a pipeline's live edge could
// not follow the merged run without a discontinuity.
func (m *Merged) edgeDiffers(e *srcEdge) bool {
	if !e.run.complete() || m.runDiffers(e.run) != "" {
		return true
	}
	for i := range e.r {
		if st, ok := e.startOf(i); ok && !m.near(i, st, m.ends[i]) {
			return true
		}
	}
	return false
}

// checkEnded ends the merged timeline when every attached pipeline's
// timeline has ended.
func (m *Merged) checkEnded() {
	if m.rep == nil || m.ended {
		return
	}
	attached := 0
	for _, s := range m.src {
		if s == nil {
			continue
		}
		attached++
		if !s.ended {
			return
		}
	}
	if attached > 0 {
		m.tl.End()
		m.ended = true
	}
}
