package auth

import (
	"strings"
	"testing"
)

// cheap are costs that keep the tests quick; the encoding is the same.
func cheap() Params { return Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32} }

func TestPasswordHashes(t *testing.T) {
	p := cheap()
	h1, err := HashPassword("correct horse battery", p)
	if err != nil {
		t.Fatal(err)
	}
	h2, _ := HashPassword("correct horse battery", p)
	if h1 == h2 {
		t.Error("two hashes of one password are equal: the salt is not per hash")
	}
	if !strings.HasPrefix(h1, "$argon2id$v=19$m=64,t=1,p=1$") || strings.Contains(h1, "correct") {
		t.Errorf("hash %s", h1)
	}
	for _, c := range []struct {
		password     string
		params       Params
		match, stale bool
	}{
		{"correct horse battery", p, true, false},
		{"correct horse batterY", p, false, false},
		{"", p, false, false},
		{"correct horse battery", DefaultParams(), true, true},
	} {
		match, stale, err := VerifyPassword(h1, c.password, c.params)
		if err != nil || match != c.match || stale != c.stale {
			t.Errorf("%q with %+v: match %v stale %v %v, want %v %v", c.password, c.params, match, stale, err, c.match, c.stale)
		}
	}
	// The default costs, once.
	h, err := HashPassword("correct horse battery", DefaultParams())
	if err != nil || !strings.HasPrefix(h, "$argon2id$v=19$m=65536,t=3,p=2$") {
		t.Fatalf("%s %v", h, err)
	}
	if match, stale, err := VerifyPassword(h, "correct horse battery", DefaultParams()); !match || stale || err != nil {
		t.Errorf("default costs: %v %v %v", match, stale, err)
	}
}

func TestStoredHashesAreReadStrictly(t *testing.T) {
	good, _ := HashPassword("x", cheap())
	parts := strings.Split(good, "$")
	salt, key := parts[4], parts[5]
	for _, bad := range []string{
		"",
		"plain",
		"$argon2i$v=19$m=64,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=16$m=64,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=64,t=1$" + salt + "$" + key,
		"$argon2id$v=19$m=064,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=+64,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=4194304,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=64,t=0,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=64,t=1,p=65$" + salt + "$" + key,
		"$argon2id$v=19$m=8,t=1,p=2$" + salt + "$" + key,
		"$argon2id$v=19$m=64,t=1,p=1$" + salt + "=$" + key,
		"$argon2id$v=19$m=64,t=1,p=1$AAAA$" + key,
		"$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + key + "$",
		"$argon2id$v=19$t=1,m=64,p=1$" + salt + "$" + key,
	} {
		if _, err := parseHash(bad); err == nil {
			t.Errorf("%q was read", bad)
		}
		if match, _, err := VerifyPassword(bad, "x", cheap()); match || err == nil {
			t.Errorf("%q verified", bad)
		}
	}
}

// FuzzParseHash: whatever a stored hash holds, reading it neither panics
// nor accepts costs past the bounds, and what it accepts it writes back
// the same.
func FuzzParseHash(f *testing.F) {
	good, _ := HashPassword("x", cheap())
	f.Add(good)
	f.Add("$argon2id$v=19$m=65536,t=3,p=2$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g")
	f.Add("$argon2id$v=19$m=99999999999,t=1,p=1$$")
	f.Fuzz(func(t *testing.T, s string) {
		h, err := parseHash(s)
		if err != nil {
			return
		}
		if h.params.Memory > maxMemory || h.params.Time > maxTime || h.params.Threads > maxThreads || h.params.Threads == 0 {
			t.Fatalf("%q: costs past the bounds: %+v", s, h.params)
		}
		if h.String() != s {
			t.Fatalf("%q reads back as %q", s, h.String())
		}
	})
}

func TestRoles(t *testing.T) {
	if !RoleAdmin.Allows(RoleOperator) || !RoleOperator.Allows(RoleViewer) || RoleViewer.Allows(RoleOperator) || RoleNone.Allows(RoleViewer) || !RoleNone.Allows(RoleNone) {
		t.Error("roles are not ordered viewer < operator < admin")
	}
	for _, s := range []string{"admin", "Operator", " viewer "} {
		if _, err := ParseRole(s); err != nil {
			t.Errorf("%q: %v", s, err)
		}
	}
	for _, s := range []string{"", "root", "none"} {
		if _, err := ParseRole(s); err == nil {
			t.Errorf("%q is a role", s)
		}
	}
	for _, n := range []string{"ana", "a.b-c_d@example", "x1"} {
		if err := checkName("user", n); err != nil {
			t.Errorf("%q: %v", n, err)
		}
	}
	for _, n := range []string{"", "-a", "a b", "a/b", strings.Repeat("a", 65), "é"} {
		if err := checkName("user", n); err == nil {
			t.Errorf("%q is a valid name", n)
		}
	}
}
