package channel

import (
	"fmt"

	"github.com/sluice-video/sluice/internal/encoder"
	"github.com/sluice-video/sluice/internal/output"
	"github.com/sluice-video/sluice/internal/resource"
)

// startDeliveries runs the channel's delivery outputs (UDP, RTP, RTMP,
// ARCHIVE, FRAME_CAPTURE, DATASET) once its encoder has been launched.
// They follow the encoder through restarts on their own and are stopped
// only when the channel stops; a delivery that fails never touches the
// channel.
func (rt *runtime) startDeliveries() {
	if rt.outs != nil {
		return
	}
	spec := rt.spec()
	outs := spec.Deliveries()
	if len(outs) == 0 {
		return
	}
	ladder, err := spec.Encoder.Resolve()
	if err != nil {
		return
	}
	set, err := output.Start(output.Config{
		FFmpeg:         rt.m.cfg.FFmpeg,
		MediaRoot:      rt.m.cfg.Resolver.MediaRoot,
		Storage:        rt.m.cfg.OutputStorage,
		AudioRendition: encoder.AudioRendition,
		Backoff:        rt.m.cfg.OutputBackoff,
		Now:            rt.m.cfg.Now,
		Logger:         rt.logger,
	}, rt.hub, spec.Name, outs, ladder)
	if err != nil {
		rt.logger.Error(fmt.Sprintf("the outputs of channel %s cannot start", spec.Name), "error", err)
		return
	}
	rt.mu.Lock()
	rt.outs = set
	rt.mu.Unlock()
}

// stopDeliveries ends the delivery outputs, closing archive files.
func (rt *runtime) stopDeliveries() {
	rt.mu.Lock()
	set := rt.outs
	rt.outs = nil
	rt.mu.Unlock()
	if set != nil {
		set.Stop()
	}
}

// deliveryStatus returns the outputs' status; called with rt.mu held.
func (rt *runtime) deliveryStatus() []resource.DeliveryStatus {
	if rt.outs == nil {
		return nil
	}
	return rt.outs.Status()
}
