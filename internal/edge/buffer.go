package edge

import (
	"context"
	"io"
	"sync"
)

// buffer is a body that grows while the origin sends it. Any number of
// readers follow it at their own pace and are woken on each append; the
// writer never waits for them, so a slow viewer cannot hold the origin
// connection. Bytes once appended never change, so readers get slices of
// the buffer itself, without copying.
type buffer struct {
	mu   sync.Mutex
	data []byte
	// visible is how much of data readers see: all of it, except the last
	// piece between seal and finish.
	visible int
	// sealed: every byte has arrived, though readers may not have it yet.
	sealed bool
	done   bool
	err    error
	// wake is closed (and replaced) on every append and on finish.
	wake chan struct{}
}

func newBuffer(sizeHint int64) *buffer {
	b := &buffer{wake: make(chan struct{})}
	if sizeHint > 0 {
		b.data = make([]byte, 0, sizeHint)
	}
	return b
}

// completeBuffer returns a finished buffer holding data.
func completeBuffer(data []byte) *buffer {
	return &buffer{data: data, visible: len(data), sealed: true, done: true, wake: make(chan struct{})}
}

// append adds p (copied) and wakes the readers.
func (b *buffer) append(p []byte) {
	if len(p) == 0 {
		return
	}
	b.mu.Lock()
	b.data = append(b.data, p...)
	b.visible = len(b.data)
	close(b.wake)
	b.wake = make(chan struct{})
	b.mu.Unlock()
}

// seal adds the last piece of the body without showing it to the readers
// yet: the fetch puts the entry in the cache first, so a viewer who has
// read it all and asks again finds it there.
func (b *buffer) seal(last []byte) {
	b.mu.Lock()
	b.data = append(b.data, last...)
	b.sealed = true
	b.mu.Unlock()
}

// finish marks the body complete, or failed when err is not nil, and
// shows the readers everything.
func (b *buffer) finish(err error) {
	b.mu.Lock()
	if !b.done {
		b.done, b.err = true, err
		b.visible = len(b.data)
		close(b.wake)
		b.wake = make(chan struct{})
	}
	b.mu.Unlock()
}

// next returns the bytes after off, waiting for some if there are none
// yet. At the end it returns io.EOF, or the error the body failed with.
func (b *buffer) next(ctx context.Context, off int) ([]byte, error) {
	for {
		b.mu.Lock()
		data, done, err, wake := b.data[:b.visible], b.done, b.err, b.wake
		b.mu.Unlock()
		switch {
		case off < len(data):
			return data[off:], nil
		case done && err != nil:
			return nil, err
		case done:
			return nil, io.EOF
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// wait blocks until the body is complete and returns it.
func (b *buffer) wait(ctx context.Context) ([]byte, error) {
	for {
		b.mu.Lock()
		data, done, err, wake := b.data, b.done, b.err, b.wake
		b.mu.Unlock()
		if done {
			return data, err
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// complete returns the body and whether its readers have been told it is
// whole: the test for serving it as a complete object.
func (b *buffer) complete() ([]byte, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.data, b.done && b.err == nil
}

// arrived returns the body and whether every byte of it is there (sealed
// or complete): the test for keeping it in a cache tier.
func (b *buffer) arrived() ([]byte, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.data, b.sealed || b.done && b.err == nil
}

// len is the number of bytes that have arrived.
func (b *buffer) len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.data)
}
