package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/sluice-video/sluice/internal/testutil/clockcode"
	"image"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// fetched is a segment or part the follower saw appear in the media
// playlist, with the moment it appeared and its bytes.
type fetched struct {
	entry
	listed time.Time
	data   []byte
}

// followResult is what following one HLS stream gave.
type followResult struct {
	items []fetched
	inits map[string][]byte
	// dropped counts entries listed while the fetcher was too far behind.
	dropped int
}

// follow reads the media playlist of manifest (the first variant of a
// multivariant playlist) until ctx ends: with blocking reloads when the
// server offers them, else every 100 ms. Every segment that appears (only
// the parts, for LL-HLS) is fetched at once, on the side, so that the
// moment the next one appears is not delayed.
func follow(ctx context.Context, manifest string) (*followResult, error) {
	client := &http.Client{Timeout: 15 * time.Second}
	media, err := url.Parse(manifest)
	if err != nil {
		return nil, err
	}
	l, _, err := getPlaylist(ctx, client, media.String())
	if err != nil {
		return nil, err
	}
	if l.variant != "" {
		ref, err := url.Parse(l.variant)
		if err != nil {
			return nil, err
		}
		media = media.ResolveReference(ref)
	}
	res := &followResult{inits: map[string][]byte{}}
	var mu sync.Mutex
	todo := make(chan fetched, 256)
	var wg sync.WaitGroup
	wg.Go(func() {
		for f := range todo {
			if f.init != "" {
				mu.Lock()
				_, have := res.inits[f.init]
				mu.Unlock()
				if !have {
					if b, err := getBytes(ctx, client, media, f.init); err == nil {
						mu.Lock()
						res.inits[f.init] = b
						mu.Unlock()
					}
				}
			}
			if b, err := getBytes(ctx, client, media, f.uri); err == nil {
				f.data = b
				mu.Lock()
				res.items = append(res.items, f)
				mu.Unlock()
			}
		}
	})
	defer wg.Wait()
	defer close(todo)
	seen := map[string]bool{}
	first := true
	query := ""
	for ctx.Err() == nil {
		l, at, err := getPlaylist(ctx, client, media.String()+query)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			return res, err
		}
		for _, e := range l.entries {
			if seen[e.uri] {
				continue
			}
			seen[e.uri] = true
			// Entries already listed at the first request appeared at
			// unknown times; in LL-HLS the parts are what appears first.
			if first || (l.hasParts && !e.part) {
				continue
			}
			select {
			case todo <- fetched{entry: e, listed: at}:
			default:
				res.dropped++
			}
		}
		first = false
		if l.lowLatency {
			query = "?_HLS_msn=" + strconv.FormatUint(l.nextMSN, 10) + "&_HLS_part=" + strconv.Itoa(l.nextPart)
			continue
		}
		if err := sleepCtx(ctx, 100*time.Millisecond); err != nil {
			break
		}
	}
	return res, nil
}

// getPlaylist fetches and parses a playlist; at is when its body arrived.
func getPlaylist(ctx context.Context, client *http.Client, u string) (listing, time.Time, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, http.NoBody)
	if err != nil {
		return listing{}, time.Time{}, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return listing{}, time.Time{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	at := time.Now()
	if err != nil {
		return listing{}, at, err
	}
	if resp.StatusCode != http.StatusOK {
		return listing{}, at, fmt.Errorf("%s: HTTP %d", u, resp.StatusCode)
	}
	l, err := parsePlaylist(bytes.NewReader(body))
	return l, at, err
}

func getBytes(ctx context.Context, client *http.Client, base *url.URL, uri string) ([]byte, error) {
	ref, err := url.Parse(uri)
	if err != nil {
		return nil, err
	}
	u := base.ResolveReference(ref).String()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, http.NoBody)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: HTTP %d", u, resp.StatusCode)
	}
	return io.ReadAll(resp.Body)
}

// serverFigures are what the follower's media says, in seconds: how long
// after the capture of its last frame each segment or part was listed,
// and its program date-time minus the capture of its first frame.
type serverFigures struct {
	Available []float64
	PDTError  []float64
	Decoded   int
}

// decodeFollowed reads the clock of the first and last frames of at most
// limit of the fetched items (spread evenly over them) with ffmpeg. A
// part that does not start with a key frame is decoded after the parts it
// depends on, back to the segment's independent one, and gives only its
// listing figure; the date-time check uses independent items.
func decodeFollowed(ctx context.Context, ffmpeg, dir string, f *followResult, limit int) (serverFigures, error) {
	var out serverFigures
	items := f.items
	step := 1
	if len(items) > limit {
		step = (len(items) + limit - 1) / limit
	}
	tmp := filepath.Join(dir, "followed.bin")
	defer os.Remove(tmp)
	for i := 0; i < len(items); i += step {
		it := items[i]
		data, ok := decodable(f, i)
		if !ok {
			continue
		}
		if err := os.WriteFile(tmp, data, 0o600); err != nil {
			return out, err
		}
		firstClock, lastClock, err := frameClocks(ctx, ffmpeg, tmp)
		if err != nil {
			if ctx.Err() != nil {
				return out, ctx.Err()
			}
			continue
		}
		out.Decoded++
		out.Available = append(out.Available, float64(clockcode.Diff(clockcode.Of(it.listed), lastClock))/1000)
		if it.independent && !it.pdt.IsZero() {
			out.PDTError = append(out.PDTError, float64(clockcode.Diff(clockcode.Of(it.pdt), firstClock))/1000)
		}
	}
	return out, nil
}

// decodable returns the bytes to decode item i: its initialisation
// segment, then the parts from the last independent one up to it, which
// must all have been fetched one after the other.
func decodable(f *followResult, i int) ([]byte, bool) {
	items := f.items
	from := i
	for from >= 0 && !items[from].independent {
		from--
	}
	if from < 0 {
		return nil, false
	}
	var data []byte
	if init := items[i].init; init != "" {
		b, ok := f.inits[init]
		if !ok {
			return nil, false
		}
		data = append(data, b...)
	}
	for k := from; k <= i; k++ {
		if k > from && items[k].pdt.Sub(items[k-1].pdt) != items[k-1].dur {
			return nil, false // a part is missing in between
		}
		data = append(data, items[k].data...)
	}
	return data, true
}

// frameClocks decodes a media file and returns the clock code of its
// first and last frames that carry one.
func frameClocks(ctx context.Context, ffmpeg, path string) (first, last uint32, err error) {
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(cctx, ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-i", path,
		"-vf", fmt.Sprintf("scale=%d:%d,format=gray", frameWidth, frameHeight), "-f", "rawvideo", "pipe:1")
	out, err := cmd.Output()
	if err != nil && len(out) == 0 {
		return 0, 0, err
	}
	size := frameWidth * frameHeight
	strip := clockcode.Strip(frameWidth, frameHeight)
	found := false
	for off := 0; off+size <= len(out); off += size {
		img := &image.Gray{Pix: out[off : off+size], Stride: frameWidth, Rect: image.Rect(0, 0, frameWidth, frameHeight)}
		v, ok := clockcode.Read(img, strip)
		if !ok {
			continue
		}
		if !found {
			first, found = v, true
		}
		last = v
	}
	if !found {
		return 0, 0, errors.New("no frame with a clock")
	}
	return first, last, nil
}
