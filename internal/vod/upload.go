package vod

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/storage"
)

// MaxUploadSize bounds the file one upload sends.
const MaxUploadSize = 64 << 30

// UploadIdle is how long an upload waits for its next chunk (or, once
// complete, is remembered) before its staged bytes and its record are
// removed.
const UploadIdle = time.Hour

// Upload is a file sent into a pipeline's input storage in chunks, each
// appended at the offset the server has: a client that lost its
// connection, or whose server restarted, asks for the offset and sends
// the rest. Once every byte has arrived the file is put into the
// pipeline's input storage under Key and, when Submit is set, a job is
// submitted for it.
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

// uploads are the uploads of a node. Each is two files of the data
// directory's upload folder: its bytes as they arrive (<id>.part, written
// chunk by chunk, never held in memory) and its record (<id>.json,
// replaced whole after every chunk). A restarted server finds them there:
// the offset is the length of the bytes. The map holds the uploads this
// process has touched, so that the chunks of one are taken one at a time.
type uploads struct {
	mu   sync.Mutex
	byID map[string]*upload
}

type upload struct {
	Upload
	// mu serialises the chunks of one upload.
	mu sync.Mutex
	// gone is set once the upload is swept: a chunk that waited for mu
	// finds it so.
	gone bool
}

// uploadIDPattern is the form of the IDs StartUpload makes; an ID from a
// URL of another form names no upload (and no file).
var uploadIDPattern = regexp.MustCompile(`^upl-[0-9a-f]{16}$`)

// uploadDir is where uploads stage their bytes and records.
func (s *Service) uploadDir() string { return filepath.Join(s.cfg.DataDir, "vod", "uploads") }

func (s *Service) partPath(id string) string   { return filepath.Join(s.uploadDir(), id+".part") }
func (s *Service) recordPath(id string) string { return filepath.Join(s.uploadDir(), id+".json") }

// StartUpload checks the request and prepares an empty staged file and
// the upload's record.
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
	s.sweepUploads(ctx)
	if err := os.MkdirAll(s.uploadDir(), 0o700); err != nil {
		return Upload{}, fmt.Errorf("making the upload folder: %w", err)
	}
	id := resource.NewID("upl")
	f, err := os.OpenFile(s.partPath(id), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return Upload{}, fmt.Errorf("staging the upload: %w", err)
	}
	_ = f.Close()
	now := s.cfg.Now()
	u := &upload{Upload: Upload{ID: id, Pipeline: req.Pipeline, Key: req.Key, Size: req.Size, Submit: req.Submit, Created: now, Updated: now}}
	if err := s.saveUpload(&u.Upload); err != nil {
		_ = os.Remove(s.partPath(id))
		return Upload{}, err
	}
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
	if u.gone {
		return Upload{}, uploadNotFound(id)
	}
	return u.Upload, nil
}

func uploadNotFound(id string) error {
	return fmt.Errorf("upload %s: %w (an upload is removed after %v without a chunk)", id, resource.ErrNotFound, UploadIdle)
}

// upload finds an upload: in memory, else from its record on disk (one
// an earlier process of this server took).
func (s *Service) upload(id string) (*upload, error) {
	s.up.mu.Lock()
	defer s.up.mu.Unlock()
	if u, ok := s.up.byID[id]; ok {
		return u, nil
	}
	if !uploadIDPattern.MatchString(id) {
		return nil, uploadNotFound(id)
	}
	rec, err := s.loadUpload(id)
	if err != nil {
		return nil, err
	}
	u := &upload{Upload: rec}
	if s.up.byID == nil {
		s.up.byID = map[string]*upload{}
	}
	s.up.byID[id] = u
	return u, nil
}

// loadUpload reads an upload's record; its offset is the length of its
// staged bytes, which are what arrived whatever the record last said.
func (s *Service) loadUpload(id string) (Upload, error) {
	data, err := os.ReadFile(s.recordPath(id))
	if errors.Is(err, os.ErrNotExist) {
		return Upload{}, uploadNotFound(id)
	}
	if err != nil {
		return Upload{}, fmt.Errorf("upload %s: reading its record: %w", id, err)
	}
	var u Upload
	if err := json.Unmarshal(data, &u); err != nil || u.ID != id {
		return Upload{}, fmt.Errorf("upload %s: its record is unreadable: %w", id, errors.Join(err, errors.New("the record is of another upload")))
	}
	if u.Complete {
		return u, nil
	}
	st, err := os.Stat(s.partPath(id))
	switch {
	case errors.Is(err, os.ErrNotExist):
		// The bytes are gone (removed by hand): start them again.
		if err := os.WriteFile(s.partPath(id), nil, 0o600); err != nil {
			return Upload{}, fmt.Errorf("upload %s: staging its bytes again: %w", id, err)
		}
		u.Offset = 0
	case err != nil:
		return Upload{}, fmt.Errorf("upload %s: %w", id, err)
	default:
		u.Offset = min(st.Size(), u.Size)
	}
	return u, nil
}

// saveUpload replaces an upload's record whole: a crash leaves the old
// record or the new one, never half of one.
func (s *Service) saveUpload(u *Upload) error {
	data, err := json.Marshal(u)
	if err != nil {
		return err
	}
	tmp := s.recordPath(u.ID) + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("upload %s: writing its record: %w", u.ID, err)
	}
	if err := os.Rename(tmp, s.recordPath(u.ID)); err != nil {
		return fmt.Errorf("upload %s: writing its record: %w", u.ID, err)
	}
	return nil
}

