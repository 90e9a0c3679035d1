package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/api"
	"github.com/sluice-video/sluice/internal/output"
	"github.com/sluice-video/sluice/internal/problem"
	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/signing"
	"github.com/sluice-video/sluice/internal/testutil/media"
	"github.com/sluice-video/sluice/internal/testutil/poll"
)

// The frames tests run a whole server on loopback with real encoders and
// decoders, and look at it from the outside: HTTP answers, /metrics, and
// the decoder processes it runs.

// waitLong bounds every wait; the machine is shared and slow.
const waitLong = 2 * time.Minute

// frameServer is a running server and its address.
type frameServer struct {
	s    *Server
	base string
	// token is what the test's own API calls present.
	token string
}

// startFrameServer runs a server with cfg (its data directory, binaries
// and listener filled in) behind a real HTTP listener on 127.0.0.1.
func startFrameServer(t *testing.T, cfg Config) *frameServer {
	t.Helper()
	cfg.Data = t.TempDir()
	cfg.FFmpeg, cfg.FFprobe = media.Tool(t, "ffmpeg"), media.Tool(t, "ffprobe")
	s, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
	})
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitLong)
		defer cancel()
		s.Close(ctx)
	})
	return &frameServer{s: s, base: srv.URL, token: cfg.Token}
}

// do sends an API request with the test's token and returns the answer.
func (fs *frameServer) do(t *testing.T, method, path, body string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, fs.base+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if fs.token != "" {
		req.Header.Set("Authorization", "Bearer "+fs.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, data
}

// runChannel creates a small test pattern channel with the outputs given
// (JSON, "" for the defaults), starts it and waits until it runs.
func (fs *frameServer) runChannel(t *testing.T, name, outputs string) {
	t.Helper()
	in := fmt.Sprintf(`{"name":%q,"type":"TEST_PATTERN","testPattern":{"width":320,"height":180,"fps":15}}`, name+"-in")
	if code, data := fs.do(t, http.MethodPost, "/api/v1/inputs", in); code != http.StatusCreated {
		t.Fatalf("create input: %d %s", code, data)
	}
	ch := fmt.Sprintf(`{"name":%q,"autoStart":true,"inputAttachments":[{"input":%q}],`+
		`"encoder":{"video":[{"name":"small","width":320,"height":180,"bitrate":"300k","fps":15,"profile":"baseline","preset":"ultrafast"}],"segmentSeconds":1}`,
		name, name+"-in")
	if outputs != "" {
		ch += `,"outputs":` + outputs
	}
	ch += "}"
	if code, data := fs.do(t, http.MethodPost, "/api/v1/channels", ch); code != http.StatusCreated {
		t.Fatalf("create channel: %d %s", code, data)
	}
	var state resource.Channel
	poll.UntilTrue(t, "channel "+name+" running", waitLong, func() bool {
		_, data := fs.do(t, http.MethodGet, "/api/v1/channels/"+name, "")
		return json.Unmarshal(data, &state) == nil && state.State == resource.StateRunning
	})
}

// metric reads one series of /metrics; 0 when it is not exported.
func (fs *frameServer) metric(t *testing.T, series string) float64 {
	t.Helper()
	_, data := fs.do(t, http.MethodGet, "/metrics", "")
	for line := range strings.SplitSeq(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				t.Fatalf("/metrics: %q", line)
			}
			return f
		}
	}
	return 0
}

// waitStreams waits until the channel has the frames streams and shared
// decoders given, by /metrics, and runs that many decoder processes.
func (fs *frameServer) waitStreams(t *testing.T, channel string, streams, decoders int) {
	t.Helper()
	poll.Until(t, fmt.Sprintf("%d frames streams on %d decoders of channel %s", streams, decoders, channel), waitLong, func() (bool, string) {
		s := fs.metric(t, fmt.Sprintf(`sluice_frame_streams{channel=%q}`, channel))
		d := fs.metric(t, fmt.Sprintf(`sluice_frame_decoders{channel=%q}`, channel))
		p := decoderProcesses(t)
		return s == float64(streams) && d == float64(decoders) && p == decoders,
			fmt.Sprintf("%v streams, %v decoders, %d decoder processes", s, d, p)
	})
}

