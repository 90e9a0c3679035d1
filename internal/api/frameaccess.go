package api

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/sluice-video/sluice/internal/signing"
)

// frameAccess decides whether r may read the frames of the channel name.
//
// On a server with an API token, frames need a caller who proved who it
// is (a token, named or the server's, or a login: any role) or a
// signature for the channel. A channel that restricts its
// viewers (an endpoint requires signed URLs or a key token) needs the same
// even on a server without a token: its pictures are for those who may
// watch it. A signature is for the channel when its policy covers the
// request's path (/api/v1/channels/<name>/frames) or the channel's live
// path /live/<name>/frames, as the channel-wide /live/<name>/* given to
// its viewers does; a policy for one endpoint does not.
func (a *API) frameAccess(r *http.Request, name string, restricted bool) error {
	if a.cfg.Token == "" && !restricted {
		return nil
	}
	if authenticated(r) {
		return nil
	}
	sent := callerOf(r).badToken
	livePath := "/live/" + url.PathEscape(name) + "/frames"
	if a.verifier != nil {
		err := a.verifier.VerifyFor(r, r.URL.Path, "/api/v1/channels/"+url.PathEscape(name)+"/frames", livePath)
		if err == nil {
			return nil
		}
		if !errors.Is(err, signing.ErrMissing) {
			return err
		}
	}
	var detail string
	switch {
	case a.cfg.Token == "" && a.verifier == nil:
		return &forbiddenError{detail: fmt.Sprintf("channel %s admits only some viewers (signed URLs or a key token), and this server has neither an API token nor signing keys to admit anyone to its frames", name)}
	case a.cfg.Token == "":
		detail = fmt.Sprintf("channel %s admits only some viewers (signed URLs or a key token): its frames need a signed URL or cookie whose policy covers %s or this path", name, livePath)
	case a.verifier == nil:
		detail = "frames need an API token (Authorization: Bearer <token>) or a login"
	default:
		detail = fmt.Sprintf("frames need an API token (Authorization: Bearer <token>), a login, or a signed URL or cookie whose policy covers %s or this path", livePath)
	}
	if sent {
		detail = "the API token is wrong; " + detail
	}
	return &unauthorizedError{detail: detail, presented: sent}
}
