// Package storage is the object storage Sluice keeps media in: the local
// filesystem by default and S3-compatible object storage when several nodes
// share the media. Both sit behind one small interface with streaming reads
// and writes, so on-demand transcoding, archives and harvests do not care
// where the bytes live.
package storage

import (
	"context"
	"errors"
	"io"
	"time"
)

// ErrNotFound is returned when a key does not exist.
var ErrNotFound = errors.New("object not found")

// Object describes one stored object.
type Object struct {
	// Key is the slash-separated name of the object inside the storage.
	Key  string    `json:"key"`
	Size int64     `json:"size"`
	ETag string    `json:"etag"`
	Mod  time.Time `json:"modified"`
}

// Storage stores objects by key. Keys are slash-separated relative names
// ("uploads/a.mp4"); CleanKey says which are valid.
type Storage interface {
	// Put streams r into key, replacing any object there; size is the
	// length of r, or -1 when unknown. Readers never see a partial object.
	Put(ctx context.Context, key string, r io.Reader, size int64) (Object, error)
	// Get opens key for reading; the caller closes the reader.
	Get(ctx context.Context, key string) (io.ReadCloser, Object, error)
	// Stat describes key without reading it.
	Stat(ctx context.Context, key string) (Object, error)
	// List returns every object whose key starts with prefix, by key.
	List(ctx context.Context, prefix string) ([]Object, error)
	// Delete removes key; deleting a missing key is not an error.
	Delete(ctx context.Context, key string) error
}

// Writer returns a writer that streams into key: bytes written reach the
// storage as they come, and Close publishes the object (or returns the
// error that stopped the upload). CloseWithError abandons it.
func Writer(ctx context.Context, s Storage, key string) *ObjectWriter {
	pr, pw := io.Pipe()
	w := &ObjectWriter{pw: pw, done: make(chan struct{})}
	go func() {
		defer close(w.done)
		w.obj, w.err = s.Put(ctx, key, pr, -1)
		_ = pr.CloseWithError(w.err)
	}()
	return w
}

// ObjectWriter is a streaming upload started by Writer.
type ObjectWriter struct {
	pw   *io.PipeWriter
	done chan struct{}
	obj  Object
	err  error
}

// Write sends p to the storage.
func (w *ObjectWriter) Write(p []byte) (int, error) { return w.pw.Write(p) }

// Close finishes the upload and waits for the storage to confirm it.
func (w *ObjectWriter) Close() error {
	_ = w.pw.Close()
	<-w.done
	return w.err
}

// CloseWithError abandons the upload; nothing is published.
func (w *ObjectWriter) CloseWithError(err error) {
	if err == nil {
		err = errors.New("upload abandoned")
	}
	_ = w.pw.CloseWithError(err)
	<-w.done
}

// Object returns what Close published.
func (w *ObjectWriter) Object() Object { return w.obj }

// Copy copies the object at src in from into dst in to, streaming.
func Copy(ctx context.Context, from Storage, src string, to Storage, dst string) (Object, error) {
	r, o, err := from.Get(ctx, src)
	if err != nil {
		return Object{}, err
	}
	defer func() { _ = r.Close() }()
	return to.Put(ctx, dst, r, o.Size)
}
