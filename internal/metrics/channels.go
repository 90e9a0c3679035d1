package metrics

import (
	"context"
	"sync"
	"time"

	"github.com/sluice-video/sluice/internal/lifecycle"
	"github.com/sluice-video/sluice/internal/resource"
)

// ChannelObserver is what channels report (the channel package's
// Observer): figures into the registry, events to Publish (the event
// bus).
type ChannelObserver struct {
	*Metrics
	Publish func(resource.Event) resource.Event
}

// Event publishes a channel's event.
func (o ChannelObserver) Event(e resource.Event) { o.Publish(e) }

// ChannelRemoved forgets a deleted channel's series.
func (o ChannelObserver) ChannelRemoved(ch string) { o.RemoveChannel(ch) }

// PollEvery is how often a Poller looks.
const PollEvery = 5 * time.Second

// Poller copies figures that live in the components (a channel's fill
// and input loss, an input's bitrate and counters) into the metrics,
// every Every (PollEvery for zero), as the differences since the last
// look.
type Poller struct {
	Metrics  *Metrics
	Channels func(context.Context) ([]resource.Channel, error)
	Inputs   func(context.Context) ([]resource.Input, error)
	Every    time.Duration

	loop lifecycle.Loop
	mu   sync.Mutex
	last map[string]float64
}

// Start polls from now until Close.
func (c *Poller) Start(ctx context.Context) error {
	every := c.Every
	if every <= 0 {
		every = PollEvery
	}
	c.loop.Go(ctx, func(ctx context.Context) { c.run(ctx, every) })
	return nil
}

// Close stops polling.
func (c *Poller) Close(ctx context.Context) error { return c.loop.Stop(ctx) }

func (c *Poller) run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			c.Poll(ctx)
		}
	}
}

// Poll looks once.
func (c *Poller) Poll(ctx context.Context) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.last == nil {
		c.last = map[string]float64{}
	}
	if chs, err := c.Channels(ctx); err == nil {
		for _, ch := range chs {
			p := ch.Pipeline
			if p == nil {
				continue
			}
			c.Metrics.ActiveInput(ch.Name, p.ActiveInput)
			c.Metrics.ChannelFill(ch.Name, c.delta("fill/"+ch.Name, p.FillSeconds))
			c.Metrics.InputLoss(ch.Name, c.delta("loss/"+ch.Name, p.InputLossSeconds))
		}
	}
	if ins, err := c.Inputs(ctx); err == nil {
		for _, in := range ins {
			l := in.Live
			if l == nil {
				continue
			}
			c.Metrics.InputBitrate(in.Name, float64(l.BitrateIn))
			c.Metrics.InputBytes(in.Name, int64(c.deltaN("bytes/"+in.Name, float64(l.BytesReceived))))
			for range int(c.deltaN("refused/"+in.Name, float64(l.Refused))) {
				c.Metrics.InputRefused(in.Name, RefusedOther)
			}
		}
	}
}

// delta returns the growth of a running total of seconds since last time.
func (c *Poller) delta(key string, total float64) time.Duration {
	return time.Duration(c.deltaN(key, total) * float64(time.Second))
}

func (c *Poller) deltaN(key string, total float64) float64 {
	prev, ok := c.last[key]
	c.last[key] = total
	if !ok || total < prev {
		// First look, or the total started again (a new pipeline).
		if ok {
			return total
		}
		return 0
	}
	return total - prev
}
