package vod

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/storage"
)

// MaxUploadSize bounds the file one upload sends.
const MaxUploadSize = 64 << 30

// uploadIdle is how long an unfinished upload waits for its next chunk
// before its staged bytes are removed.
const uploadIdle = time.Hour

// Upload is a file sent into a pipeline's input storage in chunks, each
// appended at the offset the server has: a client that lost its
// connection asks for the offset and sends the rest. Once every byte has
// arrived the file is put into the pipeline's input storage under Key
// and, when Submit is set, a job is submitted for it.
type Upload struct {
	ID       string `json:"id"`
	Pipeline string `json:"pipeline"`
	Key      string `json:"key"`
	Size     int64  `json:"size"`
	// Offset is how many bytes have arrived.
	Offset int64 `json:"offset"`
	Submit bool  `json:"submit"`
	// Complete is true once the file is in the pipeline's input storage.
	Complete bool `json:"complete"`
	// Job is the job submitted for the file, when Submit.
	Job     string    `json:"job,omitempty"`
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
}

// UploadRequest starts an upload.
type UploadRequest struct {
	Pipeline string `json:"pipeline,omitempty"`
	Key      string `json:"key"`
	Size     int64  `json:"size"`
	Submit   bool   `json:"submit,omitempty"`
}

// uploads are the unfinished and recently finished uploads of a node,
// each staged in a file of the data directory. They do not outlive the
// process: a restarted server has none, and the client starts again.
type uploads struct {
	mu   sync.Mutex
	byID map[string]*upload
}

type upload struct {
	Upload
	// mu serialises the chunks of one upload.
	mu   sync.Mutex
	path string
}

// uploadDir is where uploads stage their bytes.
func (s *Service) uploadDir() string { return filepath.Join(s.cfg.DataDir, "vod", "uploads") }

// StartUpload checks the request and prepares an empty staged file.
func (s *Service) StartUpload(ctx context.Context, req UploadRequest) (Upload, error) {
	if req.Pipeline == "" {
		req.Pipeline = DefaultPipeline
	}
	var errs resource.FieldErrors
	if _, err := storage.CleanKey(req.Key); err != nil {
		errs.Add("key", err.Error())
	}
	if req.Size <= 0 || req.Size > MaxUploadSize {
		errs.Add("size", fmt.Sprintf("must be from 1 to %d bytes", int64(MaxUploadSize)))
	}
	if _, err := s.Pipeline(ctx, req.Pipeline); err != nil {
		if !errors.Is(err, resource.ErrNotFound) {
			return Upload{}, err
		}
		errs.Add("pipeline", fmt.Sprintf("there is no pipeline %q", req.Pipeline))
	}
	if err := errs.Err(); err != nil {
		return Upload{}, err
	}
	s.sweepUploads()
	if err := os.MkdirAll(s.uploadDir(), 0o700); err != nil {
		return Upload{}, fmt.Errorf("making the upload folder: %w", err)
	}
	id := resource.NewID("upl")
	path := filepath.Join(s.uploadDir(), id)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return Upload{}, fmt.Errorf("staging the upload: %w", err)
	}
	_ = f.Close()
	now := s.cfg.Now()
	u := &upload{Upload: Upload{ID: id, Pipeline: req.Pipeline, Key: req.Key, Size: req.Size, Submit: req.Submit, Created: now, Updated: now}, path: path}
	s.up.mu.Lock()
	if s.up.byID == nil {
		s.up.byID = map[string]*upload{}
	}
	s.up.byID[id] = u
	s.up.mu.Unlock()
	s.logger.InfoContext(ctx, "upload started", "upload", id, "pipeline", req.Pipeline, "key", req.Key, "size", req.Size)
	return u.Upload, nil
}

