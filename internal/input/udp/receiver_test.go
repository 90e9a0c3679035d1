package udp

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/input/live"
	"github.com/sluice-video/sluice/internal/testutil/livetest"
	"github.com/sluice-video/sluice/internal/testutil/poll"
)

// startReceiver runs a receiver on a free loopback port until the test ends.
func startReceiver(t *testing.T, reg *live.Registry, rtp bool, idle time.Duration) (*Receiver, string) {
	t.Helper()
	r := &Receiver{Input: "cam", Addr: "127.0.0.1:0", RTP: rtp, Registry: reg, Logger: livetest.Logger(t), IdleTimeout: idle}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run returned %v", err)
		}
	})
	poll.UntilTrue(t, "the receiver to bind", livetest.WaitLong, func() bool { return r.LocalAddr() != nil })
	return r, r.LocalAddr().String()
}

func udpInput(proto string, allow ...string) live.InputConfig {
	return live.InputConfig{Name: "cam", Protocol: proto, Allow: livetest.Prefixes(allow...)}
}

func TestFFmpegPublishes(t *testing.T) {
	cases := []struct {
		name           string
		rtp            bool
		vcodec, acodec string
		video, audio   live.Codec
		sampleRate     int
	}{
		{"UDP H264+AAC", false, "libx264", "aac", live.H264, live.AAC, 48000},
		{"UDP H265+Opus", false, "libx265", "libopus", live.H265, live.Opus, 48000},
		{"RTP H264+MP3", true, "libx264", "libmp3lame", live.H264, live.MP3, 44100},
		{"RTP H265+AAC", true, "libx265", "aac", live.H265, live.AAC, 48000},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			reg := live.NewRegistry(nil)
			proto := "udp"
			if c.rtp {
				proto = "rtp"
			}
			hub := reg.Set(udpInput(proto, "127.0.0.0/8"))
			w := livetest.Watch(t, hub)
			_, addr := startReceiver(t, reg, c.rtp, 0)
			args := append(livetest.Lavfi(320, 180, c.sampleRate, 60), "-c:v", c.vcodec, "-preset", "ultrafast", "-g", "25", "-pix_fmt", "yuv420p")
			if c.vcodec == "libx265" {
				args = append(args, "-x265-params", "log-level=error")
			}
			args = append(args, "-c:a", c.acodec)
			if c.rtp {
				args = append(args, "-f", "rtp_mpegts", "rtp://"+addr)
			} else {
				args = append(args, "-f", "mpegts", "udp://"+addr+"?pkt_size=1316")
			}
			livetest.FFmpegPublish(t, args...)
			livetest.ExpectMedia(t, w, c.video, c.audio, 320, 180)
			if st := hub.Status(); !st.Connected || st.Protocol != proto || !strings.HasPrefix(st.Publisher, "127.0.0.1:") {
				t.Errorf("status %+v", st)
			}
		})
	}
}

func TestSecurityGroupAndSources(t *testing.T) {
	ts := livetest.TSFile(t, "libx264", "aac", 320, 180, 4)
	for _, rtp := range []bool{false, true} {
		name := "UDP"
		proto := "udp"
		if rtp {
			name, proto = "RTP", "rtp"
		}
		t.Run(name, func(t *testing.T) {
			reg := live.NewRegistry(nil)
			hub := reg.Set(udpInput(proto, "127.0.0.2/32"))
			w := livetest.Watch(t, hub)
			_, addr := startReceiver(t, reg, rtp, 500*time.Millisecond)

			outsider := dialFrom(t, "127.0.0.3", addr)
			sendTS(outsider, ts[:len(ts)/4], rtp, nil)
			poll.UntilTrue(t, "the outsider to be counted", livetest.WaitLong, func() bool { return hub.Status().Refused > 0 })
			if st := hub.Status(); st.FramesReceived != 0 || st.Connected {
				t.Fatalf("datagrams from outside the group were used: %+v", st)
			}

			first := dialFrom(t, "127.0.0.2", addr)
			stop := make(chan struct{})
			go sendTS(first, ts, rtp, stop)
			poll.UntilTrue(t, "frames from 127.0.0.2", livetest.WaitLong, func() bool { return w.Count(live.Video) >= 10 })
			if st := hub.Status(); !strings.HasPrefix(st.Publisher, first.LocalAddr().String()) || st.Protocol != proto {
				t.Errorf("status %+v", st)
			}

			// Another allowed source while the first publishes: dropped,
			// counted once.
			refused := hub.Status().Refused
			second := dialFrom(t, "127.0.0.2", addr)
			sendTS(second, ts[:len(ts)/4], rtp, nil)
			sendTS(second, ts[:len(ts)/4], rtp, nil)
			poll.UntilTrue(t, "the second source to be counted", livetest.WaitLong, func() bool { return hub.Status().Refused == refused+1 })
			if st := hub.Status(); st.Publisher != first.LocalAddr().String() {
				t.Errorf("the publisher changed to %s", st.Publisher)
			}
			close(stop)

			// The first falls silent: after the idle timeout another may publish.
			poll.UntilTrue(t, "the idle session to end", livetest.WaitLong, func() bool { return !hub.Status().Connected })
			frames := w.Count(live.Video)
			stop2 := make(chan struct{})
			defer close(stop2)
			go sendTS(second, ts, rtp, stop2)
			poll.UntilTrue(t, "frames from the second source", livetest.WaitLong, func() bool { return w.Count(live.Video) > frames+10 })
			if st := hub.Status(); st.Publisher != second.LocalAddr().String() {
				t.Errorf("publisher %s, want %s", st.Publisher, second.LocalAddr())
			}

			// A new security group that leaves the publisher out drops it,
			// and its datagrams are refused from then on.
			before := hub.Status().Refused
			reg.Set(udpInput(proto, "127.0.0.9/32"))
			poll.UntilTrue(t, "the publisher to be dropped", livetest.WaitLong, func() bool { return !hub.Status().Connected })
			poll.UntilTrue(t, "the subscribers to hear why", livetest.WaitLong, func() bool {
				_, _, _, ended := w.Snapshot()
				return len(ended) > 0 && strings.Contains(ended[len(ended)-1], "security group")
			})
			poll.UntilTrue(t, "its datagrams to be refused", livetest.WaitLong, func() bool { return hub.Status().Refused > before })
			if hub.Status().Connected {
				t.Error("a source the group no longer allows publishes again")
			}
		})
	}
}

