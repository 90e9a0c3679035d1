package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sluice-video/sluice/bench/internal/procfs"
)

// The faults the soak injects.
const (
	faultEncoderKill      = "encoder-kill"
	faultServerKill       = "server-kill"
	faultServerStop       = "server-stop"
	faultPublisherVanish  = "publisher-vanish"
	faultPublisherFlap    = "publisher-flap"
	faultPublisherGarbage = "publisher-garbage"
	faultPublisherFast    = "publisher-fast"
	faultNetPublisher     = "net-publisher"
	faultNetEdge          = "net-edge"
	faultDiskFull         = "disk-full"
	faultBadAPI           = "bad-api"
)

// faultRecord is one injected fault and how long the channels took to
// come back from it, measured from its start.
type faultRecord struct {
	Kind  string    `json:"kind"`
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// Running is the time from the fault's end (the moment it was undone:
	// the server started again, the network restored) until every channel
	// was RUNNING on its own input again (not on fill) for good, Segment
	// until every channel then listed a new segment (see recover); both -1
	// when that did not happen within the deadline. A fault the channels
	// ride through measures 0.
	Running time.Duration `json:"running"`
	Segment time.Duration `json:"segment"`
	Note    string        `json:"note,omitempty"`
	// Slowest names the channel that listed its next segment last.
	Slowest string `json:"slowest,omitempty"`
	// ServerErrors counts 5xx answers and dropped connections of a burst
	// of bad requests.
	ServerErrors int `json:"serverErrors,omitempty"`
}

// recoverWithin bounds the wait for the channels after a fault.
const recoverWithin = 2 * time.Minute

// inject runs one fault, undoes it, and measures the recovery.
func (r *rig) inject(ctx context.Context, kind string) faultRecord {
	before := r.lastSegments(ctx)
	rec := faultRecord{Kind: kind, Start: time.Now(), Running: -1, Segment: -1}
	note, err := r.fault(ctx, kind, &rec)
	rec.End = time.Now()
	rec.Note = note
	if err != nil {
		rec.Note = "could not inject: " + err.Error()
	}
	r.recover(ctx, &rec, before)
	r.log.Printf("fault %s: %s; running again after %s, next segment after %s (last: %s)", kind, orDash(rec.Note), dur(rec.Running), dur(rec.Segment), orDash(rec.Slowest))
	return rec
}

