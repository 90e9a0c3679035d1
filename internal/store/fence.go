package store

import "errors"

// Fence is what a channel's holder proves with each of its writes: the
// node that holds the lease of one of the channel's pipelines and the
// lease's epoch. A write made with a fence succeeds only while that node
// still holds the lease at that epoch (and it has not expired on the
// database's clock), checked in the same transaction; otherwise it fails
// with ErrFenced and changes nothing. The channel's own writes (its state,
// timeline counters, deletion, DVR index) carry the fence of pipeline 0,
// the channel's lease; a pipeline's report carries its own. The zero
// Fence is the single server's: it holds every channel, and its writes are
// not checked.
type Fence struct {
	Holder string
	Epoch  uint64
	// Pipeline is the index of the pipeline whose lease it is (0 for the
	// channel's own).
	Pipeline int
}

// IsZero reports whether f is the single server's fence, which is not
// checked.
func (f Fence) IsZero() bool { return f.Holder == "" }

// ErrFenced is the error of a write whose fence no longer holds: another
// node took the channel (a higher epoch) or the lease expired. The writer
// must stop acting for the channel.
var ErrFenced = errors.New("the channel's lease is no longer this node's")
