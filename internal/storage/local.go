package storage

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
)

// Local stores objects as files under a root directory. Every access goes
// through an os.Root, so neither a key nor a symbolic link inside the root
// can reach a file outside it.
type Local struct {
	root *os.Root
	dir  string
}

// tempPrefix marks files still being written; List skips them.
const tempPrefix = ".sluice-tmp-"

// OpenLocal opens (creating if needed) the directory dir as a storage.
func OpenLocal(dir string) (*Local, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("creating storage directory: %w", err)
	}
	r, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("opening storage directory: %w", err)
	}
	return &Local{root: r, dir: dir}, nil
}

// NewLocal makes a storage of a folder already opened as an os.Root (one
// the caller confined); dir names it in messages. Close closes root.
func NewLocal(root *os.Root, dir string) *Local {
	return &Local{root: root, dir: dir}
}

// Dir is the root directory.
func (l *Local) Dir() string { return l.dir }

// Close releases the root directory.
func (l *Local) Close() error { return l.root.Close() }

// Put writes r to a temporary file beside key and renames it into place,
// so a reader sees the old object or the whole new one.
func (l *Local) Put(ctx context.Context, key string, r io.Reader, _ int64) (Object, error) {
	if _, err := CleanKey(key); err != nil {
		return Object{}, err
	}
	if dir := path.Dir(key); dir != "." {
		if err := l.root.MkdirAll(dir, 0o750); err != nil {
			return Object{}, fmt.Errorf("storing %s: %w", key, err)
		}
	}
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	tmp := path.Join(path.Dir(key), tempPrefix+hex.EncodeToString(rnd[:]))
	f, err := l.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return Object{}, fmt.Errorf("storing %s: %w", key, err)
	}
	_, err = io.Copy(f, ctxReader{ctx, r})
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = l.root.Rename(tmp, key)
	}
	if err != nil {
		_ = l.root.Remove(tmp)
		return Object{}, fmt.Errorf("storing %s: %w", key, err)
	}
	return l.Stat(ctx, key)
}

// Get opens key.
func (l *Local) Get(_ context.Context, key string) (io.ReadCloser, Object, error) {
	if _, err := CleanKey(key); err != nil {
		return nil, Object{}, err
	}
	f, err := l.root.Open(key)
	if err != nil {
		return nil, Object{}, mapFSError(key, err)
	}
	st, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, Object{}, mapFSError(key, err)
	}
	if !st.Mode().IsRegular() {
		_ = f.Close()
		return nil, Object{}, fmt.Errorf("%s: %w", key, ErrNotFound)
	}
	return f, fileObject(key, st), nil
}

// Stat describes key.
func (l *Local) Stat(_ context.Context, key string) (Object, error) {
	if _, err := CleanKey(key); err != nil {
		return Object{}, err
	}
	st, err := l.root.Stat(key)
	if err != nil {
		return Object{}, mapFSError(key, err)
	}
	if !st.Mode().IsRegular() {
		return Object{}, fmt.Errorf("%s: %w", key, ErrNotFound)
	}
	return fileObject(key, st), nil
}

// List walks the directory that holds prefix and returns the regular files
// whose keys start with it.
func (l *Local) List(ctx context.Context, prefix string) ([]Object, error) {
	if _, err := CleanPrefix(prefix); err != nil {
		return nil, err
	}
	start := "."
	if i := strings.LastIndex(prefix, "/"); i > 0 {
		start = prefix[:i]
	}
	var out []Object
	err := fs.WalkDir(l.root.FS(), start, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && p == start {
				return fs.SkipAll
			}
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if d.IsDir() {
			if p != "." && !strings.HasPrefix(p+"/", prefix) && !strings.HasPrefix(prefix, p+"/") {
				return fs.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || strings.HasPrefix(path.Base(p), tempPrefix) || !strings.HasPrefix(p, prefix) {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil // removed while walking
		}
		out = append(out, fileObject(p, info))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing %q: %w", prefix, err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// Delete removes key and any directories it leaves empty.
func (l *Local) Delete(_ context.Context, key string) error {
	if _, err := CleanKey(key); err != nil {
		return err
	}
	if err := l.root.Remove(key); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("deleting %s: %w", key, err)
	}
	for dir := path.Dir(key); dir != "."; dir = path.Dir(dir) {
		if l.root.Remove(dir) != nil {
			break // not empty
		}
	}
	return nil
}

// fileObject describes a file; its ETag changes whenever size or
// modification time do, which is what trigger deduplication needs.
func fileObject(key string, st fs.FileInfo) Object {
	mt := st.ModTime().UTC()
	return Object{
		Key:  key,
		Size: st.Size(),
		Mod:  mt,
		ETag: strconv.FormatInt(st.Size(), 16) + "-" + strconv.FormatInt(mt.UnixNano(), 16),
	}
}

func mapFSError(key string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%s: %w", key, ErrNotFound)
	}
	return fmt.Errorf("%s: %w", key, err)
}

// ctxReader stops a copy when the context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