// fault injects one fault and undoes it; the note says what was done.
func (r *rig) fault(ctx context.Context, kind string, rec *faultRecord) (string, error) {
	if r.cl != nil {
		if note, err, ok := r.cl.fault(ctx, kind); ok {
			return note, err
		}
		if note, err, ok := r.cl.netFault(ctx, kind); ok {
			return note, err
		}
	}
	switch kind {
	case faultEncoderKill:
		var encoders []int
		kids, _ := procfs.Children(r.node.pid())
		for _, pid := range kids {
			if procfs.Name(pid) == "ffmpeg" {
				encoders = append(encoders, pid)
			}
		}
		if len(encoders) == 0 {
			return "", errors.New("the server runs no encoder")
		}
		pid := encoders[rand.IntN(len(encoders))] //nolint:gosec // which encoder dies, not a secret
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			return "", err
		}
		return fmt.Sprintf("SIGKILL to encoder %d of %d", pid, len(encoders)), nil
	case faultServerKill:
		r.node.kill()
		if err := r.node.start(ctx); err != nil {
			return "", err
		}
		return "SIGKILL to the server, then started again", nil
	case faultServerStop:
		d := r.pause()
		r.node.pause(ctx, d)
		return fmt.Sprintf("SIGSTOP to the server for %s", d), nil
	case faultPublisherVanish:
		r.rtmpPub.stop()
		r.srtPub.stop()
		sleep(ctx, 5*time.Second)
		return "both publishers killed, back after 5s", errors.Join(r.rtmpPub.start(1), r.srtPub.start(1))
	case faultPublisherFlap:
		n := 0
		for end := time.Now().Add(30 * time.Second); time.Now().Before(end) && ctx.Err() == nil; n++ {
			if err := r.rtmpPub.start(1); err != nil {
				return "", err
			}
			sleep(ctx, 1200*time.Millisecond)
		}
		return fmt.Sprintf("the RTMP publisher reconnected %d times in 30s", n), nil
	case faultPublisherGarbage:
		sent, err := garbage(r.node.rtmp, r.node.srt, 40, 5*time.Second)
		return fmt.Sprintf("%d bytes of garbage from 127.0.0.2 to the RTMP and SRT ports", sent), err
	case faultPublisherFast:
		if err := r.rtmpPub.start(2); err != nil {
			return "", err
		}
		sleep(ctx, 20*time.Second)
		return "the RTMP publisher sent at twice real time for 20s", r.rtmpPub.start(1)
	case faultNetPublisher:
		if err := r.rtmpProxy.setDelay(300 * time.Millisecond); err != nil {
			return "", err
		}
		sleep(ctx, 10*time.Second)
		if err := r.rtmpProxy.setDelay(0); err != nil {
			return "", err
		}
		r.rtmpProxy.cut(5 * time.Second)
		sleep(ctx, 5*time.Second)
		// ffmpeg does not reconnect by itself: its operator's loop would.
		return "300 ms added to every chunk from the RTMP publisher for 10s, then its connection cut and refused for 5s", r.rtmpPub.start(1)
	case faultNetUDP:
		return netUDP(ctx, []*udpRelay{r.srtRelay, r.rtpRelay}, "the SRT and RTP publishers and the server"), nil
	case faultNetEdge:
		r.edgeProxy.cut(10 * time.Second)
		sleep(ctx, 10*time.Second)
		return "the edge's connections to the origin cut and refused for 10s", nil
	case faultDiskFull:
		if !r.tmpfs {
			return "skipped: needs root to mount a small file system for the data directory", nil
		}
		filled, err := fillDisk(filepath.Join(r.ws.DataDir, "filler"))
		sleep(ctx, 15*time.Second)
		_ = os.Remove(filepath.Join(r.ws.DataDir, "filler"))
		return fmt.Sprintf("the data directory's file system filled (%d MiB more) for 15s", filled>>20), err
	case faultBadAPI:
		n, bad, examples := r.badRequests(ctx, r.cfg.badAPI)
		rec.ServerErrors = bad
		note := fmt.Sprintf("%d bad API requests and stack files, %d answered 5xx or dropped", n, bad)
		if len(examples) > 0 {
			note += " (" + strings.Join(examples, "; ") + ")"
		}
		return note, nil
	}
	return "", fmt.Errorf("unknown fault %q", kind)
}

// pause is how long the server stays stopped: longer than the
// publishers' and the edge's patience, shorter than the fault interval.
func (r *rig) pause() time.Duration {
	return min(20*time.Second, max(5*time.Second, r.cfg.faultEvery/2))
}

// fillDisk writes path until the file system is full.
func fillDisk(path string) (int64, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	chunk := make([]byte, 4<<20)
	var n int64
	for {
		w, err := f.Write(chunk)
		n += int64(w)
		if err != nil {
			if errors.Is(err, syscall.ENOSPC) {
				return n, nil
			}
			return n, err
		}
	}
}

// badRequest is one malformed request of the burst.
type badRequest struct {
	method, path, ctype string
	body                []byte
}

