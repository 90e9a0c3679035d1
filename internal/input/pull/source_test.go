package pull

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
)

func TestParseSource(t *testing.T) {
	s, err := parseSource("RTSP://admin:Secr%40t99@cam.example:554/live/main?channel=1")
	if err != nil {
		t.Fatal(err)
	}
	if s.public != "rtsp://cam.example:554/live/main?channel=1" || s.url.Scheme != "rtsp" {
		t.Errorf("public %q scheme %q", s.public, s.url.Scheme)
	}
	for _, bad := range []string{"", "cam.example/live", "udp://239.0.0.1:5000", "http:///x.m3u8", "rtmp://:1935/live"} {
		if _, err := parseSource(bad); !errors.Is(err, ErrUnsupportedURL) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestRedactor(t *testing.T) {
	u, _ := url.Parse("http://al%20ice:p%40ss%2Fw0rd@host/x")
	r := newRedactor(u.User)
	for _, text := range []string{
		`Get "http://al%20ice:p%40ss%2Fw0rd@host/x": EOF`,
		`Get "http://al%20ice:xxxxx@host/x": EOF`,
		`auth for al ice with p@ss/w0rd failed`,
		`query had p%40ss%2Fw0rd in it`,
	} {
		got := r.clean(text)
		for _, secret := range []string{"p@ss/w0rd", "p%40ss%2Fw0rd", "al%20ice:", "al ice:"} {
			if strings.Contains(got, secret) {
				t.Errorf("%q → %q still shows %q", text, got, secret)
			}
		}
	}
	if got := r.clean(`Get "http://al%20ice:xxxxx@host/x": EOF`); got != `Get "http://host/x": EOF` {
		t.Errorf("cleaned to %q", got)
	}
	// No credentials, nothing to do.
	if got := (redactor{}).clean("as is"); got != "as is" {
		t.Errorf("%q", got)
	}
}

func TestDescribe(t *testing.T) {
	s, _ := parseSource("http://u:topsecret@host/live")
	cases := []struct {
		err  error
		want string
	}{
		{&statusError{code: 404}, "404 Not Found"},
		{&url.Error{Op: "Get", URL: "http://u:xxxxx@host/live", Err: &statusError{code: 403}}, "403 Forbidden"},
		{&url.Error{Op: "Get", URL: "http://host/seg1.ts", Err: errors.New("EOF")}, `Get "http://host/seg1.ts": EOF`},
		{fmt.Errorf("auth with topsecret: %w", errors.New("denied")), "auth with ***: denied"},
		{&idleError{d: 10e9}, "no data from the source for 10s"},
		{errStopped, "the input was stopped"},
	}
	for _, c := range cases {
		if got := describe(c.err, s); got != c.want {
			t.Errorf("%v: %q, want %q", c.err, got, c.want)
		}
	}
}
