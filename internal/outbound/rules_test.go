package outbound

import "testing"

func TestParseRules(t *testing.T) {
	good := map[string][]string{
		"10.0.0.0/8":                  {"10.0.0.0/8"},
		"10.1.2.3/8":                  {"10.0.0.0/8"},
		"192.0.2.7":                   {"192.0.2.7/32"},
		"::ffff:192.0.2.7":            {"192.0.2.7/32"},
		"::ffff:10.0.0.0/104":         {"10.0.0.0/8"},
		"fd00::/8":                    {"fd00::/8"},
		"2001:db8::1":                 {"2001:db8::1/128"},
		"Loopback":                    {"127.0.0.0/8", "::1/128"},
		"link-local, 198.51.100.0/24": {"169.254.0.0/16", "fe80::/10", "198.51.100.0/24"},
	}
	for in, want := range good {
		rules, err := ParseRules(in)
		if err != nil {
			t.Errorf("%q: %v", in, err)
			continue
		}
		if len(rules) != len(want) {
			t.Errorf("%q: %v, want %v", in, rules, want)
			continue
		}
		for i, r := range rules {
			if r.Prefix.String() != want[i] {
				t.Errorf("%q: rule %d is %s, want %s", in, i, r.Prefix, want[i])
			}
		}
	}
	for _, bad := range []string{"", " , ", "10.0.0.0/33", "intranet", "10.0.0", "fe80::1%eth0/64", "http://10.0.0.1"} {
		if _, err := ParseRules(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

// FuzzParseRules: whatever an operator types, parsing never panics, and
// what it accepts is a valid, masked range that covers its own address.
func FuzzParseRules(f *testing.F) {
	for _, s := range []string{"10.0.0.0/8", "192.0.2.7", "::ffff:10.0.0.0/104", "fe80::/10", "private,loopback", "fe80::1%eth0", "1.2.3.4/0", ",,", "::/0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rules, err := ParseRules(s)
		if err != nil {
			return
		}
		if len(rules) == 0 {
			t.Fatalf("%q: no rules and no error", s)
		}
		for _, r := range rules {
			if !r.Prefix.IsValid() || r.Prefix != r.Prefix.Masked() || r.Prefix.Addr().Zone() != "" {
				t.Fatalf("%q: rule %v is not a clean range", s, r.Prefix)
			}
			if !r.Prefix.Contains(r.Prefix.Addr()) {
				t.Fatalf("%q: %v does not contain its own address", s, r.Prefix)
			}
			if r.Prefix.Addr().Is4In6() {
				t.Fatalf("%q: %v is a mapped range; addresses are unmapped before they are checked", s, r.Prefix)
			}
			again, err := ParseRules(r.Prefix.String())
			if err != nil || len(again) != 1 || again[0].Prefix != r.Prefix {
				t.Fatalf("%q: %v does not parse back: %v %v", s, r.Prefix, again, err)
			}
			p := &Policy{deny: []Rule{r}}
			if p.Check(r.Prefix.Addr(), "x") == nil {
				t.Fatalf("%q: %v does not deny its own address", s, r.Prefix)
			}
		}
	})
}
