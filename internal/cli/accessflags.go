package cli

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/sluice-video/sluice/internal/confine"
	"github.com/sluice-video/sluice/internal/outbound"
)

// accessOptions are the flags that say what users may reach through
// Sluice: the addresses of outbound connections and the folders of files.
type accessOptions struct {
	outboundDeny  []string
	outboundAllow []string
	mediaAllow    []string
}

// addAccessFlags registers the access flags on serve and worker.
func addAccessFlags(cmd *cobra.Command, o *accessOptions) {
	f := cmd.Flags()
	f.StringArrayVar(&o.outboundDeny, "outbound-deny", splitEnv("SLUICE_OUTBOUND_DENY"),
		"addresses webhooks, pulled sources, remote files and pipeline storage may not connect to: a CIDR, an address, or loopback, link-local, private, unspecified (repeatable; link-local is always denied, loopback and 0.0.0.0 too unless the server listens on loopback only; env SLUICE_OUTBOUND_DENY, comma-separated)")
	f.StringArrayVar(&o.outboundAllow, "outbound-allow", splitEnv("SLUICE_OUTBOUND_ALLOW"),
		"addresses allowed despite the denied ones, in the same forms (repeatable; env SLUICE_OUTBOUND_ALLOW, comma-separated)")
	f.StringArrayVar(&o.mediaAllow, "media-allow", splitEnv("SLUICE_MEDIA_ALLOW"),
		"a folder besides <data>/media that FILE inputs, slates and pipeline folders may name by absolute path (repeatable; env SLUICE_MEDIA_ALLOW, comma-separated)")
}

// roots checks the media folders: <data>/media and --media-allow, made
// absolute; it returns the allowed folders as the server takes them.
func (o accessOptions) roots(media string) (*confine.Roots, []string, error) {
	allowed := make([]string, 0, len(o.mediaAllow))
	for _, a := range o.mediaAllow {
		abs, err := filepath.Abs(a)
		if err != nil {
			return nil, nil, fmt.Errorf("--media-allow %q: %w", a, err)
		}
		allowed = append(allowed, abs)
	}
	r, err := confine.New(media, allowed)
	return r, allowed, err
}

// policy returns the outbound policy of the flags.
func (o accessOptions) policy(loopbackOnly bool) (*outbound.Policy, error) {
	return outbound.New(outbound.Config{LoopbackOnly: loopbackOnly, Deny: o.outboundDeny, Allow: o.outboundAllow})
}
