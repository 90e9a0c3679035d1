package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sluice-video/sluice/bench/internal/procfs"
	"github.com/sluice-video/sluice/bench/internal/report"
	"github.com/sluice-video/sluice/bench/internal/sluice"
)

// blockResult is what the origin cost while many LL-HLS clients waited on
// blocking playlist reloads.
type blockResult struct {
	Clients          int     `json:"clients"`
	Seconds          float64 `json:"seconds"`
	Answers          int64   `json:"answers"`
	AnswersPerSecond float64 `json:"answersPerSecond"`
	Errors           int64   `json:"errors"`
	OriginCores      float64 `json:"originCpuCores"`
	OriginRSSMiB     float64 `json:"originPeakRssMiB"`
}

// blockingClients runs n clients, each asking for the playlist's preload
// hint part again and again with _HLS_msn/_HLS_part, for d, and measures
// the sluice process (not its encoder) meanwhile.
func blockingClients(ctx context.Context, srv *sluice.Server, playlist string, n int, d time.Duration) (blockResult, error) {
	res := blockResult{Clients: n}
	tr := &http.Transport{MaxIdleConnsPerHost: n, MaxConnsPerHost: n, IdleConnTimeout: time.Minute}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	cctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var answers, errs atomic.Int64
	var wg sync.WaitGroup
	pid := srv.Pid()
	before, err := procfs.ReadStat(pid)
	if err != nil {
		return res, err
	}
	start := time.Now()
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			next := ""
			for cctx.Err() == nil {
				req, err := http.NewRequestWithContext(cctx, http.MethodGet, srv.URL+playlist+next, nil)
				if err != nil {
					errs.Add(1)
					return
				}
				resp, err := client.Do(req)
				if err != nil {
					if cctx.Err() == nil {
						errs.Add(1)
						time.Sleep(100 * time.Millisecond)
					}
					continue
				}
				body, _ := io.ReadAll(resp.Body)
				_ = resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					errs.Add(1)
					next = ""
					time.Sleep(100 * time.Millisecond)
					continue
				}
				answers.Add(1)
				next = hintQuery(string(body))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	after, err := procfs.ReadStat(pid)
	if err != nil {
		return res, err
	}
	rss, err := procfs.PeakRSS(pid)
	if err != nil {
		return res, err
	}
	res.Seconds = elapsed.Seconds()
	res.Answers, res.Errors = answers.Load(), errs.Load()
	res.AnswersPerSecond = float64(res.Answers) / res.Seconds
	res.OriginCores = (after.CPU - before.CPU).Seconds() / res.Seconds
	res.OriginRSSMiB = float64(rss) / (1 << 20)
	return res, nil
}

// hintQuery turns the playlist's preload hint (N.P.m4s) into the delivery
// directives that wait for that part.
func hintQuery(playlist string) string {
	_, rest, ok := strings.Cut(playlist, `#EXT-X-PRELOAD-HINT:TYPE=PART,URI="`)
	if !ok {
		return ""
	}
	uri, _, _ := strings.Cut(rest, `"`)
	var msn, part int
	if _, err := fmt.Sscanf(uri, "%d.%d.m4s", &msn, &part); err != nil {
		return ""
	}
	return fmt.Sprintf("?_HLS_msn=%d&_HLS_part=%d", msn, part)
}

func blockingTable(b blockResult, cfg config) report.Table {
	return report.Table{
		Title:  "LL-HLS blocking playlist reloads",
		Header: []string{"clients", "answers/s", "errors", "origin CPU (cores)", "origin peak RSS"},
		Rows: [][]string{{fmt.Sprint(b.Clients), fmt.Sprintf("%.0f", b.AnswersPerSecond), fmt.Sprint(b.Errors),
			fmt.Sprintf("%.2f", b.OriginCores), fmt.Sprintf("%.0f MiB", b.OriginRSSMiB)}},
		Notes: []string{fmt.Sprintf("Each client waits for the next part (_HLS_msn/_HLS_part from the preload hint) for %v; the encoder's CPU is not counted.", cfg.blockFor)},
	}
}