// TestHostileDatagrams: garbage from an admitted source neither stops the
// receiver nor prevents a good stream afterwards.
func TestHostileDatagrams(t *testing.T) {
	ts := livetest.TSFile(t, "libx264", "aac", 320, 180, 3)
	for _, rtp := range []bool{false, true} {
		t.Run(map[bool]string{false: "UDP", true: "RTP"}[rtp], func(t *testing.T) {
			reg := live.NewRegistry(nil)
			hub := reg.Set(udpInput(map[bool]string{false: "udp", true: "rtp"}[rtp], "127.0.0.0/8"))
			w := livetest.Watch(t, hub)
			_, addr := startReceiver(t, reg, rtp, 300*time.Millisecond)
			bad := dialFrom(t, "127.0.0.1", addr)
			buf := make([]byte, 2048)
			for i := range 3000 {
				n := i % len(buf)
				_, _ = rand.Read(buf[:n])
				switch i % 5 {
				case 0: // TS-looking
					for j := 0; j+188 <= n; j += 188 {
						buf[j] = 0x47
					}
				case 1: // RTP-looking
					if n > 12 {
						buf[0], buf[1] = 0x80|buf[0]&0x3f, payloadTypeMP2T
					}
				}
				_, _ = bad.Write(buf[:n])
			}
			_, _ = bad.Write(nil)
			poll.UntilTrue(t, "the garbage session to end", livetest.WaitLong, func() bool { return !hub.Status().Connected })
			good := dialFrom(t, "127.0.0.1", addr)
			stop := make(chan struct{})
			defer close(stop)
			go sendTS(good, ts, rtp, stop)
			poll.UntilTrue(t, "frames after garbage", livetest.WaitLong, func() bool { return w.Count(live.Video) >= 10 })
		})
	}
}

// dialFrom returns a UDP socket bound to localIP that sends to addr.
func dialFrom(t *testing.T, localIP, addr string) *net.UDPConn {
	t.Helper()
	raddr, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.DialUDP("udp", &net.UDPAddr{IP: net.ParseIP(localIP)}, raddr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// sendTS sends a TS stream, seven packets a datagram, wrapped in RTP when
// rtp is set. With a nil stop it sends the stream once, unpaced. Otherwise
// it sends a datagram a millisecond and starts over at the end of the
// stream (RTP sequence numbers running on) until stop is closed, so that
// the source stays live however slowly the test proceeds.
func sendTS(c *net.UDPConn, ts []byte, rtp bool, stop <-chan struct{}) {
	const chunk = 7 * 188
	var seq uint16
	for {
		for rest := ts; len(rest) > 0; {
			if stop != nil {
				select {
				case <-stop:
					return
				case <-time.After(time.Millisecond):
				}
			}
			n := min(chunk, len(rest))
			payload := rest[:n]
			rest = rest[n:]
			if rtp {
				payload = rtpPacketBytes(seq, 90*uint32(seq), 0x5eed, payloadTypeMP2T, payload)
				seq++
			}
			if _, err := c.Write(payload); err != nil {
				return
			}
		}
		if stop == nil {
			return
		}
	}
}

// rtpPacketBytes builds an RTP packet with a fixed header.
func rtpPacketBytes(seq uint16, ts, ssrc uint32, pt uint8, payload []byte) []byte {
	b := make([]byte, 12, 12+len(payload))
	b[0], b[1] = 0x80, pt
	binary.BigEndian.PutUint16(b[2:], seq)
	binary.BigEndian.PutUint32(b[4:], ts)
	binary.BigEndian.PutUint32(b[8:], ssrc)
	return append(b, payload...)
}
