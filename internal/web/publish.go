package web

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/sluice-video/sluice/internal/resource"
)

// publishPage is the data of the page that publishes the browser's camera
// and microphone to a WHIP_PUSH input.
type publishPage struct {
	Input string
	// WHIPURL is where the page sends its offer.
	WHIPURL string
}

// publishPath is the publishing page of the named input.
func publishPath(name string) string { return "/publish/" + url.PathEscape(name) }

// servePublish renders the publishing page of a WHIP_PUSH input. The page
// does not carry the stream key: the publisher types it, or the link
// carries it in its fragment (#key=…), which browsers never send.
func (p *Pages) servePublish(w http.ResponseWriter, r *http.Request) {
	ref := r.PathValue("input")
	in, err := p.channels.GetInput(r.Context(), ref)
	switch {
	case errors.Is(err, resource.ErrNotFound):
		p.renderMessage(w, r, http.StatusNotFound, "Input not found", "There is no input named "+ref+".")
		return
	case err != nil:
		p.renderMessage(w, r, http.StatusInternalServerError, "Input unavailable", "Sluice could not look up input "+ref+": "+err.Error())
		return
	case in.Type != resource.InputWHIPPush:
		p.renderMessage(w, r, http.StatusBadRequest, "Not a WHIP input",
			"Input "+in.Name+" is "+string(in.Type)+": browsers publish to WHIP_PUSH inputs only.")
		return
	}
	p.render(w, r, http.StatusOK, p.views.publish, publishPage{Input: in.Name, WHIPURL: "/ingest/whip/" + url.PathEscape(in.Name)})
}
