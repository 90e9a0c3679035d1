package outbound

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// ParseRules reads one --outbound-deny or --outbound-allow value: a CIDR
// ("10.0.0.0/8", "fd00::/8"), a single address ("192.0.2.7"), a named set
// (loopback, link-local, private, unspecified), or several of these
// separated by commas.
func ParseRules(value string) ([]Rule, error) {
	var out []Rule
	for part := range strings.SplitSeq(value, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if set := namedSet(strings.ToLower(part)); set != nil {
			out = append(out, set...)
			continue
		}
		r, err := parseRule(part)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	if len(out) == 0 {
		return nil, errors.New("empty: want a CIDR, an address, or loopback, link-local, private or unspecified")
	}
	return out, nil
}

func parseRule(s string) (Rule, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return Rule{}, fmt.Errorf("%q is not a CIDR such as 10.0.0.0/8 or fd00::/8", s)
		}
		if p.Addr().Zone() != "" {
			return Rule{}, fmt.Errorf("%q: a range takes no zone", s)
		}
		// An IPv4-mapped range is the IPv4 range: addresses are unmapped
		// before they are checked.
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		return Rule{Prefix: p.Masked(), Name: s}, nil
	}
	ip, err := netip.ParseAddr(s)
	if err != nil {
		return Rule{}, fmt.Errorf("%q is not an address, a CIDR, or one of loopback, link-local, private, unspecified", s)
	}
	ip = ip.Unmap().WithZone("")
	return Rule{Prefix: netip.PrefixFrom(ip, ip.BitLen()), Name: s}, nil
}

// namedSet returns the ranges of a named set, nil for an unknown name.
func namedSet(name string) []Rule {
	var cidrs []string
	switch name {
	case "loopback":
		cidrs = []string{"127.0.0.0/8", "::1/128"}
	case "link-local":
		// 169.254.169.254 is the metadata service of most clouds.
		cidrs = []string{"169.254.0.0/16", "fe80::/10"}
	case "unspecified":
		// Connecting to 0.0.0.0 or :: reaches the local machine.
		cidrs = []string{"0.0.0.0/8", "::/128"}
	case "private":
		cidrs = []string{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"}
	default:
		return nil
	}
	out := make([]Rule, len(cidrs))
	for i, c := range cidrs {
		out[i] = Rule{Prefix: netip.MustParsePrefix(c), Name: name}
	}
	return out
}
