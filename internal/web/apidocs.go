package web

import "net/http"

// APISpecURL is where the server serves its OpenAPI document as JSON, the
// one the API reference page renders.
const APISpecURL = "/api/v1/openapi.json"

// apiDocsPage is the data of the API reference page.
type apiDocsPage struct {
	// SpecURL is the OpenAPI document; Renderer the vendored Redoc
	// module, with its version query.
	SpecURL, Renderer string
}

// serveAPIDocs renders the API reference: Redoc, embedded like the
// players, renders the OpenAPI document in the browser under the pages'
// Content-Security-Policy.
func (p *Pages) serveAPIDocs(w http.ResponseWriter, r *http.Request) {
	renderer, err := p.assets.URL("vendor/redoc.standalone.js")
	if err != nil {
		p.logger.ErrorContext(r.Context(), "the API reference renderer is not embedded", "err", err)
		p.renderMessage(w, r, http.StatusInternalServerError, "API reference", "Sluice was built without its API reference renderer.")
		return
	}
	p.render(w, r, http.StatusOK, p.views.apiDocs, apiDocsPage{SpecURL: APISpecURL, Renderer: renderer})
}
