package lifecycle

import (
	"context"
	"sync"
	"time"
)

// Loop runs one background function from Start until Close: the
// lifecycle of a ticker or a subscription. The zero value is ready.
type Loop struct {
	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
}

// Go runs f in a goroutine with a context that ends at Stop (and not when
// ctx, the start's context, ends). A second Go while f runs does nothing.
func (l *Loop) Go(ctx context.Context, f func(context.Context)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.done != nil {
		return
	}
	lctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	l.cancel, l.done = cancel, make(chan struct{})
	go func(done chan struct{}) {
		defer close(done)
		f(lctx)
	}(l.done)
}

// Stop ends the loop's context and waits for f to return, or for ctx to
// end (then returns ctx's error). Stopping a loop that never ran returns
// at once.
func (l *Loop) Stop(ctx context.Context) error {
	l.mu.Lock()
	cancel, done := l.cancel, l.done
	l.mu.Unlock()
	if done == nil {
		return nil
	}
	cancel()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Funcs is a component made of two functions, for parts whose lifetime is
// a resource opened elsewhere (a database handle to close). A nil
// function does nothing.
type Funcs struct {
	OnStart func(ctx context.Context) error
	OnClose func(ctx context.Context) error
}

// Start calls OnStart.
func (f Funcs) Start(ctx context.Context) error {
	if f.OnStart == nil {
		return nil
	}
	return f.OnStart(ctx)
}

// Close calls OnClose.
func (f Funcs) Close(ctx context.Context) error {
	if f.OnClose == nil {
		return nil
	}
	return f.OnClose(ctx)
}

// CloseWithin gives c's Close a time of its own: d from the moment it is
// closed, whatever is left of the group's context. For a part whose
// close must not be cut short by the parts closed before it, nor wait
// forever on a context without a deadline.
func CloseWithin(d time.Duration, c Component) Component { return within{c, d} }

type within struct {
	Component
	d time.Duration
}

func (w within) Close(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), w.d)
	defer cancel()
	return w.Component.Close(cctx)
}

// Once makes c's Close run once, whoever calls it first: for a part that
// holds what its constructor opened, closed by its group once started and
// by its builder when the group never got to start it.
func Once(c Component) Component { return &once{Component: c} }

type once struct {
	Component
	o   sync.Once
	err error
}

func (o *once) Close(ctx context.Context) error {
	o.o.Do(func() { o.err = o.Component.Close(ctx) })
	return o.err
}
