package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/sluice-video/sluice/bench/internal/child"
	"github.com/sluice-video/sluice/bench/internal/sluice"
)

// mediamtxBinary returns the MediaMTX binary: path when given, else the
// one mediamtx.sh builds into .tools (once; cached afterwards).
func mediamtxBinary(ctx context.Context, path string, logf func(string, ...any)) (string, error) {
	if path != "" {
		return filepath.Abs(path)
	}
	root, err := sluice.ModuleRoot()
	if err != nil {
		return "", err
	}
	script := filepath.Join(root, "bench", "latency", "mediamtx.sh")
	logf("MediaMTX: %s (builds it into .tools the first time, about 1.5 minutes)", script)
	cmd := exec.CommandContext(ctx, script)
	cmd.Dir = root
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s: %w", script, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// mediamtxConfig is the smallest configuration for one variant of its HLS
// server ("lowLatency" with 1 s segments and 200 ms parts, or "fmp4" with
// 2 s segments) fed over RTMP and SRT, every other server off. The muxer
// runs from the first publish (hlsAlwaysRemux), as Sluice's packager does.
//
// The variant "webrtc" turns the HLS server off and its WebRTC server on
// instead, at hlsAddr (WHEP at /bench/whep), with ICE on one loopback UDP
// port.
func mediamtxConfig(variant, rtmpAddr, srtAddr, hlsAddr, udpAddr string) string {
	seg := "2s"
	if variant == "lowLatency" {
		seg = "1s"
	}
	if variant == "webrtc" {
		return fmt.Sprintf(`logLevel: warn
api: no
metrics: no
pprof: no
playback: no
rtsp: no
hls: no
rtmp: yes
rtmpAddress: %s
srt: yes
srtAddress: %s
webrtc: yes
webrtcAddress: %s
webrtcLocalUDPAddress: %s
webrtcLocalTCPAddress: ''
webrtcIPsFromInterfaces: no
webrtcAdditionalHosts: [127.0.0.1]
paths:
  all_others:
`, rtmpAddr, srtAddr, hlsAddr, udpAddr)
	}
	return fmt.Sprintf(`logLevel: warn
api: no
metrics: no
pprof: no
playback: no
rtsp: no
webrtc: no
rtmp: yes
rtmpAddress: %s
srt: yes
srtAddress: %s
hls: yes
hlsAddress: %s
hlsAlwaysRemux: yes
hlsVariant: %s
hlsSegmentDuration: %s
hlsPartDuration: 200ms
paths:
  all_others:
`, rtmpAddr, srtAddr, hlsAddr, variant, seg)
}

// mediamtx is a running MediaMTX with the publish URLs and the manifest.
type mediamtx struct {
	proc     *child.Process
	rtmpURL  string
	srtURL   string
	manifest string
}

func startMediaMTX(ctx context.Context, bin, dir, variant string) (*mediamtx, error) {
	rtmpPort, err := freeTCPPort()
	if err != nil {
		return nil, err
	}
	hlsPort, err := freeTCPPort()
	if err != nil {
		return nil, err
	}
	srtPort, err := freeUDPPort()
	if err != nil {
		return nil, err
	}
	rtcPort, err := freeUDPPort()
	if err != nil {
		return nil, err
	}
	conf := filepath.Join(dir, "mediamtx-"+variant+".yml")
	hlsAddr := loopback(hlsPort)
	if err := os.WriteFile(conf, []byte(mediamtxConfig(variant, loopback(rtmpPort), loopback(srtPort), hlsAddr, loopback(rtcPort))), 0o600); err != nil {
		return nil, err
	}
	logFile, err := os.Create(filepath.Join(dir, "mediamtx-"+variant+".log"))
	if err != nil {
		return nil, err
	}
	proc, err := child.Start(bin, []string{conf}, child.Options{Dir: dir, Stdout: logFile, Stderr: logFile})
	_ = logFile.Close() // the child has its own descriptor
	if err != nil {
		return nil, err
	}
	m := &mediamtx{
		proc:     proc,
		rtmpURL:  "rtmp://" + loopback(rtmpPort) + "/bench",
		srtURL:   "srt://" + loopback(srtPort) + "?streamid=publish:bench",
		manifest: "http://" + hlsAddr + "/bench/index.m3u8",
	}
	if variant == "webrtc" {
		m.manifest = "http://" + hlsAddr + "/bench/whep"
	}
	if err := waitTCP(ctx, loopback(rtmpPort), proc, 20*time.Second); err != nil {
		proc.Stop(stopGrace)
		return nil, fmt.Errorf("MediaMTX: %w (log: %s)", err, logFile.Name())
	}
	return m, nil
}

func (m *mediamtx) stop() { m.proc.Stop(stopGrace) }

// waitTCP waits until something listens on addr.
func waitTCP(ctx context.Context, addr string, proc *child.Process, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var d net.Dialer
	for {
		c, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			_ = c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("nothing listens on %s after %s", addr, timeout)
		}
		select {
		case <-proc.Done():
			return proc.ExitedEarly("the server")
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func freeTCPPort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func freeUDPPort() (int, error) {
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port, nil
}

func loopback(port int) string { return fmt.Sprintf("127.0.0.1:%d", port) }