// decoderProcesses counts this process's children that run ffmpeg as a
// frame decoder (the argv of output.DecodeArgs).
func decoderProcesses(t *testing.T) int {
	t.Helper()
	tail := []byte("\x00-f\x00rawvideo\x00pipe:1\x00")
	self := strconv.Itoa(os.Getpid())
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	n := 0
	for _, stat := range stats {
		b, err := os.ReadFile(stat)
		if err != nil {
			continue // gone meanwhile
		}
		// "pid (comm) state ppid ...": comm may hold spaces, not ")".
		fields := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		if len(fields) < 2 || fields[1] != self {
			continue
		}
		argv, err := os.ReadFile(filepath.Join(filepath.Dir(stat), "cmdline"))
		if err == nil && bytes.HasSuffix(argv, tail) {
			n++
		}
	}
	return n
}

// clientFrom is an HTTP client whose connections come from the loopback
// address ip, so the server sees distinct client addresses.
func clientFrom(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
}

// openFrames starts a frames request; a 200 answer is returned with its
// first frame read, anything else as a problem.
func openFrames(t *testing.T, c *http.Client, url string, header http.Header) (*http.Response, *output.FrameReader, problem.Details) {
	t.Helper()
	resp, fr, _, p := openFramesFirst(t, c, url, header)
	return resp, fr, p
}

// openFramesFirst is openFrames that also returns the first frame's header.
func openFramesFirst(t *testing.T, c *http.Client, url string, header http.Header) (*http.Response, *output.FrameReader, output.FrameHeader, problem.Details) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, http.NoBody)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		var p problem.Details
		if ct := resp.Header.Get("Content-Type"); ct != problem.ContentType || json.Unmarshal(data, &p) != nil || p.Status != resp.StatusCode {
			t.Fatalf("a refusal that is no problem document: %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), data)
		}
		return resp, nil, output.FrameHeader{}, p
	}
	t.Cleanup(func() { _ = resp.Body.Close() })
	fr := output.NewFrameReader(resp.Body)
	first, _, err := fr.Next()
	if err != nil {
		t.Fatalf("the first frame: %v", err)
	}
	return resp, fr, first, problem.Details{}
}

// TestFramesStreamsAreCapped fills the per-client and the per-server caps:
// the streams past them are refused with 429, Retry-After and a detail
// naming the cap, while another client address still gets its stream.
func TestFramesStreamsAreCapped(t *testing.T) {
	fs := startFrameServer(t, Config{FrameLimits: api.FrameLimits{Streams: 3, PerClient: 2}})
	fs.runChannel(t, "capped", "")
	url := fs.base + "/api/v1/channels/capped/frames?width=64&height=48&fps=5&format=rgb24"
	first := clientFrom("127.0.0.1")
	var open []*http.Response
	for range 2 {
		resp, _, p := openFrames(t, first, url, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("a stream within the caps: %d %s", resp.StatusCode, p.Detail)
		}
		open = append(open, resp)
	}
	refused := func(c *http.Client, cap string) {
		t.Helper()
		resp, _, p := openFrames(t, c, url, nil)
		if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(p.Detail, cap+";") {
			t.Fatalf("a stream past the cap %s: %d %q", cap, resp.StatusCode, p.Detail)
		}
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || s <= 0 {
			t.Fatalf("a 429 with Retry-After %q", resp.Header.Get("Retry-After"))
		}
	}
	refused(first, "--frame-streams-per-client)")
	// The same server serves another address while the first is at its cap.
	if resp, _, p := openFrames(t, clientFrom("127.0.0.2"), url, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("a stream of another client address: %d %s", resp.StatusCode, p.Detail)
	}
	refused(clientFrom("127.0.0.3"), "--frame-streams)")
	fs.waitStreams(t, "capped", 3, 1)
	// A stream that ends makes room.
	_ = open[0].Body.Close()
	third := clientFrom("127.0.0.3")
	poll.UntilTrue(t, "a place freed by a stream that ended", waitLong, func() bool {
		resp, _, _ := openFrames(t, third, url, nil)
		return resp.StatusCode == http.StatusOK
	})
	if n := fs.metric(t, `sluice_frame_stream_refusals_total{reason="client_limit"}`); n < 1 {
		t.Errorf("client_limit refusals counted: %v", n)
	}
	if n := fs.metric(t, `sluice_frame_stream_refusals_total{reason="server_limit"}`); n < 1 {
		t.Errorf("server_limit refusals counted: %v", n)
	}
}

