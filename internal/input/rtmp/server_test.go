package rtmp

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/input/live"
	"github.com/sluice-video/sluice/internal/testutil/livetest"
	"github.com/sluice-video/sluice/internal/testutil/poll"
)

func TestFFmpegPublishes(t *testing.T) {
	cases := []struct {
		name       string
		acodec     string
		sampleRate int
		audio      live.Codec
	}{
		{"H264+AAC", "aac", 48000, live.AAC},
		{"H264+MP3", "libmp3lame", 44100, live.MP3},
		{"H264 without audio", "", 44100, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			reg := live.NewRegistry(nil)
			hub := reg.Set(live.InputConfig{Name: "cam", Protocol: "rtmp", StreamKey: "k1", Allow: livetest.Prefixes("127.0.0.0/8")})
			w := livetest.Watch(t, hub)
			_, addr := startServer(t, reg)
			args := append(livetest.Lavfi(320, 180, c.sampleRate, 60),
				"-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "25", "-pix_fmt", "yuv420p")
			if c.acodec == "" {
				args = append(args, "-an")
			} else {
				args = append(args, "-c:a", c.acodec)
			}
			args = append(args, "-f", "flv", "rtmp://"+addr+"/live/k1")
			livetest.FFmpegPublish(t, args...)
			livetest.ExpectMedia(t, w, live.H264, c.audio, 320, 180)
			st := hub.Status()
			if !st.Connected || st.Protocol != "rtmp" || !strings.HasPrefix(st.Publisher, "127.0.0.1:") || st.Video != "H264" || st.Audio != string(c.audio) {
				t.Errorf("status %+v", st)
			}
		})
	}
}

func TestEnhancedRTMPH265Opus(t *testing.T) {
	rec := record(t, "libx265", "libopus", 320, 180, 4)
	reg := live.NewRegistry(nil)
	hub := reg.Set(live.InputConfig{Name: "cam", Protocol: "rtmp", StreamKey: "k1", Allow: livetest.Prefixes("127.0.0.0/8")})
	w := livetest.Watch(t, hub)
	_, addr := startServer(t, reg)
	c, err := client(context.Background(), "rtmp://"+addr+"/live/k1", "", true)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	stop := make(chan struct{})
	defer close(stop)
	go func() { _ = sendRecorded(c, rec, 0, t, stop) }()
	livetest.ExpectMedia(t, w, live.H265, live.Opus, 320, 180)
}

// TestNewSequenceHeader: a publisher that changes resolution mid-stream
// sends a new sequence header; subscribers get the new tracks.
func TestNewSequenceHeader(t *testing.T) {
	small := record(t, "libx264", "aac", 320, 180, 2)
	large := record(t, "libx264", "aac", 640, 360, 2)
	reg := live.NewRegistry(nil)
	hub := reg.Set(live.InputConfig{Name: "cam", Protocol: "rtmp", StreamKey: "k1", Allow: livetest.Prefixes("127.0.0.0/8")})
	w := livetest.Watch(t, hub)
	_, addr := startServer(t, reg)
	c, err := client(context.Background(), "rtmp://"+addr+"/live/k1", "", true)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	stop := make(chan struct{})
	defer close(stop)
	if err := sendRecorded(c, small, 0, t, stop); err != nil {
		t.Fatal(err)
	}
	poll.UntilTrue(t, "the first size", livetest.WaitLong, func() bool { v := w.Track(live.Video); return v != nil && v.Width == 320 })
	if err := sendRecorded(c, large, 3*time.Second, t, stop); err != nil {
		t.Fatal(err)
	}
	poll.UntilTrue(t, "the new size", livetest.WaitLong, func() bool { v := w.Track(live.Video); return v != nil && v.Width == 640 && v.Height == 360 })
	if _, starts, backward, _ := w.Snapshot(); starts < 2 || backward > 0 {
		t.Errorf("%d track declarations, %d frames back in time", starts, backward)
	}
}

func TestRTMPS(t *testing.T) {
	rec := record(t, "libx264", "aac", 320, 180, 3)
	reg := live.NewRegistry(nil)
	hub := reg.Set(live.InputConfig{Name: "cam", Protocol: "rtmp", StreamKey: "k1", Allow: livetest.Prefixes("127.0.0.0/8")})
	w := livetest.Watch(t, hub)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &Server{Registry: reg, Logger: livetest.Logger(t)}
	tlsLn := tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{selfSigned(t)}, MinVersion: tls.VersionTLS12})
	go func() { _ = srv.Serve(tlsLn) }()
	defer srv.Close(context.Background())
	u := "rtmps://" + ln.Addr().String() + "/live/k1"
	c, err := clientTLS(u)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	stop := make(chan struct{})
	defer close(stop)
	go func() { _ = sendRecorded(c, rec, 0, t, stop) }()
	poll.UntilTrue(t, "frames over RTMPS", livetest.WaitLong, func() bool { return w.Count(live.Video) >= 20 })
}

