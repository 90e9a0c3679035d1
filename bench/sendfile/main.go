// Command sendfile measures where sending a body with sendfile(2) from the
// spool starts to pay against writing it from memory, the way the origin
// and the edge answer: one net/http server on loopback answers the same
// bytes both ways, through internal/spool, and wrk loads each in turn, for
// several body sizes. It prints requests per second and the ratio; the
// spool's threshold (spool.DefaultMinBytes) follows these figures.
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-video/sluice/bench/internal/harness"
	"github.com/sluice-video/sluice/bench/internal/report"
	"github.com/sluice-video/sluice/bench/internal/wrk"
	"github.com/sluice-video/sluice/internal/spool"
)

func main() { harness.Main("sendfile", parseFlags, run) }

type config struct {
	sizes       []int // KiB
	wrk         wrk.Options
	rounds      int
	keepResults string
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	c := config{}
	fs := flag.NewFlagSet("sendfile", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		_, _ = fmt.Fprint(stderr, `Usage: go run ./bench/sendfile [flags]

Serves bodies of several sizes from one net/http server on loopback, once
written from memory and once sent from the spool with sendfile(2), and
loads each with wrk in interleaved rounds. Prints the median requests per
second and the sendfile / memory ratio per size.

Flags:
`)
		fs.PrintDefaults()
	}
	sizes := fs.String("sizes", "32,96,256,1024", "body sizes in KiB, comma-separated")
	fs.StringVar(&c.wrk.Binary, "wrk", "wrk", "wrk binary")
	fs.IntVar(&c.wrk.Threads, "threads", 2, "wrk threads")
	fs.IntVar(&c.wrk.Connections, "connections", 64, "wrk connections")
	fs.DurationVar(&c.wrk.Duration, "duration", 5*time.Second, "length of one wrk round")
	fs.IntVar(&c.rounds, "rounds", 3, "rounds per size and way")
	fs.StringVar(&c.keepResults, "json", "", "also write the results as JSON to this file")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	for _, s := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n <= 0 {
			return c, fmt.Errorf("--sizes: %q is not a positive number of KiB", s)
		}
		c.sizes = append(c.sizes, n)
	}
	if c.rounds < 1 || c.wrk.Duration < time.Second {
		return c, errors.New("--rounds must be positive and --duration at least 1s")
	}
	return c, nil
}

// result is one size's figures.
type result struct {
	KiB      int     `json:"kib"`
	Memory   float64 `json:"memoryRequestsPerSecond"`
	Sendfile float64 `json:"sendfileRequestsPerSecond"`
	Ratio    float64 `json:"sendfileOverMemory"`
}

func run(ctx context.Context, cfg config) int {
	dir, err := os.MkdirTemp("", "sluice-bench-sendfile-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = os.RemoveAll(dir) }()
	sp, err := spool.New(dir, 1<<30, slog.New(slog.DiscardHandler))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	sp.MinBytes = 1
	mux := http.NewServeMux()
	for _, kib := range cfg.sizes {
		body := make([]byte, kib<<10)
		_, _ = rand.Read(body)
		key := strconv.Itoa(kib)
		write := func(w http.ResponseWriter) {
			h := w.Header()
			h["Content-Type"] = []string{"video/mp4"}
			h["Content-Length"] = []string{strconv.Itoa(len(body))}
			w.WriteHeader(http.StatusOK)
		}
		mux.HandleFunc("GET /memory/"+key, func(w http.ResponseWriter, _ *http.Request) {
			write(w)
			_, _ = w.Write(body)
		})
		mux.HandleFunc("GET /sendfile/"+key, func(w http.ResponseWriter, _ *http.Request) {
			f := sp.Open(key, body)
			write(w)
			if f == nil {
				_, _ = w.Write(body)
				return
			}
			spool.Send(w, f, int64(len(body)))
		})
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer func() { _ = srv.Close() }()
	base := "http://" + ln.Addr().String()
	log := report.NewLog(os.Stderr)

	var results []result
	for _, kib := range cfg.sizes {
		var mem, sf []float64
		for round := 1; round <= cfg.rounds; round++ {
			for _, way := range []string{"memory", "sendfile"} {
				log.Printf("%d KiB, %s, round %d/%d", kib, way, round, cfg.rounds)
				r, err := wrk.Run(ctx, cfg.wrk, base+"/"+way+"/"+strconv.Itoa(kib))
				if err != nil {
					fmt.Fprintln(os.Stderr, err)
					return 1
				}
				if way == "memory" {
					mem = append(mem, r.RequestsPerSecond)
				} else {
					sf = append(sf, r.RequestsPerSecond)
				}
			}
		}
		res := result{KiB: kib, Memory: report.Median(mem), Sendfile: report.Median(sf)}
		if res.Memory > 0 {
			res.Ratio = res.Sendfile / res.Memory
		}
		results = append(results, res)
	}
	t := report.Table{
		Title:  fmt.Sprintf("One net/http server on loopback, wrk -t%d -c%d, median of %d rounds of %v", cfg.wrk.Threads, cfg.wrk.Connections, cfg.rounds, cfg.wrk.Duration),
		Header: []string{"body", "memory req/s", "sendfile req/s", "sendfile / memory"},
		Notes:  []string{fmt.Sprintf("The spool sends bodies of %d KiB or more with sendfile (spool.DefaultMinBytes).", spool.DefaultMinBytes>>10)},
	}
	for _, r := range results {
		t.Rows = append(t.Rows, []string{strconv.Itoa(r.KiB) + " KiB", fmt.Sprintf("%.0f", r.Memory), fmt.Sprintf("%.0f", r.Sendfile), fmt.Sprintf("%.2f", r.Ratio)})
	}
	_ = t.Write(os.Stdout)
	if cfg.keepResults != "" {
		if err := report.WriteJSON(cfg.keepResults, results); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	return 0
}
