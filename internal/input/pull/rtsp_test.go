package pull

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bluenviron/gortsplib/v5"
	"github.com/bluenviron/gortsplib/v5/pkg/base"
	"github.com/bluenviron/gortsplib/v5/pkg/description"
	"github.com/bluenviron/gortsplib/v5/pkg/format"
	"github.com/bluenviron/gortsplib/v5/pkg/liberrors"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h265"
	"github.com/pion/rtp"

	"github.com/sluice-video/sluice/internal/input/live"
	"github.com/sluice-video/sluice/internal/testutil/poll"
)

// rtspServer publishes the clip, looped in real time, to RTSP readers
// (interleaved over TCP only: it opens no UDP ports).
type rtspServer struct {
	addr       string
	user, pass string
	udpOnly    bool // refuse TCP with "461 Unsupported Transport"
	setups     sync.Map
	describes  atomic.Int32
	server     *gortsplib.Server
	stream     *gortsplib.ServerStream
}

func (s *rtspServer) OnDescribe(ctx *gortsplib.ServerHandlerOnDescribeCtx) (*base.Response, *gortsplib.ServerStream, error) {
	s.describes.Add(1)
	if s.user != "" && !ctx.Conn.VerifyCredentials(ctx.Request, s.user, s.pass) {
		return &base.Response{StatusCode: base.StatusUnauthorized}, nil, liberrors.ErrServerAuth{}
	}
	return &base.Response{StatusCode: base.StatusOK}, s.stream, nil
}

func (s *rtspServer) OnSetup(ctx *gortsplib.ServerHandlerOnSetupCtx) (*base.Response, *gortsplib.ServerStream, error) {
	s.setups.Store(ctx.Transport.Protocol, true)
	if s.udpOnly && ctx.Transport.Protocol == gortsplib.ProtocolTCP {
		return &base.Response{StatusCode: base.StatusUnsupportedTransport}, nil, nil
	}
	return &base.Response{StatusCode: base.StatusOK}, s.stream, nil
}

func (s *rtspServer) OnPlay(*gortsplib.ServerHandlerOnPlayCtx) (*base.Response, error) {
	return &base.Response{StatusCode: base.StatusOK}, nil
}

