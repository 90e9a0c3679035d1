package server

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/sluice-video/sluice/internal/channel"
	"github.com/sluice-video/sluice/internal/event"
	"github.com/sluice-video/sluice/internal/input/live"
	"github.com/sluice-video/sluice/internal/input/pull"
	"github.com/sluice-video/sluice/internal/input/udp"
	"github.com/sluice-video/sluice/internal/metrics"
	"github.com/sluice-video/sluice/internal/outbound"
	"github.com/sluice-video/sluice/internal/resource"
)

// observer turns what channels do into metrics and events.
type observer struct {
	m   *metrics.Metrics
	bus *event.Bus
}

func (o observer) Event(e resource.Event) { o.bus.Publish(e) }
func (o observer) ChannelState(ch string, st resource.ChannelState) {
	o.m.ChannelState(ch, st)
}
func (o observer) EncoderProgress(ch string, speed, fps float64, dropped int64) {
	o.m.EncoderProgress(ch, speed, fps, dropped)
}
func (o observer) EncoderRestarted(ch string) { o.m.EncoderRestarted(ch) }
func (o observer) SegmentProduced(ch, rendition string, latency time.Duration) {
	o.m.SegmentProduced(ch, rendition, latency)
}
func (o observer) ChannelRemoved(ch string) { o.m.RemoveChannel(ch) }
func (o observer) FrameShares(ch string, readers, decoders int) {
	o.m.FrameShares(ch, readers, decoders)
}
func (o observer) FramesDropped(ch string, n int) { o.m.FramesDropped(ch, n) }

var _ channel.Observer = observer{}

// collector copies figures that live in the components (a channel's fill
// and input loss, an input's bitrate and counters) into the metrics, every
// interval, as the differences since the last look.
type collector struct {
	m        *metrics.Metrics
	channels func(context.Context) ([]resource.Channel, error)
	inputs   func(context.Context) ([]resource.Input, error)

	mu   sync.Mutex
	last map[string]float64
}

func (c *collector) run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			c.collect(ctx)
		}
	}
}

func (c *collector) collect(ctx context.Context) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.last == nil {
		c.last = map[string]float64{}
	}
	if chs, err := c.channels(ctx); err == nil {
		for _, ch := range chs {
			p := ch.Pipeline
			if p == nil {
				continue
			}
			c.m.ActiveInput(ch.Name, p.ActiveInput)
			c.m.ChannelFill(ch.Name, c.delta("fill/"+ch.Name, p.FillSeconds))
			c.m.InputLoss(ch.Name, c.delta("loss/"+ch.Name, p.InputLossSeconds))
		}
	}
	if ins, err := c.inputs(ctx); err == nil {
		for _, in := range ins {
			l := in.Live
			if l == nil {
				continue
			}
			c.m.InputBitrate(in.Name, float64(l.BitrateIn))
			c.m.InputBytes(in.Name, int64(c.deltaN("bytes/"+in.Name, float64(l.BytesReceived))))
			for range int(c.deltaN("refused/"+in.Name, float64(l.Refused))) {
				c.m.InputRefused(in.Name, metrics.RefusedOther)
			}
		}
	}
}

// delta returns the growth of a running total of seconds since last time.
func (c *collector) delta(key string, total float64) time.Duration {
	return time.Duration(c.deltaN(key, total) * float64(time.Second))
}

func (c *collector) deltaN(key string, total float64) float64 {
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

// udpReceiver runs a UDP or RTP input's port.
type udpReceiver struct {
	reg    *live.Registry
	logger *slog.Logger
}

func (u *udpReceiver) run(ctx context.Context, input, addr string, rtp bool) error {
	r := &udp.Receiver{Input: input, Addr: addr, RTP: rtp, Registry: u.reg, Logger: u.logger}
	return r.Run(ctx)
}

// pullWorker runs URL_PULL inputs.
func pullWorker(reg *live.Registry, policy *outbound.Policy, logger *slog.Logger) func(ctx context.Context, input, rawURL string) error {
	return func(ctx context.Context, input, rawURL string) error {
		return pull.Run(ctx, reg, input, rawURL, policy, logger)
	}
}
