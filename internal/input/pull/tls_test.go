package pull

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sluice-video/sluice/internal/input/live"
)

// testTLS returns a server certificate for 127.0.0.1 and a client
// configuration that trusts it.
func testTLS(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	srv := httptest.NewTLSServer(http.NotFoundHandler())
	t.Cleanup(srv.Close)
	client = srv.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
	return &tls.Config{Certificates: srv.TLS.Certificates, MinVersion: tls.VersionTLS12}, client
}

// TestTLS: https, rtmps and rtsps sources, verified against the roots
// the options give; an unknown certificate is refused in words.
func TestTLS(t *testing.T) {
	serverTLS, clientTLS := testTLS(t)
	c := loadClip(t, tsFile(t, 4))
	data := tsFile(t, 3)

	https := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write(data)
	}))
	https.TLS = serverTLS
	https.StartTLS()
	defer https.Close()
	rtmps := startRTMPServer(t, c, serverTLS)
	rtsps := startRTSPServer(t, c, "", "", false, serverTLS)

	for _, u := range []string{https.URL + "/ts", "rtmps://" + rtmps.addr + "/live/x", "rtsps://" + rtsps.addr + "/stream"} {
		t.Run(strings.SplitN(u, ":", 2)[0], func(t *testing.T) {
			reg := live.NewRegistry(nil)
			hub := reg.Set(live.InputConfig{Name: "secure", Protocol: "pull"})
			w := watch(t, hub)
			o := testOptions()
			o.tlsConfig = clientTLS
			startRun(t, reg, "secure", u, o)
			expectMedia(t, w, live.H264, live.AAC, 320, 180)

			// Without the test's roots, the certificate is refused.
			reg2 := live.NewRegistry(nil)
			reg2.Set(live.InputConfig{Name: "secure", Protocol: "pull"})
			p := startRun(t, reg2, "secure", u, testOptions())
			logsContain(t, p, "certificate signed by unknown authority")
		})
	}
}
