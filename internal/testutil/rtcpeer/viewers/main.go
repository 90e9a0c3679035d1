// Command viewers is a test helper: WHEP viewers (rtcpeer.Viewer) in a
// process of their own, which load tests build without the race detector
// so that the viewers cost what a player costs, not what an instrumented
// test process does. It reads commands on stdin, one a line, and answers
// each with one line on stdout:
//
//	join N    start N viewers at once, each offering until it connects;
//	          answers "joined TOTAL" or "error TEXT"
//	counts    answers a JSON array: per viewer, in the order they joined,
//	          its session key, state and counts so far
//	close     ends every session with DELETE; answers "closed"
//
// The end of stdin closes the sessions and ends the process.
//
//	viewers -url http://127.0.0.1:8080/live/ch/rtc/whep
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sluice-video/sluice/internal/testutil/rtcpeer"
)

// Counts are what one viewer received so far.
type Counts struct {
	Session      string `json:"session"`
	State        string `json:"state"`
	VideoFrames  int64  `json:"videoFrames"`
	KeyFrames    int64  `json:"keyFrames"`
	VideoPackets int64  `json:"videoPackets"`
	AudioPackets int64  `json:"audioPackets"`
}

func main() {
	u := flag.String("url", "", "the WHEP endpoint")
	connect := flag.Duration("connect", 90*time.Second, "how long a session may take to connect before the viewer offers again")
	flag.Parse()
	if *u == "" {
		fmt.Fprintln(os.Stderr, "viewers: -url is required")
		os.Exit(2)
	}
	if err := run(context.Background(), os.Stdin, os.Stdout, *u, *connect); err != nil {
		fmt.Fprintln(os.Stderr, "viewers:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, in io.Reader, out io.Writer, u string, connect time.Duration) error {
	client := &http.Client{Timeout: 60 * time.Second}
	var vs []*rtcpeer.Viewer
	defer func() { closeAll(vs, u) }()
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		cmd, arg, _ := strings.Cut(strings.TrimSpace(sc.Text()), " ")
		var answer string
		switch cmd {
		case "join":
			n, err := strconv.Atoi(arg)
			if err != nil || n < 1 {
				answer = "error join takes a count of viewers"
				break
			}
			more, err := join(ctx, client, u, n, connect)
			vs = append(vs, more...)
			if err != nil {
				answer = "error " + strings.ReplaceAll(err.Error(), "\n", "; ")
			} else {
				answer = "joined " + strconv.Itoa(len(vs))
			}
		case "counts":
			cs := make([]Counts, len(vs))
			for i, v := range vs {
				cs[i] = Counts{Session: v.SessionKey(), State: v.State().String(), VideoFrames: v.VideoFrames.Load(),
					KeyFrames: v.KeyFrames.Load(), VideoPackets: v.VideoPackets.Load(), AudioPackets: v.AudioPackets.Load()}
			}
			b, _ := json.Marshal(cs)
			answer = string(b)
		case "close":
			closeAll(vs, u)
			vs = nil
			answer = "closed"
		default:
			answer = "error unknown command " + strconv.Quote(cmd)
		}
		if _, err := fmt.Fprintln(out, answer); err != nil {
			return err
		}
	}
	return sc.Err()
}

// join starts n viewers at once.
func join(ctx context.Context, client *http.Client, u string, n int, connect time.Duration) ([]*rtcpeer.Viewer, error) {
	got := make([]*rtcpeer.Viewer, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { got[i], errs[i] = rtcpeer.Join(ctx, client, u, connect) })
	}
	wg.Wait()
	var out []*rtcpeer.Viewer
	for _, v := range got {
		if v != nil {
			out = append(out, v)
		}
	}
	return out, errors.Join(errs...)
}

// closeAll ends the sessions, all at once.
func closeAll(vs []*rtcpeer.Viewer, u string) {
	var wg sync.WaitGroup
	for _, v := range vs {
		wg.Go(func() { _ = v.Close(context.Background(), u) })
	}
	wg.Wait()
}
