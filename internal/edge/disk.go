package edge

import (
	"bytes"
	"container/list"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// diskCache is the disk tier: entries the memory tier evicted, one file
// each under dir, evicted least recently used first when their sizes add
// up to more than limit. Files are written aside and renamed into place,
// and every file name is used once, so a reader never sees half a file.
type diskCache struct {
	dir   string
	limit int64
	seq   atomic.Uint64

	mu    sync.Mutex
	used  int64
	items map[string]*list.Element
	order *list.List // of *diskItem, most recently used first
}

type diskItem struct {
	key       string
	file      string
	size      int64
	fetchedAt time.Time
}

// diskMeta is the header of an entry's file.
type diskMeta struct {
	Key        string        `json:"key"`
	Status     int           `json:"status"`
	Header     http.Header   `json:"header"`
	FetchedAt  time.Time     `json:"fetchedAt"`
	InitialAge time.Duration `json:"initialAge"`
	TTL        time.Duration `json:"ttl"`
	Immutable  bool          `json:"immutable,omitempty"`
	NoStale    bool          `json:"noStale,omitempty"`
	StaleLimit time.Duration `json:"staleLimit,omitempty"`
}

const (
	diskMagic   = "SLUICE-EDGE-1\n"
	diskSuffix  = ".edge"
	diskTempPat = ".edge-*.tmp"
	maxMetaLen  = 1 << 20
)

// openDisk prepares dir, removing the files an earlier run left: the tier
// starts empty.
func openDisk(dir string, limit int64) (*diskCache, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("edge: disk tier: %w", err)
	}
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("edge: disk tier: %w", err)
	}
	for _, de := range des {
		n := de.Name()
		if de.Type().IsRegular() && (strings.HasSuffix(n, diskSuffix) || strings.HasPrefix(n, ".edge-") && strings.HasSuffix(n, ".tmp")) {
			if err := os.Remove(filepath.Join(dir, n)); err != nil {
				return nil, fmt.Errorf("edge: disk tier: cleaning: %w", err)
			}
		}
	}
	return &diskCache{dir: dir, limit: limit, items: map[string]*list.Element{}, order: list.New()}, nil
}

// put writes e, a complete entry, unless the same response is already on
// disk.
func (d *diskCache) put(e *entry) error {
	body, ok := e.body.arrived()
	if !ok || e.failure != nil {
		return nil
	}
	d.mu.Lock()
	if el := d.items[e.key]; el != nil {
		if it, _ := el.Value.(*diskItem); it.fetchedAt.Equal(e.fetchedAt) {
			d.order.MoveToFront(el)
			d.mu.Unlock()
			return nil
		}
	}
	d.mu.Unlock()

	meta, err := json.Marshal(diskMeta{
		Key: e.key, Status: e.status, Header: e.header, FetchedAt: e.fetchedAt,
		InitialAge: e.initialAge, TTL: e.fresh.ttl, Immutable: e.fresh.immutable, NoStale: e.fresh.noStale,
		StaleLimit: e.fresh.staleLimit,
	})
	if err != nil {
		return err
	}
	size := int64(len(diskMagic)+4+len(meta)) + int64(len(body))
	if size > d.limit {
		return nil
	}
	name, err := d.write(e.key, meta, body)
	if err != nil {
		return err
	}

	d.mu.Lock()
	var drop []string
	if el := d.items[e.key]; el != nil {
		drop = append(drop, d.removeElement(el))
	}
	d.items[e.key] = d.order.PushFront(&diskItem{key: e.key, file: name, size: size, fetchedAt: e.fetchedAt})
	d.used += size
	for d.used > d.limit {
		drop = append(drop, d.removeElement(d.order.Back()))
	}
	d.mu.Unlock()
	for _, f := range drop {
		_ = os.Remove(filepath.Join(d.dir, f))
	}
	return nil
}

// write stores one file and returns its name.
func (d *diskCache) write(key string, meta, body []byte) (string, error) {
	f, err := os.CreateTemp(d.dir, diskTempPat)
	if err != nil {
		return "", err
	}
	var n [4]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(meta))) //nolint:gosec // meta is a few kilobytes
	var werr error
	for _, part := range [][]byte{[]byte(diskMagic), n[:], meta, body} {
		if werr == nil {
			_, werr = f.Write(part)
		}
	}
	if err := f.Close(); werr == nil {
		werr = err
	}
	sum := sha256.Sum256([]byte(key))
	name := hex.EncodeToString(sum[:12]) + "-" + strconv.FormatUint(d.seq.Add(1), 10) + diskSuffix
	if werr == nil {
		werr = os.Rename(f.Name(), filepath.Join(d.dir, name))
	}
	if werr != nil {
		_ = os.Remove(f.Name())
		return "", werr
	}
	return name, nil
}

// get reads the entry of key, or returns nil when there is none.
func (d *diskCache) get(key string) (*entry, error) {
	d.mu.Lock()
	el := d.items[key]
	if el == nil {
		d.mu.Unlock()
		return nil, nil
	}
	d.order.MoveToFront(el)
	it, _ := el.Value.(*diskItem)
	file, size := it.file, it.size
	d.mu.Unlock()

	data, err := os.ReadFile(filepath.Join(d.dir, file))
	if err == nil && int64(len(data)) != size {
		err = errors.New("file has changed size")
	}
	var e *entry
	if err == nil {
		e, err = decodeDiskEntry(key, data)
	}
	if err != nil {
		d.drop(key, file)
		return nil, fmt.Errorf("edge: disk tier: %s: %w", file, err)
	}
	return e, nil
}

func decodeDiskEntry(key string, data []byte) (*entry, error) {
	if !bytes.HasPrefix(data, []byte(diskMagic)) || len(data) < len(diskMagic)+4 {
		return nil, errors.New("not an edge cache file")
	}
	data = data[len(diskMagic):]
	n := binary.BigEndian.Uint32(data)
	data = data[4:]
	if n > maxMetaLen || int(n) > len(data) {
		return nil, errors.New("bad header length")
	}
	var m diskMeta
	if err := json.Unmarshal(data[:n], &m); err != nil {
		return nil, err
	}
	if m.Key != key {
		return nil, errors.New("file holds another key")
	}
	e := newEntry(key)
	e.status, e.header = m.Status, m.Header
	e.body = completeBuffer(data[n:])
	e.length = int64(len(data) - int(n))
	e.fetchedAt, e.initialAge = m.FetchedAt, m.InitialAge
	e.fresh = freshness{store: true, ttl: m.TTL, immutable: m.Immutable, noStale: m.NoStale, staleLimit: m.StaleLimit}
	e.fromDisk = true
	close(e.ready)
	return e, nil
}

// drop forgets key if it still names file, and removes the file.
func (d *diskCache) drop(key, file string) {
	d.mu.Lock()
	if el := d.items[key]; el != nil {
		if it, _ := el.Value.(*diskItem); it.file == file {
			d.removeElement(el)
		}
	}
	d.mu.Unlock()
	_ = os.Remove(filepath.Join(d.dir, file))
}

// removeElement unlinks an item and returns its file to remove.
func (d *diskCache) removeElement(el *list.Element) string {
	it, _ := el.Value.(*diskItem)
	d.order.Remove(el)
	delete(d.items, it.key)
	d.used -= it.size
	return it.file
}

// usage returns the number of entries and their bytes.
func (d *diskCache) usage() (objects int, bytes int64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.items), d.used
}
