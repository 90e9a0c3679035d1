package api

import (
	"context"
	"fmt"
	"net/http"

	"github.com/sluice-video/sluice/internal/secret"
)

// KnownSecrets collects the secrets of every resource the server holds,
// so that answers that quote them in free text (a channel's last error
// naming its input's pull URL, an event, a webhook delivery's error) can
// be scrubbed of them, whichever resource they belong to.
func (a *API) KnownSecrets(ctx context.Context) (*secret.Known, error) {
	var sources []any
	for _, k := range a.cfg.Kinds.Kinds() {
		all, err := k.List(ctx)
		if err != nil {
			return nil, fmt.Errorf("collecting the secrets to hide: %w", err)
		}
		sources = append(sources, all)
	}
	if a.cfg.Hooks != nil {
		sources = append(sources, a.cfg.Hooks.Webhooks())
	}
	return secret.Find(sources...), nil
}

// forReader is v as the caller of r may read it: whole for callers who
// may see secrets, else through secret.Redact with every secret the
// server holds.
func (a *API) forReader(r *http.Request, v any) (any, error) {
	if a.seesSecrets(r) {
		return v, nil
	}
	known, err := a.KnownSecrets(r.Context())
	if err != nil {
		return nil, err
	}
	return secret.Redact(v, known), nil
}
