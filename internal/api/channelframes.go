package api

import (
	"context"

	"github.com/sluice-video/sluice/internal/channel"
	"github.com/sluice-video/sluice/internal/output"
)

// ChannelFrames is the FrameOpener of the channel manager's frames
// streams.
func ChannelFrames(open func(ctx context.Context, ref string, req output.FrameRequest) (*channel.FrameStream, error)) FrameOpener {
	return func(ctx context.Context, ref string, req output.FrameRequest) (FrameRun, error) {
		fs, err := open(ctx, ref, req)
		if err != nil {
			return FrameRun{}, err
		}
		return FrameRun{Channel: fs.Channel, Spec: fs.Spec, Protected: fs.Protected, Run: fs.Run}, nil
	}
}
