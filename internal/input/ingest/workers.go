package ingest

import (
	"context"
	"log/slog"
	"time"

	"github.com/sluice-video/sluice/internal/input/live"
	"github.com/sluice-video/sluice/internal/input/pull"
	"github.com/sluice-video/sluice/internal/input/srt"
	"github.com/sluice-video/sluice/internal/input/udp"
	"github.com/sluice-video/sluice/internal/outbound"
)

// ProtocolWorkers are the workers of a server: UDP and RTP ports, SRT
// callers and URL pulls, publishing on reg's hubs. Policy says where SRT
// callers and pulls may connect (nil: anywhere).
func ProtocolWorkers(reg *live.Registry, policy *outbound.Policy, logger *slog.Logger) Workers {
	return Workers{
		UDP: func(ctx context.Context, in, addr string, rtp bool) error {
			r := &udp.Receiver{Input: in, Addr: addr, RTP: rtp, Registry: reg, Logger: logger}
			return r.Run(ctx)
		},
		SRTCaller: func(ctx context.Context, in, address, streamID, passphrase string, latency time.Duration) error {
			return srt.Call(ctx, srt.CallerConfig{Input: in, Address: address, StreamID: streamID, Passphrase: passphrase, Latency: latency, Policy: policy}, reg, logger)
		},
		Pull: func(ctx context.Context, in, rawURL string) error {
			return pull.Run(ctx, reg, in, rawURL, policy, logger)
		},
	}
}
