package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"
)

// faultNetUDP impairs the UDP paths between publishers and the server
// (SRT, and MPEG-TS in RTP) through the soak's UDP relays.
const faultNetUDP = "net-udp"

// rtpChannel is the soak's channel fed by an RTP_PUSH input (MPEG-TS in
// RTP over UDP), declared in a stack of its own.
const rtpChannel = "soak-rtp"

// udpPhases are what one net-udp fault does, one after the other, to both
// directions of both UDP relays.
var udpPhases = []struct {
	name  string
	imp   impairment
	lasts time.Duration
}{
	{"200 ms delay", impairment{Delay: 200 * time.Millisecond}, 5 * time.Second},
	{"10 % loss", impairment{Loss: 0.1}, 5 * time.Second},
	{"20 % reordered", impairment{Reorder: 0.2}, 5 * time.Second},
	{"cut", impairment{Cut: true}, 5 * time.Second},
}

// startUDPPaths starts a UDP relay before the server's SRT port, declares
// the RTP channel with its input on a free UDP port, and starts a relay
// before that port and an RTP publisher sending through it.
func (r *rig) startUDPPaths(ctx context.Context) error {
	var err error
	if r.srtRelay, err = startUDPRelay(r.node.srt, uint64(time.Now().UnixNano())); err != nil {
		return err
	}
	r.ws.Cleanup.Add(r.srtRelay.close)
	port, err := freeUDPPort()
	if err != nil {
		return err
	}
	if err := r.applyStack(ctx, "soak-udp", rtpStack(port)); err != nil {
		return err
	}
	if r.rtpRelay, err = startUDPRelay(fmt.Sprintf("127.0.0.1:%d", port), uint64(time.Now().UnixNano())+1); err != nil {
		return err
	}
	r.ws.Cleanup.Add(r.rtpRelay.close)
	r.channels = slices.Concat(r.channels, []string{rtpChannel})
	r.rtpPub = &publisher{name: "rtp", ffmpeg: r.cfg.FFmpeg, format: "rtp_mpegts", logDir: r.ws.Dir}
	r.rtpPub.setURL("rtp://" + r.rtpRelay.addr() + "?pkt_size=1316")
	r.ws.Cleanup.Add(r.rtpPub.stop)
	return r.rtpPub.start(1)
}

// rtpStack declares the RTP input and its channel, as the soak's other
// channels are declared (see soakStack).
func rtpStack(port int) string {
	return fmt.Sprintf(`name: soak-udp
securityGroups:
  - name: local-udp
    allow: [127.0.0.1/32]
inputs:
  - {name: cam-rtp, type: RTP_PUSH, port: %d, securityGroups: [local-udp]}
channels:
  - name: %s
    autoStart: true
    inputAttachments: [{input: cam-rtp}]
    inputLoss: {inputLossMs: 1000}
    encoder:
      video: [{name: low, width: 256, height: 144, bitrate: 150k, fps: 25, profile: baseline, preset: ultrafast}]
    outputs:
      - {name: hls, type: HLS, dvrWindowSeconds: %d}
      - {name: ll, type: LL_HLS}
      - {name: dash, type: DASH}
`, port, rtpChannel, dvrWindowSeconds)
}

// applyStack applies a stack file through the API.
func (r *rig) applyStack(ctx context.Context, name, yaml string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, r.node.server().URL+"/api/v1/stacks/"+name, strings.NewReader(yaml))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/yaml")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("applying the stack %s: %w", name, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("applying the stack %s: %s %s", name, resp.Status, bytes.TrimSpace(body))
	}
	return nil
}

// freeUDPPort returns a loopback UDP port nothing listens on now.
func freeUDPPort() (int, error) {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return 0, err
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port, nil
}

// netUDP runs the phases of the net-udp fault on relays, both ways, and
// lifts them; between names what the relays connect, for the note.
// ffmpeg's SRT caller gives up on a connection cut for longer than its
// peer timeout; its operator's loop (the publisher's own) reconnects it.
func netUDP(ctx context.Context, relays []*udpRelay, between string) string {
	var done []string
	for _, ph := range udpPhases {
		if ctx.Err() != nil {
			break
		}
		for _, r := range relays {
			r.set(ph.imp)
		}
		sleep(ctx, ph.lasts)
		done = append(done, fmt.Sprintf("%s for %s", ph.name, ph.lasts))
	}
	for _, r := range relays {
		r.set(impairment{})
	}
	return "both ways between " + between + ": " + strings.Join(done, ", then ")
}