// startRTSPServer serves the clip; parameter sets travel in the SDP only,
// as many cameras do.
func startRTSPServer(t *testing.T, c *clip, user, pass string, udpOnly bool, tlsConfig ...*tls.Config) *rtspServer {
	t.Helper()
	s := &rtspServer{user: user, pass: pass, udpOnly: udpOnly}
	s.server = &gortsplib.Server{Handler: s, RTSPAddress: "127.0.0.1:0"}
	if len(tlsConfig) > 0 {
		s.server.TLSConfig = tlsConfig[0]
	}
	if udpOnly {
		rtpPort := freeUDPPair(t)
		s.server.UDPRTPAddress = fmt.Sprintf("127.0.0.1:%d", rtpPort)
		s.server.UDPRTCPAddress = fmt.Sprintf("127.0.0.1:%d", rtpPort+1)
	}
	if err := s.server.Start(); err != nil {
		t.Fatal(err)
	}
	s.addr = s.server.NetListener().Addr().String()

	var (
		vf          format.Format
		encodeVideo func([][]byte) ([]*rtp.Packet, error)
		isParamSet  func([]byte) bool
	)
	if c.video == live.H264 {
		f := &format.H264{PayloadTyp: 96, PacketizationMode: 1, SPS: c.sps, PPS: c.pps}
		enc, err := f.CreateEncoder()
		if err != nil {
			t.Fatal(err)
		}
		vf, encodeVideo = f, enc.Encode
		isParamSet = func(n []byte) bool {
			typ := h264.NALUType(n[0] & 0x1f)
			return typ == h264.NALUTypeSPS || typ == h264.NALUTypePPS
		}
	} else {
		f := &format.H265{PayloadTyp: 96, VPS: c.vps, SPS: c.sps, PPS: c.pps}
		enc, err := f.CreateEncoder()
		if err != nil {
			t.Fatal(err)
		}
		vf, encodeVideo = f, enc.Encode
		isParamSet = func(n []byte) bool {
			typ := h265.NALUType((n[0] >> 1) & 0x3f)
			return typ == h265.NALUType_VPS_NUT || typ == h265.NALUType_SPS_NUT || typ == h265.NALUType_PPS_NUT
		}
	}
	var (
		af          format.Format
		encodeAudio func([]byte) ([]*rtp.Packet, error)
		audioRate   time.Duration
	)
	if c.audio == live.AAC {
		f := &format.MPEG4Audio{PayloadTyp: 97, Config: c.aac, SizeLength: 13, IndexLength: 3, IndexDeltaLength: 3}
		enc, err := f.CreateEncoder()
		if err != nil {
			t.Fatal(err)
		}
		af, audioRate = f, time.Duration(c.aac.SampleRate)
		encodeAudio = func(au []byte) ([]*rtp.Packet, error) { return enc.Encode([][]byte{au}) }
	} else {
		f := &format.Opus{PayloadTyp: 97, ChannelCount: 1}
		enc, err := f.CreateEncoder()
		if err != nil {
			t.Fatal(err)
		}
		af, audioRate = f, 48000
		encodeAudio = func(p []byte) ([]*rtp.Packet, error) {
			pkt, err := enc.Encode(p)
			return []*rtp.Packet{pkt}, err
		}
	}
	vm := &description.Media{Type: description.MediaTypeVideo, Formats: []format.Format{vf}}
	am := &description.Media{Type: description.MediaTypeAudio, Formats: []format.Format{af}}
	s.stream = &gortsplib.ServerStream{Server: s.server, Desc: &description.Session{Medias: []*description.Media{vm, am}}}
	if err := s.stream.Initialize(); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		start := time.Now()
		for loop := time.Duration(0); ; loop++ {
			offset := loop * (c.length + 40*time.Millisecond)
			for _, smp := range c.samples {
				if !pace(ctx, start, offset+smp.dts) {
					return
				}
				media, rate := am, audioRate
				var pkts []*rtp.Packet
				var err error
				if smp.video {
					media, rate = vm, 90000
					var au [][]byte
					for _, n := range smp.au {
						if !isParamSet(n) {
							au = append(au, n)
						}
					}
					pkts, err = encodeVideo(au)
				} else {
					pkts, err = encodeAudio(smp.data)
				}
				if err != nil {
					continue
				}
				for _, p := range pkts {
					p.Timestamp = uint32((offset + smp.pts) * rate / time.Second)
					_ = s.stream.WritePacketRTP(media, p)
				}
			}
		}
	})
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		s.stream.Close()
		s.server.Close()
	})
	return s
}

// TestRTSP: video and audio from an RTSP server, with credentials, over
// TCP; decode times are derived for B-frames.
func TestRTSP(t *testing.T) {
	cases := []struct {
		name         string
		video, audio live.Codec
		args         []string
	}{
		{"H264 with B-frames and AAC", live.H264, live.AAC, []string{"-bf", "2"}},
		{"H265 and Opus", live.H265, live.Opus, []string{"-c:v", "libx265", "-x265-params", "log-level=error:bframes=2", "-c:a", "libopus"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := encode(t, t.TempDir(), "in.ts", 4, append(tc.args, "-f", "mpegts")...)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			c := loadClip(t, data)
			if !c.reordered {
				t.Fatal("the clip has no B-frames")
			}
			srv := startRTSPServer(t, c, "viewer", "pa55word", false)
			reg := live.NewRegistry(nil)
			hub := reg.Set(live.InputConfig{Name: "cam", Protocol: "pull"})
			w := watch(t, hub)
			p := startRun(t, reg, "cam", "rtsp://viewer:pa55word@"+srv.addr+"/stream", testOptions())
			expectMedia(t, w, tc.video, tc.audio, 320, 180)
			if st := hub.Status(); !st.Connected || st.Protocol != "rtsp" || st.Publisher != "rtsp://"+srv.addr+"/stream" {
				t.Errorf("status %+v", st)
			}
			if w.reorderedFrames() == 0 {
				t.Error("no frame has its PTS after its DTS")
			}
			if strings.Contains(p.logs.String(), "pa55word") || strings.Contains(p.logs.String(), "viewer") {
				t.Errorf("the logs show the credentials:\n%s", p.logs.String())
			}
		})
	}
}