// TestFramesClientThatStopsReadingIsCutOff opens a stream and never reads
// it: once the connection's buffers are full, the stream's buffer fills
// and loses pictures, then the write timeout (the default, five times
// what the buffer holds) ends the stream and its decoder goes away.
func TestFramesClientThatStopsReadingIsCutOff(t *testing.T) {
	fs := startFrameServer(t, Config{})
	fs.runChannel(t, "stalled", "")
	d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			// A small window, so the server's writes block soon.
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		})
		if err != nil {
			return err
		}
		return serr
	}}
	conn, err := d.Dial("tcp", strings.TrimPrefix(fs.base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Big raw pictures at a high rate fill any buffer quickly.
	_, err = io.WriteString(conn, "GET /api/v1/channels/stalled/frames?width=640&height=360&fps=30&format=rgb24 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
	if err != nil {
		t.Fatal(err)
	}
	status, err := bufio.NewReaderSize(conn, 16).ReadString('\n')
	if err != nil || !strings.Contains(status, " 200 ") {
		t.Fatalf("the answer begins %q (%v)", status, err)
	}
	// From here on nothing is read. The stream's reader falls behind (its
	// lost pictures are counted), then the stream ends and the decoder
	// with it, while the client still holds the connection.
	poll.UntilTrue(t, "the stalled stream to lose pictures", waitLong, func() bool {
		return fs.metric(t, `sluice_frame_stream_dropped_frames_total{channel="stalled"}`) > 0
	})
	fs.waitStreams(t, "stalled", 0, 0)
	// The server gave the connection up: what was in flight, then the end.
	_ = conn.SetReadDeadline(time.Now().Add(waitLong))
	if _, err := io.Copy(io.Discard, conn); err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("the server still holds the stalled connection: %v", err)
	}
}

// TestFramesReadersShareOneDecoder reads one channel three times at once
// at the same size and rate: one decoder process serves them, and each
// stream numbers its frames from 0 without gaps.
func TestFramesReadersShareOneDecoder(t *testing.T) {
	fs := startFrameServer(t, Config{})
	fs.runChannel(t, "shared", "")
	const readers, n, fps = 3, 12, 5
	url := fs.base + fmt.Sprintf("/api/v1/channels/shared/frames?width=96&height=64&fps=%d&format=rgb24", fps)
	var (
		streams []*output.FrameReader
		firsts  []output.FrameHeader
		bodies  []io.Closer
	)
	for i := range readers {
		resp, fr, first, p := openFramesFirst(t, http.DefaultClient, url, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("reader %d: %d %s", i, resp.StatusCode, p.Detail)
		}
		streams, firsts, bodies = append(streams, fr), append(firsts, first), append(bodies, resp.Body)
	}
	fs.waitStreams(t, "shared", readers, 1)
	for i, fr := range streams {
		prev := firsts[i]
		if prev.Seq != 0 {
			t.Fatalf("reader %d begins at seq %d", i, prev.Seq)
		}
		for j := 1; j < n; j++ {
			hd, payload, err := fr.Next()
			if err != nil {
				t.Fatalf("reader %d, frame %d: %v", i, j, err)
			}
			if hd.Seq != uint64(j) || hd.Width != 96 || hd.Height != 64 || len(payload) != 96*64*3 {
				t.Fatalf("reader %d, frame %d: %+v with %d bytes", i, j, hd, len(payload))
			}
			if math.Abs(hd.PTS-prev.PTS-1.0/fps) > 1e-6 {
				t.Fatalf("reader %d: frame %+v follows %+v", i, hd, prev)
			}
			prev = hd
		}
	}
	for _, b := range bodies {
		_ = b.Close()
	}
	fs.waitStreams(t, "shared", 0, 0)
}

// TestFramesOfAProtectedChannel reads a channel whose endpoint requires
// signed URLs: without credentials it is refused, with a signature for
// the channel or the server's token it is served. On a server without a
// token the signature alone admits; on one with a token, so does the
// token, and anonymous frames of any channel are refused.
func TestFramesOfAProtectedChannel(t *testing.T) {
	key, err := signing.NewHMACKey("k1")
	if err != nil {
		t.Fatal(err)
	}
	ring, err := signing.NewKeyring(key)
	if err != nil {
		t.Fatal(err)
	}
	signed := func(path string) string {
		q, err := signing.Sign(signing.Policy{Path: path, Expires: time.Now().Add(time.Hour)}, key)
		if err != nil {
			t.Fatal(err)
		}
		return "&" + q.Encode()
	}
	for _, token := range []string{"", "s3cret-token"} {
		t.Run(fmt.Sprintf("token %q", token), func(t *testing.T) {
			fs := startFrameServer(t, Config{Token: token, SigningKeys: ring})
			fs.runChannel(t, "vip", `[{"name":"hls","type":"HLS","requireSignedURLs":true}]`)
			url := fs.base + "/api/v1/channels/vip/frames?width=64&height=48&fps=5&format=jpeg&count=2"
			bearer := func(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }
			refusals := []struct {
				query  string
				header http.Header
				status int
				detail string
			}{
				{"", nil, http.StatusUnauthorized, "signed URL"},
				{signed("/live/vip/hls/*"), nil, http.StatusForbidden, "wrong-path"},
				{signed("/live/other/*"), nil, http.StatusForbidden, "wrong-path"},
				{"", bearer("not-the-token"), http.StatusUnauthorized, "the API token is wrong"},
			}
			for _, r := range refusals {
				resp, _, p := openFrames(t, http.DefaultClient, url+r.query, r.header)
				if resp.StatusCode != r.status || !strings.Contains(p.Detail, r.detail) {
					t.Errorf("query %q, header %v: %d %q, want %d …%s…", r.query, r.header, resp.StatusCode, p.Detail, r.status, r.detail)
				}
				if resp.StatusCode == http.StatusUnauthorized && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
					t.Errorf("a 401 without a Bearer challenge: %v", resp.Header)
				}
			}
			served := []struct {
				query  string
				header http.Header
			}{
				{signed("/live/vip/*"), nil},
				{signed("/api/v1/channels/vip/frames"), nil},
			}
			if token != "" {
				served = append(served, struct {
					query  string
					header http.Header
				}{"", bearer(token)})
			}
			for _, s := range served {
				resp, fr, p := openFrames(t, http.DefaultClient, url+s.query, s.header)
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("query %q, header %v: %d %q", s.query, s.header, resp.StatusCode, p.Detail)
				}
				if hd, _, err := fr.Next(); err != nil || hd.Seq != 1 || hd.Format != output.FormatJPEG {
					t.Fatalf("the second frame: %+v %v", hd, err)
				}
			}
			if token == "" {
				return
			}
			// A server with a token refuses anonymous frames of an open
			// channel too.
			fs.runChannel(t, "open", "")
			resp, _, p := openFrames(t, http.DefaultClient, fs.base+"/api/v1/channels/open/frames?fps=5", nil)
			if resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("anonymous frames on a server with a token: %d %q", resp.StatusCode, p.Detail)
			}
			if n := fs.metric(t, `sluice_frame_stream_refusals_total{reason="no_credentials"}`); n < 2 {
				t.Errorf("refusals without credentials counted: %v", n)
			}
		})
	}
}