func TestSecurityGroup(t *testing.T) {
	rec := record(t, "libx264", "aac", 320, 180, 2)
	reg := live.NewRegistry(nil)
	hub := reg.Set(live.InputConfig{Name: "cam", Protocol: "rtmp", StreamKey: "k1", Allow: livetest.Prefixes("127.0.0.2/32")})
	w := livetest.Watch(t, hub)
	_, addr := startServer(t, reg)

	t.Run("no input allows the address: closed before the handshake", func(t *testing.T) {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.3")}, Timeout: 10 * time.Second}
		nc, err := d.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		_ = nc.SetDeadline(time.Now().Add(livetest.WaitLong))
		c0c1 := make([]byte, 1537)
		c0c1[0] = 3
		_, _ = nc.Write(c0c1)
		n, err := io.ReadFull(nc, make([]byte, 1))
		if n != 0 || err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("the server answered an address no input allows: %d bytes, %v", n, err)
		}
	})

	t.Run("another input allows the address: refused at publish", func(t *testing.T) {
		reg.Set(live.InputConfig{Name: "other", Protocol: "rtmp", StreamKey: "k2", Allow: livetest.Prefixes("127.0.0.3/32")})
		defer reg.Remove("other")
		_, err := client(context.Background(), "rtmp://"+addr+"/live/k1", "127.0.0.3", true)
		if err == nil || !strings.Contains(err.Error(), "NetStream.Publish.Rejected") {
			t.Errorf("publishing from outside the group: %v", err)
		}
		if st := hub.Status(); st.Refused == 0 || st.FramesReceived != 0 || st.Connected {
			t.Errorf("status after a refusal %+v", st)
		}
	})

	t.Run("allowed address publishes", func(t *testing.T) {
		c, err := client(context.Background(), "rtmp://"+addr+"/live/k1", "127.0.0.2", true)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		stop := make(chan struct{})
		defer close(stop)
		go func() { _ = loopRecorded(c, rec, t, stop) }()
		poll.UntilTrue(t, "frames from 127.0.0.2", livetest.WaitLong, func() bool { return w.Count(live.Video) >= 10 })
		if st := hub.Status(); !strings.HasPrefix(st.Publisher, "127.0.0.2:") {
			t.Errorf("publisher %q", st.Publisher)
		}

		// A new security group that leaves the publisher out drops it.
		reg.Set(live.InputConfig{Name: "cam", Protocol: "rtmp", StreamKey: "k1", Allow: livetest.Prefixes("127.0.0.9/32")})
		poll.UntilTrue(t, "the publisher to be dropped", livetest.WaitLong, func() bool { return !hub.Status().Connected })
		_ = c.NetConn().SetReadDeadline(time.Now().Add(livetest.WaitLong))
		for {
			if _, err := c.Read(); err != nil {
				if errors.Is(err, os.ErrDeadlineExceeded) {
					t.Error("the connection stayed open after the group changed")
				}
				break
			}
		}
		poll.UntilTrue(t, "the subscribers to hear why", livetest.WaitLong, func() bool {
			_, _, _, ended := w.Snapshot()
			return len(ended) > 0 && strings.Contains(ended[len(ended)-1], "security group")
		})
	})
}

