package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/sluice-video/sluice/internal/metrics"
	"github.com/sluice-video/sluice/internal/output"
	"github.com/sluice-video/sluice/internal/problem"
	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/signing"
)

// FrameRun is an opened frames stream of a channel.
type FrameRun struct {
	Channel string
	Spec    output.FrameSpec
	// Protected is true when the channel admits only some viewers (an
	// endpoint requires signed URLs or a key token).
	Protected bool
	// Run calls emit for every picture until ctx ends or emit fails.
	Run func(ctx context.Context, emit func(output.Frame) error) error
}

// FrameOpener opens a channel's frames stream, checking the request
// against the channel (its state and ladder). Nothing may start before Run.
type FrameOpener func(ctx context.Context, ref string, req output.FrameRequest) (FrameRun, error)

// errEnough ends a stream that delivered the frames asked for.
var errEnough = errors.New("the requested number of frames was delivered")

// frames streams a running channel's decoded pictures at a fixed size and
// rate: GET /api/v1/channels/{ref}/frames?width=&height=&fps=&format=&transport=&count=.
// The caller must present what frameAccess asks for, gets a place within
// FrameLimits or a 429, and is cut off when it leaves a frame untaken for
// the write timeout.
func (a *API) frames(w http.ResponseWriter, r *http.Request) {
	if a.cfg.Frames == nil {
		problem.Write(w, r, http.StatusNotFound, "this server does not serve frames", 0)
		return
	}
	q := r.URL.Query()
	for _, p := range signing.Params() {
		q.Del(p) // a signed URL's own parameters
	}
	req, err := output.ParseFrameRequest(q)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	ch, err := a.m.GetChannel(r.Context(), r.PathValue("ref"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	restricted := ch.RestrictsViewers()
	if err := a.frameAccess(r, ch.Name, restricted); err != nil {
		a.refuseFrames(w, r, err)
		return
	}
	release, err := a.slots.acquire(clientOf(r.RemoteAddr))
	if err != nil {
		a.refuseFrames(w, r, err)
		return
	}
	defer release()
	run, err := a.cfg.Frames(r.Context(), r.PathValue("ref"), req)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if run.Protected && !restricted {
		// The channel changed in between: check again against what runs.
		if err := a.frameAccess(r, run.Channel, true); err != nil {
			a.refuseFrames(w, r, err)
			return
		}
	}
	a.streamFrames(w, r, req, run)
}

// refuseFrames counts a refused frames request and answers it.
func (a *API) refuseFrames(w http.ResponseWriter, r *http.Request, err error) {
	if a.cfg.Metrics != nil {
		reason := metrics.FrameRefusedBadCredentials
		var (
			unauth  *unauthorizedError
			limited *limitError
		)
		switch {
		case errors.As(err, &limited):
			reason = limited.reason
		case errors.As(err, &unauth) && !unauth.presented:
			reason = metrics.FrameRefusedNoCredentials
		case errors.As(err, new(*forbiddenError)):
			reason = metrics.FrameRefusedNoCredentials
		}
		a.cfg.Metrics.FrameRefused(reason)
	}
	a.fail(w, r, err)
}

// streamFrames writes an opened stream's frames. Every write has to finish
// within the write timeout, renewed for each frame: a client that stops
// reading is cut off, which ends its place and its share of the decoder.
func (a *API) streamFrames(w http.ResponseWriter, r *http.Request, req output.FrameRequest, run FrameRun) {
	rc := http.NewResponseController(w)
	timeout := a.cfg.FrameLimits.WriteTimeout
	renew := func() { _ = rc.SetWriteDeadline(time.Now().Add(timeout)) }
	defer func() { _ = rc.SetWriteDeadline(time.Time{}) }()
	renew()
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Width", strconv.Itoa(run.Spec.Width))
	h.Set("X-Frame-Height", strconv.Itoa(run.Spec.Height))
	h.Set("X-Frame-Rate", strconv.FormatFloat(run.Spec.FPS, 'f', -1, 64))
	h.Set("X-Frame-Format", req.Format)
	h.Set("X-Frame-Rendition", run.Spec.Rendition)
	write := func(fh output.FrameHeader, payload []byte) error { return output.WriteFrame(w, fh, payload) }
	var mp *output.MultipartFrames
	if req.Transport == output.TransportMultipart {
		var err error
		if mp, err = output.NewMultipartFrames(w); err != nil {
			a.fail(w, r, err)
			return
		}
		h.Set("Content-Type", mp.ContentType())
		write = mp.Write
	} else {
		h.Set("Content-Type", output.FramesContentType)
	}
	w.WriteHeader(http.StatusOK)
	_ = rc.Flush()
	sent := 0
	err := run.Run(r.Context(), func(f output.Frame) error {
		payload := f.RGB
		switch req.Format {
		case output.FormatJPEG, output.FormatPNG:
			var err error
			if payload, err = output.EncodeImage(f, imageFormat(req.Format)); err != nil {
				return err
			}
		}
		fh := output.FrameHeader{
			Seq: f.Seq, PTS: f.PTS, Time: f.Time, Width: f.Width, Height: f.Height,
			Format: req.Format, Rendition: f.Rendition, Channel: run.Channel,
			Fill: f.Fill, Discontinuity: f.Discontinuity,
		}
		renew()
		if err := write(fh, payload); err != nil {
			return err
		}
		if err := rc.Flush(); err != nil {
			return err
		}
		sent++
		if req.Count > 0 && sent >= req.Count {
			return errEnough
		}
		return nil
	})
	switch {
	case err == nil, errors.Is(err, errEnough):
		if mp != nil {
			renew()
			_ = mp.Close()
		}
	case errors.Is(err, os.ErrDeadlineExceeded):
		a.logger.Info(fmt.Sprintf("a frames client of channel %s stopped reading; its stream ended", run.Channel), "client", r.RemoteAddr, "frames", sent)
	case r.Context().Err() == nil:
		a.logger.Warn(fmt.Sprintf("a frames stream of channel %s ended early", run.Channel), "error", err.Error(), "frames", sent)
	}
}

func imageFormat(f string) string {
	if f == output.FormatPNG {
		return resource.ImagePNG
	}
	return resource.ImageJPEG
}
