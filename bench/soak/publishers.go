package main

import (
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/sluice-video/sluice/bench/internal/child"
)

// publisher is an ffmpeg sending a test picture and a tone to a push
// input, as a contribution encoder in the field does: when its connection
// breaks (the server died, the network cut it) it connects again after a
// second, as OBS and hardware encoders do; a fault that wants it gone
// stops it.
type publisher struct {
	name   string
	ffmpeg string
	format string
	logDir string

	mu   sync.Mutex
	url  string
	rate int
	proc *child.Process
	// gen counts starts and stops, so that a reconnect loop of an earlier
	// process does nothing once the publisher was stopped or restarted.
	gen  int
	runs int
}

// setURL sets where the next start publishes to.
func (p *publisher) setURL(url string) {
	p.mu.Lock()
	p.url = url
	p.mu.Unlock()
}

// start (re)starts the publisher; rate is ffmpeg's -readrate (1 is real
// time, 2 twice as fast as real time). It reconnects by itself until the
// next start or stop.
func (p *publisher) start(rate int) error {
	p.stop()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rate = rate
	return p.launch()
}

// launch runs ffmpeg and watches it; callers hold p.mu.
func (p *publisher) launch() error {
	args := []string{"-hide_banner", "-loglevel", "error", "-nostdin", "-readrate", fmt.Sprint(p.rate),
		"-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25", "-f", "lavfi", "-i", "sine=frequency=500:sample_rate=48000",
		"-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "25", "-pix_fmt", "yuv420p",
		"-c:a", "aac", "-ar", "48000", "-ac", "2", "-f", p.format, p.url}
	logFile, err := os.OpenFile(filepath.Join(p.logDir, "publisher-"+p.name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	proc, err := child.Start(p.ffmpeg, args, child.Options{Stdout: logFile, Stderr: logFile})
	_ = logFile.Close()
	if err != nil {
		return err
	}
	p.proc = proc
	p.runs++
	gen := p.gen
	go func() {
		<-proc.Done()
		time.Sleep(time.Second)
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.gen == gen && p.proc == proc {
			_ = p.launch()
		}
	}()
	return nil
}

// stop kills the publisher at once, as a vanished encoder or network,
// and keeps it from reconnecting.
func (p *publisher) stop() {
	p.mu.Lock()
	proc := p.proc
	p.proc = nil
	p.gen++
	p.mu.Unlock()
	if proc != nil {
		proc.Stop(0)
	}
}

// garbage opens connections to the RTMP port and sends SRT datagrams of
// random bytes from another loopback address (so that the server's
// per-address limits apply to it, not to the real publishers), and holds
// the connections for hold.
func garbage(rtmpAddr, srtAddr string, conns int, hold time.Duration) (sent int, err error) {
	local := &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}
	var open []net.Conn
	defer func() {
		for _, c := range open {
			_ = c.Close()
		}
	}()
	junk := make([]byte, 1316)
	for i := 0; i < conns; i++ {
		d := net.Dialer{LocalAddr: local, Timeout: 2 * time.Second}
		c, derr := d.Dial("tcp", rtmpAddr)
		if derr != nil {
			continue // refused: the server's limits at work
		}
		open = append(open, c)
		_, _ = rand.Read(junk)
		_ = c.SetWriteDeadline(time.Now().Add(time.Second))
		if n, werr := c.Write(junk[:1+i*37%len(junk)]); werr == nil {
			sent += n
		}
	}
	u, err := net.DialUDP("udp", &net.UDPAddr{IP: net.ParseIP("127.0.0.2")}, mustUDPAddr(srtAddr))
	if err != nil {
		return sent, fmt.Errorf("sending SRT garbage: %w", err)
	}
	defer u.Close()
	for i := 0; i < conns*10; i++ {
		_, _ = rand.Read(junk)
		if n, werr := u.Write(junk); werr == nil {
			sent += n
		}
	}
	time.Sleep(hold)
	return sent, nil
}

func mustUDPAddr(addr string) *net.UDPAddr {
	a, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}
	}
	return a
}
