package output

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/sluice-video/sluice/internal/resource"
)

// fileTimeLayout stamps picture file names in UTC, sortable.
const fileTimeLayout = "20060102T150405.000Z"

// writeFileAtomic writes data under a temporary name and renames it, so a
// reader never sees half a picture.
func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o640); err != nil { //nolint:gosec // media files are read by the media server's users
		return err
	}
	return os.Rename(tmp, path)
}

// captureAttempt writes one picture every interval: <name>-<time>.jpg and
// a copy as <name>-latest.jpg.
func captureAttempt(feed *FrameFeed, o resource.OutputGroup, dir string) attemptFunc {
	return func(ctx context.Context, active func()) error {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return err
		}
		first := true
		return feed.Run(ctx, func(fr Frame) error {
			data, err := EncodeImage(fr, o.Format)
			if err != nil {
				return err
			}
			ext := imageExt(o.Format)
			name := o.Name + "-" + fr.Time.UTC().Format(fileTimeLayout) + ext
			if err := writeFileAtomic(filepath.Join(dir, name), data); err != nil {
				return fmt.Errorf("writing a frame capture: %w", err)
			}
			if err := writeFileAtomic(filepath.Join(dir, o.Name+"-latest"+ext), data); err != nil {
				return fmt.Errorf("writing a frame capture: %w", err)
			}
			if first {
				first = false
				active()
			}
			return nil
		})
	}
}

// DatasetRecord is one line of a dataset's index.jsonl.
type DatasetRecord struct {
	File          string  `json:"file"`
	Seq           uint64  `json:"seq"`
	PTS           float64 `json:"pts"`
	Time          string  `json:"time"`
	Channel       string  `json:"channel"`
	Rendition     string  `json:"rendition"`
	Width         int     `json:"width"`
	Height        int     `json:"height"`
	Fill          bool    `json:"fill,omitempty"`
	Discontinuity bool    `json:"discontinuity,omitempty"`
}

// datasetAttempt writes sampled pictures under frames/ and appends one
// JSON line per picture to index.jsonl, after the picture is in place.
func datasetAttempt(feed *FrameFeed, o resource.OutputGroup, channel, dir string) attemptFunc {
	return func(ctx context.Context, active func()) error {
		frames := filepath.Join(dir, "frames")
		if err := os.MkdirAll(frames, 0o750); err != nil {
			return err
		}
		index, err := os.OpenFile(filepath.Join(dir, "index.jsonl"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o640) //nolint:gosec // path built from validated names
		if err != nil {
			return err
		}
		defer func() { _ = index.Close() }()
		first := true
		return feed.Run(ctx, func(fr Frame) error {
			data, err := EncodeImage(fr, o.Format)
			if err != nil {
				return err
			}
			name := fr.Time.UTC().Format(fileTimeLayout) + "-" + strconv.FormatUint(fr.Seq, 10) + imageExt(o.Format)
			if err := writeFileAtomic(filepath.Join(frames, name), data); err != nil {
				return fmt.Errorf("writing a dataset frame: %w", err)
			}
			line, err := json.Marshal(DatasetRecord{
				File: "frames/" + name, Seq: fr.Seq, PTS: fr.PTS, Time: fr.Time.UTC().Format("2006-01-02T15:04:05.000000Z07:00"),
				Channel: channel, Rendition: fr.Rendition, Width: fr.Width, Height: fr.Height,
				Fill: fr.Fill, Discontinuity: fr.Discontinuity,
			})
			if err != nil {
				return err
			}
			if _, err := index.Write(append(line, '\n')); err != nil {
				return fmt.Errorf("writing the dataset index: %w", err)
			}
			if first {
				first = false
				active()
			}
			return nil
		})
	}
}