// GetUpload tells how far an upload is.
func (s *Service) GetUpload(_ context.Context, id string) (Upload, error) {
	u, err := s.upload(id)
	if err != nil {
		return Upload{}, err
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.Upload, nil
}

func (s *Service) upload(id string) (*upload, error) {
	s.up.mu.Lock()
	defer s.up.mu.Unlock()
	u, ok := s.up.byID[id]
	if !ok {
		return nil, fmt.Errorf("upload %s: %w (unfinished uploads end when the server restarts or after an hour without a chunk)", id, resource.ErrNotFound)
	}
	return u, nil
}

// AppendUpload appends a chunk sent from offset; the offset must be the
// upload's, or the chunk is refused (ErrConflict) and the client asks
// again. The chunk that completes the file puts it into the pipeline's
// input storage and submits the job.
func (s *Service) AppendUpload(ctx context.Context, id string, offset int64, chunk io.Reader) (Upload, error) {
	u, err := s.upload(id)
	if err != nil {
		return Upload{}, err
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	switch {
	case u.Complete:
		return u.Upload, fmt.Errorf("upload %s is complete: %w", id, resource.ErrConflict)
	case offset != u.Offset:
		return u.Upload, fmt.Errorf("upload %s has %d bytes, not %d: send from offset %d: %w", id, u.Offset, offset, u.Offset, resource.ErrConflict)
	}
	f, err := os.OpenFile(u.path, os.O_WRONLY, 0o600)
	if err != nil {
		return u.Upload, fmt.Errorf("upload %s: opening its staged bytes: %w", id, err)
	}
	// Bytes past the declared size are not taken; a failed write keeps
	// what was written before it.
	n, werr := writeAt(f, u.Offset, io.LimitReader(chunk, u.Size-u.Offset))
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	u.Offset += n
	u.Updated = s.cfg.Now()
	if werr != nil {
		return u.Upload, fmt.Errorf("upload %s: the chunk stopped at offset %d: %w", id, u.Offset, werr)
	}
	if u.Offset < u.Size {
		return u.Upload, nil
	}
	if err := s.finishUpload(ctx, u); err != nil {
		return u.Upload, err
	}
	return u.Upload, nil
}

// writeAt copies r into f from offset, and counts what it wrote. The file
// is cut at the end of what was written, so a chunk that failed half way
// leaves the upload at the offset it reports.
func writeAt(f *os.File, offset int64, r io.Reader) (int64, error) {
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return 0, err
	}
	n, err := io.Copy(f, r)
	if terr := f.Truncate(offset + n); err == nil {
		err = terr
	}
	return n, err
}

// finishUpload puts the staged file into the pipeline's input storage,
// then submits its job.
func (s *Service) finishUpload(ctx context.Context, u *upload) error {
	p, err := s.Pipeline(ctx, u.Pipeline)
	if err != nil {
		return err
	}
	in, err := s.storageFor(p.Input)
	if err != nil {
		return fmt.Errorf("upload %s: opening the input of pipeline %s: %w", u.ID, p.Name, err)
	}
	f, err := os.Open(u.path)
	if err != nil {
		return fmt.Errorf("upload %s: %w", u.ID, err)
	}
	_, err = in.Put(ctx, u.Key, f, u.Size)
	_ = f.Close()
	if err != nil {
		return fmt.Errorf("upload %s: storing %s: %w", u.ID, u.Key, err)
	}
	u.Complete = true
	_ = os.Remove(u.path)
	s.logger.InfoContext(ctx, "upload complete", "upload", u.ID, "pipeline", u.Pipeline, "key", u.Key, "size", u.Size)
	if !u.Submit {
		return nil
	}
	j, err := s.Submit(ctx, SubmitRequest{Pipeline: u.Pipeline, Input: u.Key})
	if err != nil {
		return fmt.Errorf("upload %s: the file is stored as %s, but its job was not submitted: %w", u.ID, u.Key, err)
	}
	u.Job = j.ID
	return nil
}

// sweepUploads forgets uploads that finished or went idle over an hour
// ago, and removes their staged bytes.
func (s *Service) sweepUploads() {
	s.up.mu.Lock()
	defer s.up.mu.Unlock()
	cutoff := s.cfg.Now().Add(-uploadIdle)
	for id, u := range s.up.byID {
		if !u.mu.TryLock() {
			continue // a chunk is arriving
		}
		if u.Updated.Before(cutoff) {
			_ = os.Remove(u.path)
			delete(s.up.byID, id)
		}
		u.mu.Unlock()
	}
}