// TestRTSPUnauthorized: wrong credentials are reported as such, retried
// with backoff, and never logged.
func TestRTSPUnauthorized(t *testing.T) {
	srv := startRTSPServer(t, loadClip(t, tsFile(t, 2)), "viewer", "pa55word", false)
	reg := live.NewRegistry(nil)
	reg.Set(live.InputConfig{Name: "news", Protocol: "pull"})
	p := startRun(t, reg, "news", "rtsp://viewer:wr0ngpass@"+srv.addr+"/stream", testOptions())
	logsContain(t, p, "pulling input news from rtsp://"+srv.addr+"/stream failed: 401 Unauthorized; retrying in 100ms")
	logsContain(t, p, "failed: 401 Unauthorized; retrying in 200ms")
	if strings.Contains(p.logs.String(), "wr0ngpass") || strings.Contains(p.logs.String(), "viewer") {
		t.Errorf("the logs show the credentials:\n%s", p.logs.String())
	}
}

// TestRTSPFallsBackToUDP: a server that refuses TCP is read over UDP.
func TestRTSPFallsBackToUDP(t *testing.T) {
	srv := startRTSPServer(t, loadClip(t, tsFile(t, 4)), "", "", true)
	reg := live.NewRegistry(nil)
	hub := reg.Set(live.InputConfig{Name: "cam", Protocol: "pull"})
	w := watch(t, hub)
	p := startRun(t, reg, "cam", "rtsp://"+srv.addr+"/stream", testOptions())
	expectMedia(t, w, live.H264, live.AAC, 320, 180)
	logsContain(t, p, "the server refuses RTSP over TCP; trying UDP")
	if _, ok := srv.setups.Load(gortsplib.ProtocolUDP); !ok {
		t.Error("no SETUP over UDP")
	}
}

// freeUDPPair returns an even UDP port whose successor is free too.
func freeUDPPair(t *testing.T) int {
	t.Helper()
	for range 100 {
		a, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := a.LocalAddr().(*net.UDPAddr).Port
		_ = a.Close()
		if port%2 != 0 || port > 65000 {
			continue
		}
		b, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port+1))
		if err != nil {
			continue
		}
		_ = b.Close()
		return port
	}
	t.Fatal("no free pair of UDP ports")
	return 0
}

// TestRTSPServerGoes: a server that goes away ends the session in words,
// and the puller keeps trying.
func TestRTSPServerGoes(t *testing.T) {
	srv := startRTSPServer(t, loadClip(t, tsFile(t, 2)), "", "", false)
	reg := live.NewRegistry(nil)
	hub := reg.Set(live.InputConfig{Name: "cam", Protocol: "pull"})
	w := watch(t, hub)
	p := startRun(t, reg, "cam", "rtsp://"+srv.addr+"/stream", testOptions())
	poll.UntilTrue(t, "frames", waitLong, func() bool { return w.count(live.Video) > 10 })
	srv.server.Close()
	poll.UntilTrue(t, "the session to end", waitLong, func() bool { return len(w.endings()) > 0 })
	logsContain(t, p, "pulling input cam from rtsp://"+srv.addr+"/stream ended: ")
	logsContain(t, p, "failed: connection refused by "+srv.addr)
	if got := w.endings()[0]; !strings.Contains(got, "the server closed the connection") {
		t.Errorf("end reason %q", got)
	}
}
