package cli

import (
	"fmt"
	"math"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"github.com/sluice-video/sluice/internal/signing"
)

// readKeyArg reads a signing key given on the command line: the key text
// itself ("hmac:<id>:<secret>", ...) or @file holding it. Errors name the
// file or the key ID, never the material.
func readKeyArg(arg string) (signing.Key, error) {
	text := arg
	if path, ok := strings.CutPrefix(arg, "@"); ok {
		b, err := os.ReadFile(path) //nolint:gosec // a file the operator names
		if err != nil {
			return signing.Key{}, fmt.Errorf("reading the key file: %w", err)
		}
		text = strings.TrimSpace(string(b))
	}
	return signing.ParseKey(text)
}

// parseSize reads a size such as "512MiB", "2GiB", "64MB" or "1048576"
// (bytes) for the flag named flag.
func parseSize(flag, s string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{
		{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
		{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
		{"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"T", 1 << 40}, {"B", 1},
	}
	num, mult := strings.TrimSpace(s), int64(1)
	for _, u := range units {
		if n, ok := strings.CutSuffix(num, u.suffix); ok {
			num, mult = strings.TrimSpace(n), u.mult
			break
		}
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || v <= 0 || math.IsInf(v, 0) || v*float64(mult) > math.MaxInt64/2 {
		return 0, fmt.Errorf("%s %q: give a positive size such as 512MiB or 2GiB", flag, s)
	}
	return int64(v * float64(mult)), nil
}

// serverKeys reads serve's --signing-key and --signing-trusted-network.
func serverKeys(args, networks []string) (*signing.Keyring, []netip.Prefix, error) {
	keys := make([]signing.Key, 0, len(args))
	for _, a := range args {
		k, err := readKeyArg(a)
		if err != nil {
			return nil, nil, fmt.Errorf("--signing-key: %w", err)
		}
		keys = append(keys, k)
	}
	ring, err := signing.NewKeyring(keys...)
	if err != nil {
		return nil, nil, fmt.Errorf("--signing-key: %w", err)
	}
	var trusted []netip.Prefix
	for _, n := range networks {
		p, err := netip.ParsePrefix(n)
		if err != nil {
			return nil, nil, fmt.Errorf("--signing-trusted-network %q: not a CIDR such as 10.0.0.0/8", n)
		}
		trusted = append(trusted, p.Masked())
	}
	return ring, trusted, nil
}

// splitEnv reads a comma-separated list from an environment variable.
func splitEnv(name string) []string {
	var out []string
	for _, v := range strings.Split(os.Getenv(name), ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}
