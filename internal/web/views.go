package web

import (
	"bytes"
	"embed"
	"html/template"
	"net/http"
	"strings"

	"github.com/sluice-video/sluice/internal/resource"
)

// embeddedTemplates holds the page templates: layout.html frames every page,
// and each other file defines a page's "title", "scripts" and "content".
//
//go:embed templates/*.html
var embeddedTemplates embed.FS

// views are the parsed page templates.
type views struct {
	list    *template.Template
	play    *template.Template
	message *template.Template
	apiDocs *template.Template
	publish *template.Template
	login   *template.Template
	// console holds the console's pages by name: "list" is
	// templates/console_list.html.
	console map[string]*template.Template
}

// newViews parses the embedded templates, giving them an "asset" function
// that links an embedded asset by name.
func newViews(assets *assetServer) *views {
	base := template.Must(template.New("layout.html").
		Funcs(template.FuncMap{"asset": assets.URL, "lower": strings.ToLower, "stateClass": func(s string) string { return stateClass(resource.ChannelState(s)) }, "silenceChoices": silenceChoices}).
		ParseFS(embeddedTemplates, "templates/layout.html", "templates/channel.html"))
	page := func(file string) *template.Template {
		return template.Must(template.Must(base.Clone()).ParseFS(embeddedTemplates, "templates/"+file))
	}
	consoleBase := template.Must(template.Must(base.Clone()).ParseFS(embeddedTemplates, "templates/console_base.html"))
	console := map[string]*template.Template{}
	for _, name := range []string{"overview", "list", "detail", "edit", "channel-form", "events", "jobs", "assets", "harvests", "metrics", "nodes", "stacks"} {
		file := "templates/console_" + strings.ReplaceAll(name, "-", "_") + ".html"
		console[name] = template.Must(template.Must(consoleBase.Clone()).ParseFS(embeddedTemplates, file))
	}
	return &views{
		console: console,
		list:    page("list.html"),
		play:    page("play.html"),
		message: page("message.html"),
		apiDocs: page("apidocs.html"),
		publish: page("publish.html"),
		login:   page("login.html"),
	}
}

// messagePage is the data of a page that only says something went wrong.
type messagePage struct {
	Title   string
	Message string
}

// render executes t into a buffer first, so a template failure becomes a
// clean 500 rather than half a page.
func (p *Pages) render(w http.ResponseWriter, r *http.Request, status int, t *template.Template, data any) {
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", data); err != nil {
		p.logger.ErrorContext(r.Context(), "rendering page", "path", r.URL.Path, "err", err)
		http.Error(w, "internal error rendering the page", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// renderMessage shows a page that explains an error, with the given status.
func (p *Pages) renderMessage(w http.ResponseWriter, r *http.Request, status int, title, msg string) {
	p.render(w, r, status, p.views.message, messagePage{Title: title, Message: msg})
}