func badRequests() []badRequest {
	huge := bytes.Repeat([]byte("x"), 2<<20)
	return []badRequest{
		{"POST", "/api/v1/channels", "application/json", []byte(`{`)},
		{"POST", "/api/v1/channels", "application/json", []byte(`{"name": 5}`)},
		{"POST", "/api/v1/channels", "", []byte(`{"name":"x"}`)},
		{"POST", "/api/v1/channels", "application/json", []byte(`{"name":"../etc","inputAttachments":[{"input":"nope"}]}`)},
		{"POST", "/api/v1/inputs", "application/json", []byte(`{"name":"bad","type":"URL_PULL","url":"file:///etc/passwd"}`)},
		{"POST", "/api/v1/jobs", "application/json", []byte(`{"input":"../../etc/passwd","presets":["test-mp4"]}`)},
		{"POST", "/api/v1/channels", "application/json", huge},
		{"PUT", "/api/v1/stacks/bad", "application/yaml", []byte("name: bad\nchannels: [{name: \x00}]\n\t- :")},
		{"PUT", "/api/v1/stacks/bad", "application/yaml", []byte("name: bad\nchannels:\n  - name: c\n    inputAttachments: [{input: missing}]\n")},
		{"PUT", "/api/v1/stacks/bad", "application/yaml", []byte("a: &a [*a, *a, *a, *a]\n")},
		{"GET", "/live/..%2f..%2fetc/passwd", "", nil},
		{"GET", "/api/v1/channels/%00", "", nil},
		{"GET", "/api/v1/channels?limit=-1", "", nil},
		{"DELETE", "/api/v1/channels/no-such-channel", "application/json", nil},
		{"GET", "/live/soak-pattern/hls/low/999999999999.m4s", "", nil},
		{"GET", "/live/soak-pattern/ll/low/index.m3u8?_HLS_msn=99999999999&_HLS_part=0", "", nil},
	}
}

// badRequests sends n malformed requests from 8 clients at once and
// returns how many were sent and how many the server answered with a 5xx
// or by dropping the connection, with the first few of those.
func (r *rig) badRequests(ctx context.Context, n int) (sent, serverErrors int, examples []string) {
	reqs := badRequests()
	base := r.api().URL
	client := &http.Client{Timeout: 10 * time.Second}
	var mu sync.Mutex
	var wg sync.WaitGroup
	work := make(chan badRequest)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for br := range work {
				var body io.Reader
				if br.body != nil {
					body = bytes.NewReader(br.body)
				}
				req, err := http.NewRequestWithContext(ctx, br.method, base+br.path, body)
				if err != nil {
					continue
				}
				if br.ctype != "" {
					req.Header.Set("Content-Type", br.ctype)
				}
				resp, err := client.Do(req)
				failed, what := err != nil, ""
				if err != nil {
					what = err.Error()
				} else {
					_, _ = io.Copy(io.Discard, resp.Body)
					_ = resp.Body.Close()
					failed, what = resp.StatusCode >= 500, resp.Status
				}
				mu.Lock()
				sent++
				if failed && ctx.Err() == nil {
					serverErrors++
					if len(examples) < 3 {
						examples = append(examples, br.method+" "+br.path+": "+what)
					}
				}
				mu.Unlock()
			}
		}()
	}
	for i := 0; i < n && ctx.Err() == nil; i++ {
		work <- reqs[i%len(reqs)]
	}
	close(work)
	wg.Wait()
	return sent, serverErrors, examples
}

// lastSegments reads the last segment number of each channel's HLS
// playlist from the origin (0 when it does not answer).
func (r *rig) lastSegments(ctx context.Context) map[string]uint64 {
	out := map[string]uint64{}
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	for _, ch := range r.channels {
		code, body, err := r.api().Get(rctx, hlsPlaylist(ch))
		if pl, ok := parseMediaPlaylist(string(body)); err == nil && code == 200 && ok {
			out[ch] = pl.last()
		}
	}
	return out
}

// allAdvanced reports whether every channel lists a segment newer than
// before.
func (r *rig) allAdvanced(ctx context.Context, before map[string]uint64) bool {
	return len(r.notAdvanced(ctx, before)) == 0
}

// notAdvanced lists the channels that list no segment newer than before.
func (r *rig) notAdvanced(ctx context.Context, before map[string]uint64) []string {
	now := r.lastSegments(ctx)
	var out []string
	for _, ch := range r.channels {
		if now[ch] <= before[ch] {
			out = append(out, fmt.Sprintf("%s at %d, was %d", ch, now[ch], before[ch]))
		}
	}
	return out
}

func dur(d time.Duration) string {
	if d < 0 {
		return "never"
	}
	return d.Round(100 * time.Millisecond).String()
}

func orDash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "-"
	}
	return s
}
