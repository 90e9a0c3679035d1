package udp

// reorder puts RTP packets back in sequence order. It holds a few packets
// that arrive early, drops duplicates and late packets, and gives up on a
// missing packet once enough later ones are waiting: a live stream skips a
// lost packet rather than stall.
type reorder struct {
	started bool
	next    uint16 // the sequence number to emit next
	held    [reorderSlots]heldPacket
	count   int // packets held

	Lost, Duplicates, Reordered uint64
}

type heldPacket struct {
	ok      bool
	seq     uint16
	payload []byte
}

// Reordering bounds: packets more than reorderSlots ahead restart the
// sequence; a gap is skipped once maxHeld packets wait behind it.
const (
	reorderSlots = 32
	maxHeld      = 8
	// resync is how far back a sequence number may jump before it counts
	// as a restarted sender rather than a late packet.
	resync = 1000
)

// push takes one packet and calls emit with every payload that is now in
// order. emit may keep payload.
func (r *reorder) push(seq uint16, payload []byte, emit func([]byte)) {
	if !r.started {
		r.started, r.next = true, seq
	}
	d := seqDiff(seq, r.next)
	switch {
	case d < 0 && d > -resync:
		r.Duplicates++ // already emitted or skipped
		return
	case d < 0 || d >= reorderSlots:
		// A jump: the sender restarted or many packets were lost.
		r.flush(emit)
		r.next = seq
	}
	slot := &r.held[seq%reorderSlots]
	if seq != r.next {
		if slot.ok {
			r.Duplicates++
			return
		}
		*slot = heldPacket{ok: true, seq: seq, payload: payload}
		r.count++
		r.Reordered++
		if r.count >= maxHeld {
			r.skipGap(emit)
		}
		return
	}
	emit(payload)
	r.next++
	r.drain(emit)
}

// drain emits held packets that are now in order.
func (r *reorder) drain(emit func([]byte)) {
	for r.count > 0 {
		slot := &r.held[r.next%reorderSlots]
		if !slot.ok || slot.seq != r.next {
			return
		}
		emit(slot.payload)
		*slot = heldPacket{}
		r.count--
		r.next++
	}
}

// skipGap gives up on the missing packets before the first held one.
func (r *reorder) skipGap(emit func([]byte)) {
	for r.count > 0 {
		if s := &r.held[r.next%reorderSlots]; s.ok && s.seq == r.next {
			r.drain(emit)
			return
		}
		r.Lost++
		r.next++
	}
}

// flush emits everything held, in order, counting the gaps as lost.
func (r *reorder) flush(emit func([]byte)) {
	for r.count > 0 {
		r.skipGap(emit)
	}
}

// reset forgets the sequence (a new sender) but keeps the counters.
func (r *reorder) reset() {
	r.started, r.count, r.held = false, 0, [reorderSlots]heldPacket{}
}

// seqDiff is a - b for 16-bit sequence numbers that wrap: between -32768
// and 32767.
func seqDiff(a, b uint16) int {
	d := int(a - b)
	if d >= 1<<15 {
		d -= 1 << 16
	}
	return d
}
