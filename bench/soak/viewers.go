package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// audience is the simulated viewers: HLS viewers that follow a media
// playlist and fetch every new segment, and LL-HLS viewers that wait for
// the next segment with blocking playlist reloads. Both check that the
// media sequence never goes backwards.
type audience struct {
	client   *http.Client
	traffic  *traffic
	requests atomic.Int64
	blocking atomic.Int64
	failures failureLog

	mu        sync.Mutex
	backwards []string
}

func newAudience(tr *traffic, viewers int) *audience {
	t := &http.Transport{MaxIdleConns: viewers + 16, MaxIdleConnsPerHost: viewers + 16, IdleConnTimeout: 30 * time.Second}
	return &audience{client: &http.Client{Transport: t, Timeout: 15 * time.Second}, traffic: tr}
}

// fetch GETs u and records whether it answered 200.
func (a *audience) fetch(ctx context.Context, u string) ([]byte, bool) {
	body, status := a.get(ctx, u)
	return body, status == http.StatusOK
}

// get GETs u, records whether it answered 200 and returns the body and
// the status (0 when no answer came).
func (a *audience) get(ctx context.Context, u string) ([]byte, int) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, 0
	}
	resp, err := a.client.Do(req)
	if ctx.Err() != nil {
		if err == nil {
			_ = resp.Body.Close()
		}
		return nil, 0 // the run ended: not the server's failure
	}
	a.requests.Add(1)
	if err != nil {
		a.traffic.add(time.Now(), false)
		a.failures.note(time.Now(), u, nil, nil, err, nil)
		return nil, 0
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	ok := err == nil && resp.StatusCode == http.StatusOK
	if ctx.Err() == nil {
		a.traffic.add(time.Now(), ok)
		if !ok {
			a.failures.note(time.Now(), u, resp, body, nil, err)
		}
	}
	if err != nil {
		return nil, 0
	}
	return body, resp.StatusCode
}

// noteBackwards records a media sequence that went backwards.
func (a *audience) noteBackwards(playlist string, from, to uint64) {
	a.mu.Lock()
	a.backwards = append(a.backwards, fmt.Sprintf("%s %s: media sequence %d after %d", time.Now().Format("15:04:05"), playlist, to, from))
	a.mu.Unlock()
}

// watch follows the media playlist at u until ctx ends, as a player does:
// reload every target duration, fetch each segment once.
func (a *audience) watch(ctx context.Context, u string, every time.Duration) {
	base, err := url.Parse(u)
	if err != nil {
		return
	}
	// Viewers arrive spread over the first reload interval.
	sleep(ctx, time.Duration(rand.Int64N(int64(every)))) //nolint:gosec // arrival jitter, not a secret
	var high, fetched uint64
	for ctx.Err() == nil {
		body, ok := a.fetch(ctx, u)
		if pl, parsed := parseMediaPlaylist(string(body)); ok && parsed {
			if pl.sequence < high {
				a.noteBackwards(base.Path, high, pl.sequence)
			}
			high = max(high, pl.sequence)
			for i, seg := range pl.segments {
				n := pl.sequence + uint64(i)
				if n <= fetched && fetched != 0 {
					continue
				}
				// A new viewer starts three segments from the live edge;
				// a gap is skipped, as players must.
				if (fetched == 0 && i < len(pl.segments)-3) || pl.gap[i] {
					continue
				}
				ref, err := base.Parse(seg)
				if err != nil {
					continue
				}
				a.fetch(ctx, ref.String())
				fetched = n
			}
		}
		sleep(ctx, every)
	}
}

// watchBlocking follows an LL-HLS media playlist with blocking reloads:
// each request asks for the playlist that holds the next segment. Like an
// LL-HLS player, it asks for the plain playlist only to begin, and when
// the server refuses the request it made (a 4xx: the stream moved on);
// while the server does not answer, it asks again for the same segment.
func (a *audience) watchBlocking(ctx context.Context, u string, every time.Duration) {
	base, err := url.Parse(u)
	if err != nil {
		return
	}
	sleep(ctx, time.Duration(rand.Int64N(int64(every)))) //nolint:gosec // arrival jitter, not a secret
	var high uint64
	next := ""
	for ctx.Err() == nil {
		body, status := a.get(ctx, u+next)
		pl, parsed := parseMediaPlaylist(string(body))
		if status != http.StatusOK || !parsed {
			if status >= 400 && status < 500 {
				next = ""
			}
			sleep(ctx, every)
			continue
		}
		if next != "" {
			a.blocking.Add(1)
		}
		if pl.sequence < high {
			a.noteBackwards(base.Path, high, pl.sequence)
		}
		high = max(high, pl.sequence)
		next = fmt.Sprintf("?_HLS_msn=%d", pl.last()+1)
	}
}

// sleep waits d unless ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
