package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluice-video/sluice/internal/signing"
)

type signOptions struct {
	keyID     string
	keyFile   string
	path      string
	expires   string
	notBefore string
	cidr      string
	cookie    bool
}

func newSignCmd(g *globals) *cobra.Command {
	o := signOptions{}
	cmd := &cobra.Command{
		Use:   "sign [URL]",
		Short: "Mint a signed URL (and cookies) for protected endpoints and edges",
		Long: `sign makes a signature that the origin and edges accept for the paths its
policy covers, until it expires. The policy holds the path (a pattern where
"*" matches any run of characters, so /live/news/* covers a whole channel),
the expiry, an optional start time and an optional client network.

With --key-file the signature is made here with the key in that file;
without it, the server signs with its own key (POST /api/v1/sign, which needs
the API token when the server requires one). Give a URL to get it back
signed; the signature also works as query parameters appended to any other
URL the policy covers, or as cookies (--cookie prints them).`,
		Example: `  sluice sign http://edge:8081/live/news/hls/index.m3u8 --path '/live/news/*' --expires 2h
  sluice sign --key-file edge.key --path '/live/news/*' --expires 2026-12-01T00:00:00Z --cidr 203.0.113.0/24
  sluice sign --key-id k2 --path /live/news/dash/manifest.mpd --not-before 10m --cookie`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req, err := o.request(args, time.Now())
			if err != nil {
				return err
			}
			m, err := mint(cmd.Context(), g, o, req)
			if err != nil {
				return err
			}
			if j, err := g.wantJSON(); err != nil || j {
				return orJSON(g, err, m)
			}
			if m.URL != "" {
				_, _ = fmt.Fprintln(g.stdout, m.URL)
			} else {
				_, _ = fmt.Fprintln(g.stdout, m.Query)
			}
			if o.cookie {
				for _, c := range m.Cookies {
					_, _ = fmt.Fprintln(g.stdout, "Set-Cookie: "+c)
				}
			}
			_, _ = fmt.Fprintf(g.stderr, "signed %s with key %s, valid until %s\n", m.Path, m.KeyID, m.Expires.Local().Format(time.RFC3339))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.keyID, "key-id", "", "key to sign with (default: the first signing key)")
	f.StringVar(&o.keyFile, "key-file", "", `file holding the key ("hmac:<id>:<secret>" or "ed25519:<id>:<seed>"); without it the server signs`)
	f.StringVar(&o.path, "path", "", `policy path, "*" matching any run of characters (default: the URL's path)`)
	f.StringVar(&o.expires, "expires", "1h", "expiry: a duration from now (90m) or a time (2026-12-01T00:00:00Z)")
	f.StringVar(&o.notBefore, "not-before", "", "start of validity: a duration from now or a time")
	f.StringVar(&o.cidr, "cidr", "", "network the viewer must connect from, e.g. 203.0.113.0/24")
	f.BoolVar(&o.cookie, "cookie", false, "also print the signature as Set-Cookie headers")
	return cmd
}

// request turns the flags into a mint request at time now.
func (o signOptions) request(args []string, now time.Time) (signing.MintRequest, error) {
	req := signing.MintRequest{Path: o.path, ClientCIDR: o.cidr, KeyID: o.keyID}
	if len(args) == 1 {
		req.URL = args[0]
	}
	if req.URL == "" && req.Path == "" {
		return req, errors.New("give a URL to sign or --path")
	}
	var err error
	if req.Expires, err = timeArg("--expires", o.expires, now); err != nil {
		return req, err
	}
	if o.notBefore != "" {
		if req.NotBefore, err = timeArg("--not-before", o.notBefore, now); err != nil {
			return req, err
		}
	}
	return req, nil
}

// timeArg reads a duration from now or an RFC 3339 time.
func timeArg(flag, s string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(d), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%s %q: give a duration from now (90m, 2h) or a time (2026-12-01T00:00:00Z)", flag, s)
}

// mint signs locally with --key-file, else asks the server.
func mint(ctx context.Context, g *globals, o signOptions, req signing.MintRequest) (signing.Minted, error) {
	if o.keyFile == "" {
		c, err := g.client()
		if err != nil {
			return signing.Minted{}, err
		}
		var m signing.Minted
		err = c.do(ctx, "POST", "/api/v1/sign", req, &m)
		return m, err
	}
	key, err := readKeyArg("@" + o.keyFile)
	if err != nil {
		return signing.Minted{}, fmt.Errorf("--key-file: %w", err)
	}
	if o.keyID != "" && key.ID != o.keyID {
		return signing.Minted{}, fmt.Errorf("--key-file holds key %s, not %s", key.ID, o.keyID)
	}
	insecure := !strings.HasPrefix(req.URL, "https://")
	return signing.Mint(req, key, time.Now(), signing.CookieOptions{Insecure: insecure})
}
