package main

import (
	"fmt"
	"net"
	"strconv"
)

// protocol is one way a publisher reaches the receiver: what Sluice's input
// looks like, what the publisher muxes, and how a bare ffmpeg receives it.
type protocol struct {
	Name string
	// inputType is the Sluice input type.
	inputType string
	// format is the publisher's muxer.
	format string
}

var protocols = []protocol{
	{Name: "rtmp", inputType: "RTMP_PUSH", format: "flv"},
	{Name: "srt", inputType: "SRT_LISTENER", format: "mpegts"},
	{Name: "udp", inputType: "UDP_PUSH", format: "mpegts"},
}

func protocolNames() []string {
	out := make([]string, len(protocols))
	for i, p := range protocols {
		out[i] = p.Name
	}
	return out
}

func protocolNamed(name string) protocol {
	for _, p := range protocols {
		if p.Name == name {
			return p
		}
	}
	return protocol{}
}

// bareInput is the bare ffmpeg receiver's input options for a listener on
// addr, and the URL its publisher sends to.
func (p protocol) bareInput(addr string) (in []string, publishTo string) {
	switch p.Name {
	case "srt":
		return []string{"-i", "srt://" + addr + "?mode=listener"}, "srt://" + addr
	case "udp":
		return []string{"-i", "udp://" + addr + "?fifo_size=1000000&overrun_nonfatal=1"}, "udp://" + addr + "?pkt_size=1316"
	}
	return []string{"-listen", "1", "-i", "rtmp://" + addr + "/live/bench"}, "rtmp://" + addr + "/live/bench"
}

// publishURL is where the publisher sends to Sluice, from the input's
// endpoint; UDP datagrams are sized to whole TS packets.
func (p protocol) publishURL(endpoint string) string {
	if p.Name == "udp" {
		return endpoint + "?pkt_size=1316"
	}
	return endpoint
}

// freePort returns a loopback port nobody uses, on TCP for RTMP and UDP
// for SRT and UDP.
func (p protocol) freePort() (int, error) {
	if p.Name == "rtmp" {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		defer l.Close()
		return l.Addr().(*net.TCPAddr).Port, nil
	}
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port, nil
}

func loopback(port int) string { return "127.0.0.1:" + strconv.Itoa(port) }

// serveArgs are the listener flags of `sluice serve` for this protocol on
// port: only its own listener runs.
func (p protocol) serveArgs(port int) []string {
	switch p.Name {
	case "rtmp":
		return []string{"--rtmp", loopback(port), "--srt", ""}
	case "srt":
		return []string{"--rtmp", "", "--srt", loopback(port)}
	}
	return []string{"--rtmp", "", "--srt", ""}
}

// inputYAML is the stack file's input for this protocol; a UDP input
// names its own port.
func (p protocol) inputYAML(port int) string {
	s := fmt.Sprintf("  - name: cam\n    type: %s\n    securityGroups: [loopback]\n", p.inputType)
	if p.Name == "udp" {
		s += fmt.Sprintf("    port: %d\n", port)
	}
	return s
}
