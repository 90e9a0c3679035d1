package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/sluice-video/sluice/internal/output"
	"github.com/sluice-video/sluice/internal/problem"
	"github.com/sluice-video/sluice/internal/resource"
)

// FrameRun is an opened frames stream of a channel.
type FrameRun struct {
	Channel string
	Spec    output.FrameSpec
	// Run calls emit for every picture until ctx ends or emit fails.
	Run func(ctx context.Context, emit func(output.Frame) error) error
}

// FrameOpener opens a channel's frames stream, checking the request
// against the channel (its state and ladder).
type FrameOpener func(ctx context.Context, ref string, req output.FrameRequest) (FrameRun, error)

// errEnough ends a stream that delivered the frames asked for.
var errEnough = errors.New("the requested number of frames was delivered")

// frames streams a running channel's decoded pictures at a fixed size and
// rate: GET /api/v1/channels/{ref}/frames?width=&height=&fps=&format=&transport=&count=.
func (a *API) frames(w http.ResponseWriter, r *http.Request) {
	if a.cfg.Frames == nil {
		problem.Write(w, r, http.StatusNotFound, "this server does not serve frames", 0)
		return
	}
	req, err := output.ParseFrameRequest(r.URL.Query())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	run, err := a.cfg.Frames(r.Context(), r.PathValue("ref"), req)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{}) // a stream lasts as long as the client wants
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
	err = run.Run(r.Context(), func(f output.Frame) error {
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
	if mp != nil && (err == nil || errors.Is(err, errEnough)) {
		_ = mp.Close()
	}
	if err != nil && !errors.Is(err, errEnough) && r.Context().Err() == nil {
		a.logger.Warn(fmt.Sprintf("a frames stream of channel %s ended early", run.Channel), "error", err.Error(), "frames", sent)
	}
}

func imageFormat(f string) string {
	if f == output.FormatPNG {
		return resource.ImagePNG
	}
	return resource.ImageJPEG
}