func TestRefusals(t *testing.T) {
	rec := record(t, "libx264", "aac", 320, 180, 2)
	reg := live.NewRegistry(nil)
	hub := reg.Set(live.InputConfig{Name: "cam", Protocol: "rtmp", StreamKey: "k1", Allow: livetest.Prefixes("127.0.0.0/8")})
	w := livetest.Watch(t, hub)
	_, addr := startServer(t, reg)
	ctx := context.Background()

	if _, err := client(ctx, "rtmp://"+addr+"/live/wrong", "", true); err == nil || !strings.Contains(err.Error(), "Rejected") {
		t.Errorf("wrong key: %v", err)
	}
	if _, err := client(ctx, "rtmp://"+addr+"/live", "", true); err == nil {
		t.Error("a publish without a key was accepted")
	}
	if _, err := client(ctx, "rtmp://"+addr+"/live/k1", "", false); err == nil || !strings.Contains(err.Error(), "Play.Failed") {
		t.Errorf("play: %v", err)
	}
	if st := hub.Status(); st.FramesReceived != 0 || st.Connected {
		t.Errorf("status after refusals %+v", st)
	}

	first, err := client(ctx, "rtmp://"+addr+"/live/k1", "", true)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	stop := make(chan struct{})
	defer close(stop)
	go func() { _ = loopRecorded(first, rec, t, stop) }()
	poll.UntilTrue(t, "the first publisher's frames", livetest.WaitLong, func() bool { return w.Count(live.Video) > 5 })
	refusedBefore := hub.Status().Refused
	_, err = client(ctx, "rtmp://"+addr+"/live/k1", "", true)
	if err == nil || !strings.Contains(err.Error(), "already has a publisher") {
		t.Errorf("second publisher: %v", err)
	}
	if st := hub.Status(); st.Refused <= refusedBefore || !st.Connected {
		t.Errorf("status after a second publisher %+v", st)
	}

	// The other app form: rtmp://host/app/<key>.
	first.Close()
	poll.UntilTrue(t, "the first publisher to leave", livetest.WaitLong, func() bool { return !hub.Status().Connected })
	other, err := client(ctx, "rtmp://"+addr+"/ingest/k1", "", true)
	if err != nil {
		t.Fatalf("key as the last element of another app: %v", err)
	}
	other.Close()
}

// TestHostileInput throws garbage at the port, then publishes normally.
func TestHostileInput(t *testing.T) {
	rec := record(t, "libx264", "aac", 320, 180, 2)
	reg := live.NewRegistry(nil)
	hub := reg.Set(live.InputConfig{Name: "cam", Protocol: "rtmp", StreamKey: "k1", Allow: livetest.Prefixes("127.0.0.0/8")})
	w := livetest.Watch(t, hub)
	_, addr := startServer(t, reg)

	handshakeOnly := make([]byte, 1537+1536)
	handshakeOnly[0] = 3
	garbage := make([]byte, 1<<20)
	_, _ = rand.Read(garbage)
	afterHandshake := append(append([]byte(nil), handshakeOnly...), garbage...)
	hugeChunk := append(append([]byte(nil), handshakeOnly...),
		0x02, 0, 0, 0, 0, 0, 4, 1, 0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff, // set chunk size 2^31-1
		0x03, 0, 0, 0, 0xff, 0xff, 0xff, 20, 0, 0, 0, 0) // a 16 MB command
	// All at once: those that stall end only at the handshake timeout.
	var wg sync.WaitGroup
	for i, payload := range [][]byte{garbage[:100], garbage, handshakeOnly[:700], handshakeOnly, afterHandshake, hugeChunk, {3}} {
		wg.Go(func() {
			nc, err := net.Dial("tcp", addr)
			if err != nil {
				t.Error(err)
				return
			}
			defer nc.Close()
			_ = nc.SetDeadline(time.Now().Add(livetest.WaitLong))
			_, _ = nc.Write(payload)
			if i%2 == 0 {
				_ = nc.(*net.TCPConn).CloseWrite()
			}
			if _, err := io.Copy(io.Discard, nc); errors.Is(err, os.ErrDeadlineExceeded) {
				t.Errorf("hostile payload %d: the server kept the connection open", i)
			}
		})
	}
	wg.Wait()
	if st := hub.Status(); st.FramesReceived != 0 {
		t.Errorf("garbage produced frames: %+v", st)
	}
	c, err := client(context.Background(), "rtmp://"+addr+"/live/k1", "", true)
	if err != nil {
		t.Fatalf("a good publisher after garbage: %v", err)
	}
	defer c.Close()
	stop := make(chan struct{})
	defer close(stop)
	go func() { _ = sendRecorded(c, rec, 0, t, stop) }()
	poll.UntilTrue(t, "frames after garbage", livetest.WaitLong, func() bool { return w.Count(live.Video) >= 10 })
}

// TestReadTimeout: a publisher that goes silent is disconnected.
func TestReadTimeout(t *testing.T) {
	reg := live.NewRegistry(nil)
	hub := reg.Set(live.InputConfig{Name: "cam", Protocol: "rtmp", StreamKey: "k1", Allow: livetest.Prefixes("127.0.0.0/8")})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &Server{Registry: reg, Logger: livetest.Logger(t), ReadTimeout: 300 * time.Millisecond}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close(context.Background())
	c, err := client(context.Background(), "rtmp://"+ln.Addr().String()+"/live/k1", "", true)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	poll.UntilTrue(t, "the silent publisher to be dropped", livetest.WaitLong, func() bool {
		st := hub.Status()
		return !st.Connected && strings.Contains(st.LastEndReason, "no data")
	})
}

func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}
