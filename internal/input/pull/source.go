package pull

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// ErrUnsupportedURL refuses a URL Sluice cannot pull.
var ErrUnsupportedURL = errors.New("unsupported pull URL")

// source is a parsed pull URL: what to connect to, and how to name it in
// logs and statuses without the credentials it may carry.
type source struct {
	raw    string   // as configured, credentials included: never logged
	url    *url.URL // parsed raw
	public string   // raw without the userinfo
	secret redactor
}

// parseSource checks a pull URL: a scheme Sluice pulls, and a host.
func parseSource(raw string) (*source, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error quotes the URL: say what is wrong without it.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("%w: %w", ErrUnsupportedURL, err)
	}
	u.Scheme = strings.ToLower(u.Scheme)
	s := &source{raw: raw, url: u, secret: newRedactor(u.User)}
	pub := *u
	pub.User = nil
	s.public = pub.String()
	switch u.Scheme {
	case "http", "https", "rtmp", "rtmps", "rtsp", "rtsps":
	case "":
		return nil, fmt.Errorf("%w: %s has no scheme (http, https, rtmp, rtmps, rtsp or rtsps)", ErrUnsupportedURL, s.public)
	default:
		return nil, fmt.Errorf("%w: scheme %q (Sluice pulls http, https, rtmp, rtmps, rtsp and rtsps)", ErrUnsupportedURL, u.Scheme)
	}
	if u.Host == "" || u.Hostname() == "" {
		return nil, fmt.Errorf("%w: %s has no host", ErrUnsupportedURL, s.public)
	}
	return s, nil
}

// isHLSPath reports whether the URL names an HLS playlist by its extension.
func (s *source) isHLSPath() bool {
	p := strings.ToLower(s.url.Path)
	return strings.HasSuffix(p, ".m3u8") || strings.HasSuffix(p, ".m3u")
}

// redactor removes a URL's credentials from text (library errors quote
// URLs, some with the user name, some with the password).
type redactor struct {
	secrets []string // longest first
}

func newRedactor(ui *url.Userinfo) redactor {
	if ui == nil {
		return redactor{}
	}
	user := ui.Username()
	pass, hasPass := ui.Password()
	var r redactor
	add := func(s string) {
		if s != "" && s != "@" && s != ":@" {
			r.secrets = append(r.secrets, s)
		}
	}
	// Whole userinfo forms first, as URLs print them.
	add(ui.String() + "@")
	add(url.UserPassword(user, "xxxxx").String() + "@")
	add(user + ":" + pass + "@")
	add(user + "@")
	add(url.User(user).String() + "@")
	// Then the password alone, raw and escaped, when it is not too short
	// to be mistaken for ordinary words.
	if hasPass && len(pass) >= 3 {
		add(pass)
		add(url.QueryEscape(pass))
		add(url.PathEscape(pass))
	}
	// Longest first, so a form is not half-replaced by a shorter one.
	slices.SortStableFunc(r.secrets, func(a, b string) int { return len(b) - len(a) })
	return r
}

// clean returns text without the credentials.
func (r redactor) clean(text string) string {
	for _, s := range r.secrets {
		if strings.HasSuffix(s, "@") {
			text = strings.ReplaceAll(text, s, "")
		} else {
			text = strings.ReplaceAll(text, s, "***")
		}
	}
	return text
}