// AppendUpload appends a chunk sent from offset; the offset must be the
// upload's, or the chunk is refused (ErrConflict) and the client asks
// again. The chunk that completes the file (or an empty one at its end,
// for an upload whose server stopped before it stored the file) puts it
// into the pipeline's input storage and submits the job.
func (s *Service) AppendUpload(ctx context.Context, id string, offset int64, chunk io.Reader) (Upload, error) {
	u, err := s.upload(id)
	if err != nil {
		return Upload{}, err
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	switch {
	case u.gone:
		return Upload{}, uploadNotFound(id)
	case u.Complete:
		return u.Upload, fmt.Errorf("upload %s is complete: %w", id, resource.ErrConflict)
	case offset != u.Offset:
		return u.Upload, fmt.Errorf("upload %s has %d bytes, not %d: send from offset %d: %w", id, u.Offset, offset, u.Offset, resource.ErrConflict)
	}
	f, err := os.OpenFile(s.partPath(id), os.O_WRONLY, 0o600)
	if err != nil {
		return u.Upload, fmt.Errorf("upload %s: opening its staged bytes: %w", id, err)
	}
	// Bytes past the declared size are not taken; a failed write keeps
	// what was written before it. The bytes reach the disk before the
	// answer says they arrived.
	n, werr := writeAt(f, u.Offset, io.LimitReader(chunk, u.Size-u.Offset))
	if serr := f.Sync(); werr == nil {
		werr = serr
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	u.Offset += n
	u.Updated = s.cfg.Now()
	if err := s.saveUpload(&u.Upload); err != nil && werr == nil {
		werr = err
	}
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
// then submits its job; the record says so, and the staged bytes go.
func (s *Service) finishUpload(ctx context.Context, u *upload) error {
	p, err := s.Pipeline(ctx, u.Pipeline)
	if err != nil {
		return err
	}
	in, err := s.storageFor(p.Input)
	if err != nil {
		return fmt.Errorf("upload %s: opening the input of pipeline %s: %w", u.ID, p.Name, err)
	}
	f, err := os.Open(s.partPath(u.ID))
	if err != nil {
		return fmt.Errorf("upload %s: %w", u.ID, err)
	}
	_, err = in.Put(ctx, u.Key, f, u.Size)
	_ = f.Close()
	if err != nil {
		return fmt.Errorf("upload %s: storing %s: %w", u.ID, u.Key, err)
	}
	u.Complete = true
	s.logger.InfoContext(ctx, "upload complete", "upload", u.ID, "pipeline", u.Pipeline, "key", u.Key, "size", u.Size)
	var serr error
	if u.Submit {
		j, err := s.Submit(ctx, SubmitRequest{Pipeline: u.Pipeline, Input: u.Key})
		if err != nil {
			serr = fmt.Errorf("upload %s: the file is stored as %s, but its job was not submitted: %w", u.ID, u.Key, err)
		} else {
			u.Job = j.ID
		}
	}
	if err := s.saveUpload(&u.Upload); err != nil {
		s.logger.WarnContext(ctx, "the record of a complete upload could not be written", "upload", u.ID, "error", err)
	}
	_ = os.Remove(s.partPath(u.ID))
	return serr
}

// sweepUploads removes the uploads that finished or went idle over
// UploadIdle ago, with their staged bytes, and what a crash left in the
// upload folder (bytes without a record, half-written records).
func (s *Service) sweepUploads(ctx context.Context) {
	cutoff := s.cfg.Now().Add(-UploadIdle)
	entries, err := os.ReadDir(s.uploadDir())
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			s.logger.WarnContext(ctx, "the upload folder could not be read", "dir", s.uploadDir(), "error", err)
		}
		return
	}
	s.up.mu.Lock()
	defer s.up.mu.Unlock()
	records := map[string]bool{}
	for _, e := range entries {
		if id, ok := strings.CutSuffix(e.Name(), ".json"); ok && uploadIDPattern.MatchString(id) {
			records[id] = true
		}
	}
	removed := 0
	for _, e := range entries {
		name := e.Name()
		id, _, _ := strings.Cut(name, ".")
		switch {
		case strings.HasSuffix(name, ".json") && records[id]:
			if s.sweepUpload(id, cutoff) {
				removed++
			}
		case strings.HasSuffix(name, ".part") && records[id]:
			// With its record: the record decides.
		default:
			info, err := e.Info()
			if err == nil && info.ModTime().Before(cutoff) {
				_ = os.RemoveAll(filepath.Join(s.uploadDir(), name))
			}
		}
	}
	if removed > 0 {
		s.logger.InfoContext(ctx, fmt.Sprintf("%d uploads idle for over %v removed", removed, UploadIdle), "uploads", removed)
	}
}

// sweepUpload removes one upload when it has been idle since before
// cutoff; s.up.mu is held.
func (s *Service) sweepUpload(id string, cutoff time.Time) bool {
	u, inMemory := s.up.byID[id]
	if inMemory {
		if !u.mu.TryLock() {
			return false // a chunk is arriving
		}
		defer u.mu.Unlock()
	} else {
		rec, err := s.loadUpload(id)
		if err != nil {
			rec.Updated = time.Time{} // unreadable: gone with the idle ones
		}
		u = &upload{Upload: rec}
	}
	if !u.Updated.Before(cutoff) {
		return false
	}
	_ = os.Remove(s.partPath(id))
	_ = os.Remove(s.recordPath(id))
	u.gone = true
	delete(s.up.byID, id)
	return true
}

// sweepEvery removes abandoned uploads every UploadIdle/4 until ctx ends.
func (s *Service) sweepEvery(ctx context.Context) {
	t := time.NewTicker(UploadIdle / 4)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.sweepUploads(ctx)
		}
	}
}
