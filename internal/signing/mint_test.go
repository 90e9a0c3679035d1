package signing

import (
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestMintSignsURLQueryAndCookies(t *testing.T) {
	key, err := NewHMACKey("k2")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	m, err := Mint(MintRequest{URL: "https://cdn.example/live/news/index.m3u8?x=1", Path: "/live/news/*", ExpiresIn: 600, ClientCIDR: "10.0.0.0/8"}, key, now, CookieOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if m.KeyID != "k2" || !m.Expires.Equal(now.Add(10*time.Minute)) || m.Path != "/live/news/*" || len(m.Cookies) != 3 {
		t.Errorf("minted: %+v", m)
	}
	if !strings.HasPrefix(m.URL, "https://cdn.example/live/news/index.m3u8?") || !strings.Contains(m.URL, "x=1") {
		t.Errorf("url %s", m.URL)
	}
	v, _ := NewVerifier(key)
	v.Now = func() time.Time { return now.Add(time.Minute) }
	for _, u := range []string{m.URL, "/live/news/720p/seg-1.m4s?" + m.Query} {
		r := httptest.NewRequest("GET", u, nil)
		r.RemoteAddr = "10.1.2.3:5000"
		if err := v.Verify(r); err != nil {
			t.Errorf("%s: %v", u, err)
		}
	}
	r := httptest.NewRequest("GET", "/live/news/seg-1.m4s", nil)
	r.RemoteAddr = "10.1.2.3:5000"
	for _, c := range m.Cookies {
		r.Header.Add("Cookie", strings.SplitN(c, ";", 2)[0])
	}
	if err := v.Verify(r); err != nil {
		t.Errorf("cookies: %v", err)
	}
	r = httptest.NewRequest("GET", "/live/sport/seg-1.m4s?"+m.Query, nil)
	r.RemoteAddr = "10.1.2.3:5000"
	if err := v.Verify(r); !errors.Is(err, ErrWrongPath) {
		t.Errorf("other channel: %v", err)
	}
}

func TestMintRefusesWhatCannotWork(t *testing.T) {
	key, _ := NewHMACKey("k1")
	now := time.Now()
	for name, req := range map[string]MintRequest{
		"nothing":          {},
		"past":             {Path: "/a", Expires: now.Add(-time.Minute)},
		"path not covered": {URL: "/live/a/x.m4s", Path: "/live/b/*"},
		"bad network":      {Path: "/a", ClientCIDR: "nope"},
		"negative":         {Path: "/a", ExpiresIn: -5},
	} {
		if _, err := Mint(req, key, now, CookieOptions{}); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestKeyringPicksSigningKeys(t *testing.T) {
	old, _ := NewHMACKey("old")
	ed, _ := NewEd25519Key("ed")
	pub := ed.Public()
	pub.ID = "pub"
	ring, err := NewKeyring(pub, old, ed)
	if err != nil {
		t.Fatal(err)
	}
	if k, err := ring.SigningKey(""); err != nil || k.ID != "old" {
		t.Errorf("default: %v %v", k, err)
	}
	if k, err := ring.SigningKey("ed"); err != nil || k.ID != "ed" {
		t.Errorf("ed: %v %v", k, err)
	}
	if _, err := ring.SigningKey("pub"); err == nil || !strings.Contains(err.Error(), "only a public key") {
		t.Errorf("pub: %v", err)
	}
	if _, err := ring.SigningKey("nope"); err == nil {
		t.Error("unknown key signs")
	}
	if _, err := NewKeyring(old, old); err == nil {
		t.Error("duplicate IDs accepted")
	}
	var empty *Keyring
	if empty.Verifier() != nil || empty.Len() != 0 {
		t.Error("an empty keyring verifies")
	}
	if _, err := empty.SigningKey(""); !errors.Is(err, ErrNoSigningKey) {
		t.Errorf("empty: %v", err)
	}
}
