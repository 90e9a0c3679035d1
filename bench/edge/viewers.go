package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluice-video/sluice/bench/internal/sluice"
)

// liveChannel is the channel the viewers watch.
const liveChannel = "edge-live"

// viewerResult is what the viewers of one proxy saw and cost the origin.
type viewerResult struct {
	Proxy   string  `json:"proxy"`
	Viewers int     `json:"viewers"`
	Seconds float64 `json:"seconds"`
	// Requests and Failed count the viewers' requests and those that did
	// not answer 200.
	Requests int64 `json:"requests"`
	Failed   int64 `json:"failed"`
	// Objects is the number of distinct segments (init included) the
	// viewers fetched; OriginObjectRequests the origin's segment and init
	// requests meanwhile. Their ratio is the origin requests per object.
	Objects              int     `json:"objects"`
	OriginObjectRequests float64 `json:"originObjectRequests"`
	PerObject            float64 `json:"originRequestsPerObject"`
	// OriginPlaylistPerSecond is the origin's playlist requests per second.
	OriginPlaylistPerSecond float64 `json:"originPlaylistRequestsPerSecond"`
	Error                   string  `json:"error,omitempty"`
}

// originCounts reads the server's origin requests for the live channel,
// by kind, from its /metrics.
func originCounts(ctx context.Context, srv *sluice.Server) (map[string]float64, error) {
	code, body, err := srv.Get(ctx, "/metrics")
	if err != nil {
		return nil, fmt.Errorf("GET /metrics: %w", err)
	}
	if code != http.StatusOK {
		return nil, fmt.Errorf("GET /metrics: status %d", code)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(string(body)))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "sluice_origin_requests_total{") || !strings.Contains(line, `channel="`+liveChannel+`"`) {
			continue
		}
		i := strings.Index(line, `kind="`)
		sp := strings.LastIndexByte(line, ' ')
		if i < 0 || sp < 0 {
			continue
		}
		kind := line[i+6:]
		kind = kind[:strings.IndexByte(kind, '"')]
		v, err := strconv.ParseFloat(line[sp+1:], 64)
		if err == nil {
			out[kind] += v
		}
	}
	return out, sc.Err()
}

// watch runs cfg.viewers viewers of the media playlist at playlist (a path)
// through p for cfg.watch and measures what reached the origin.
func watch(ctx context.Context, srv *sluice.Server, p *proxy, playlist string, cfg config) (viewerResult, error) {
	res := viewerResult{Proxy: p.name, Viewers: cfg.viewers}
	before, err := originCounts(ctx, srv)
	if err != nil {
		return res, err
	}
	tr := &http.Transport{MaxIdleConns: cfg.viewers * 2, MaxIdleConnsPerHost: cfg.viewers * 2, IdleConnTimeout: time.Minute}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 20 * time.Second}
	var requests, failed atomic.Int64
	var objects sync.Map
	base, _ := url.Parse(p.url + playlist)
	get := func(ctx context.Context, u string) (string, bool) {
		requests.Add(1)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		resp, err := client.Do(req)
		if err != nil {
			if ctx.Err() == nil {
				failed.Add(1)
			}
			return "", false
		}
		defer func() { _ = resp.Body.Close() }()
		b, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != http.StatusOK {
			if ctx.Err() == nil {
				failed.Add(1)
			}
			return "", false
		}
		return string(b), true
	}
	wctx, cancel := context.WithTimeout(ctx, cfg.watch)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for range cfg.viewers {
		wg.Go(func() {
			// Viewers arrive over the first second, as they would.
			if sleepCtx(wctx, time.Duration(rand.Int64N(int64(time.Second)))) != nil { //nolint:gosec // arrival jitter, not a secret
				return
			}
			var haveInit bool
			last := ""
			for wctx.Err() == nil {
				text, ok := get(wctx, base.String())
				if ok {
					initURI, newest := lastSegment(text)
					if initURI != "" && !haveInit {
						u := base.ResolveReference(&url.URL{Path: initURI}).String()
						if _, ok := get(wctx, u); ok {
							haveInit = true
							objects.Store(u, true)
						}
					}
					if newest != "" && newest != last {
						u := base.ResolveReference(&url.URL{Path: newest}).String()
						if _, ok := get(wctx, u); ok {
							last = newest
							objects.Store(u, true)
						}
					}
				}
				if sleepCtx(wctx, time.Second) != nil {
					return
				}
			}
		})
	}
	wg.Wait()
	res.Seconds = time.Since(start).Seconds()
	// Let the last origin requests be counted.
	_ = sleepCtx(ctx, 500*time.Millisecond)
	after, err := originCounts(ctx, srv)
	if err != nil {
		return res, err
	}
	res.Requests, res.Failed = requests.Load(), failed.Load()
	objects.Range(func(any, any) bool { res.Objects++; return true })
	res.OriginObjectRequests = after["segment"] - before["segment"] + after["init"] - before["init"] + after["part"] - before["part"]
	if res.Objects > 0 {
		res.PerObject = res.OriginObjectRequests / float64(res.Objects)
	}
	res.OriginPlaylistPerSecond = (after["manifest"] - before["manifest"]) / res.Seconds
	return res, nil
}

// lastSegment reads a media playlist's init segment URI and newest segment.
func lastSegment(playlist string) (initURI, newest string) {
	for _, line := range strings.Split(playlist, "\n") {
		line = strings.TrimSpace(line)
		if rest, ok := strings.CutPrefix(line, "#EXT-X-MAP:"); ok {
			if i := strings.Index(rest, `URI="`); i >= 0 {
				u := rest[i+5:]
				if j := strings.IndexByte(u, '"'); j >= 0 {
					initURI = u[:j]
				}
			}
			continue
		}
		if line != "" && !strings.HasPrefix(line, "#") {
			newest = line
		}
	}
	return initURI, newest
}

// mediaPlaylist finds the path of the channel's first HLS media playlist.
func mediaPlaylist(ctx context.Context, srv *sluice.Server) (string, error) {
	master := "/live/" + liveChannel + "/hls/index.m3u8"
	code, body, err := srv.Get(ctx, master)
	if err != nil {
		return "", fmt.Errorf("GET %s: %w", master, err)
	}
	if code != http.StatusOK {
		return "", fmt.Errorf("GET %s: status %d", master, code)
	}
	for _, line := range strings.Split(string(body), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			u, err := (&url.URL{Path: master}).Parse(line)
			if err != nil {
				return "", err
			}
			return u.Path, nil
		}
	}
	return "", fmt.Errorf("%s lists no media playlist", master)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
