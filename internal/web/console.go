package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/sluice-video/sluice/internal/auth"
	"github.com/sluice-video/sluice/internal/kinds"
	"github.com/sluice-video/sluice/internal/resource"
)

// Console is what the operator console needs from the server: the kinds
// it runs, the guard of a console page (a login with a role, and the CSRF
// token on changes), the role table of the API and the API's hiding of
// secrets. The console's pages read through the same services the API
// does; every change they offer is a call of the API itself, made by the
// page's script with the login's CSRF token, so the API's role checks
// hold for the console too.
type Console struct {
	Kinds kinds.Table
	// Guard admits the callers of a page whose role allows need.
	Guard func(need auth.Role, page http.Handler) http.Handler
	// Allows tells whether a role may call an API route (method and path
	// pattern); the pages offer only what it allows.
	Allows func(role auth.Role, method, path string) bool
	// Readable is a value as the request's caller may read it.
	Readable func(r *http.Request, v any) (any, error)
	// Nodes lists the nodes of the server's cluster; without it the
	// nodes page says the server is its only node.
	Nodes NodeLister
}

// consolePage is the data every console page has.
type consolePage struct {
	Title string
	// Section names the navigation entry that is current.
	Section string
	Nav     []navItem
	User    string
	Role    auth.Role
	CSRF    string
	// Can holds the actions the caller's role allows, by name.
	Can map[string]bool

	Kind    kinds.Info
	Columns []string
	Rows    []kinds.Row
	Ref     string
	// Inputs are the inputs a channel reads.
	Inputs []string
	Fields []kinds.Field
	JSON   string
	// Editing: the editor's method and API URL.
	Method, Target string
	Error          string
	// Counts are the overview's number of resources by kind.
	Counts []kindCount
	// Nodes are the nodes of the server's cluster; nil when the server
	// keeps no list of them.
	Nodes []nodeRow
	// Node is the node that holds a channel, when one does.
	Node string
	// Alarms are the alarms of the alarms list by name, Alarm the alarm of
	// its page: what their actions need.
	Alarms map[string]*alarmRow
	Alarm  *alarmRow
}

type navItem struct {
	Label, Href, Section string
}

type kindCount struct {
	Info  kinds.Info
	Count int
	Error string
}

// consoleSections are the pages beyond the resource kinds.
func consoleSections() []navItem {
	return []navItem{
		{"Events", "/console/events", "events"},
		{"Jobs", "/console/jobs", "jobs"},
		{"Assets", "/console/assets", "assets"},
		{"Harvests", "/console/harvests", "harvests"},
		{"Metrics", "/console/metrics", "metrics"},
		{"Nodes", "/console/nodes", "nodes"},
		{"Stacks", "/console/stacks", "stacks"},
	}
}

// RegisterConsole adds the console's pages under /console to mux: those
// ConsolePages lists. Every page needs a login with at least the viewer
// role.
func (p *Pages) RegisterConsole(mux *http.ServeMux, c Console) {
	for _, cp := range p.consolePages(c) {
		h := cp.serve
		mux.Handle("GET "+cp.pattern, secured(c.Guard(auth.RoleViewer, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h(w, r, p.newConsolePage(r, c))
		}))))
	}
}

// ConsolePages are the URL patterns of the console's pages, all GET: its
// route table. The console changes nothing itself; its pages' scripts
// call the API's routes.
func ConsolePages() []string {
	var patterns []string
	for _, cp := range (&Pages{}).consolePages(Console{}) {
		patterns = append(patterns, cp.pattern)
	}
	return patterns
}

type consoleRoute struct {
	pattern string
	serve   func(http.ResponseWriter, *http.Request, *consolePage)
}

func (p *Pages) consolePages(c Console) []consoleRoute {
	routes := []consoleRoute{
		{"/console", func(w http.ResponseWriter, r *http.Request, cp *consolePage) { p.consoleOverview(w, r, c, cp) }},
	}
	for _, s := range consoleSections() {
		serve := func(w http.ResponseWriter, r *http.Request, cp *consolePage) {
			cp.Title, cp.Section = s.Label, s.Section
			p.render(w, r, http.StatusOK, p.views.console[s.Section], cp)
		}
		if s.Section == "nodes" {
			serve = func(w http.ResponseWriter, r *http.Request, cp *consolePage) { p.consoleNodes(w, r, c, cp) }
		}
		routes = append(routes, consoleRoute{s.Href, serve})
	}
	return append(routes,
		consoleRoute{"/console/channels/new", func(w http.ResponseWriter, r *http.Request, cp *consolePage) {
			cp.Title, cp.Section = "New channel", "channels"
			cp.Method, cp.Target = http.MethodPost, "/api/v1/channels"
			p.render(w, r, http.StatusOK, p.views.console["channel-form"], cp)
		}},
		consoleRoute{"/console/{kind}", func(w http.ResponseWriter, r *http.Request, cp *consolePage) { p.consoleList(w, r, c, cp) }},
		consoleRoute{"/console/{kind}/new", func(w http.ResponseWriter, r *http.Request, cp *consolePage) { p.consoleEdit(w, r, c, cp, false) }},
		consoleRoute{"/console/{kind}/{ref}", func(w http.ResponseWriter, r *http.Request, cp *consolePage) { p.consoleDetail(w, r, c, cp) }},
		consoleRoute{"/console/{kind}/{ref}/edit", func(w http.ResponseWriter, r *http.Request, cp *consolePage) { p.consoleEdit(w, r, c, cp, true) }},
	)
}

// consoleActions are the actions a page may offer, each the API route
// that carries it out.
func consoleActions() map[string][2]string {
	return map[string][2]string{
		"create":      {http.MethodPost, "/api/v1/channels"},
		"update":      {http.MethodPut, "/api/v1/channels/{ref}"},
		"delete":      {http.MethodDelete, "/api/v1/channels/{ref}"},
		"start":       {http.MethodPost, "/api/v1/channels/{ref}/start"},
		"stop":        {http.MethodPost, "/api/v1/channels/{ref}/stop"},
		"restart":     {http.MethodPost, "/api/v1/channels/{ref}/restart"},
		"rotate":      {http.MethodPost, "/api/v1/inputs/{ref}/rotate-key"},
		"submit":      {http.MethodPost, "/api/v1/jobs"},
		"cancel":      {http.MethodPost, "/api/v1/jobs/{id}/cancel"},
		"harvest":     {http.MethodPost, "/api/v1/harvest-jobs"},
		"upload":      {http.MethodPost, "/api/v1/uploads"},
		"plan":        {http.MethodPost, "/api/v1/stacks/{name}/plan"},
		"apply":       {http.MethodPut, "/api/v1/stacks/{name}"},
		"silence":     {http.MethodPost, "/api/v1/alarms/{ref}/silence"},
		"unsilence":   {http.MethodDelete, "/api/v1/alarms/{ref}/silence"},
		"acknowledge": {http.MethodPost, "/api/v1/alarms/{ref}/acknowledge"},
	}
}

func (p *Pages) newConsolePage(r *http.Request, c Console) *consolePage {
	who, _ := auth.PrincipalFrom(r.Context())
	cp := &consolePage{User: who.Actor(), Role: who.Role, Can: map[string]bool{}}
	if who.Session != nil {
		cp.CSRF = who.Session.CSRF
	}
	for name, rt := range consoleActions() {
		cp.Can[name] = c.Allows(who.Role, rt[0], rt[1])
	}
	for _, k := range c.Kinds.Kinds() {
		cp.Nav = append(cp.Nav, navItem{Label: capital(plural(k.Label)), Href: "/console/" + k.Path, Section: k.Path})
	}
	cp.Nav = append(cp.Nav, consoleSections()...)
	return cp
}

// kindOf finds the kind a console URL names by its API path.
func kindOf(c Console, r *http.Request) (kinds.Kind, bool) {
	path := r.PathValue("kind")
	for _, k := range c.Kinds.Kinds() {
		if k.Path == path {
			return k, true
		}
	}
	return kinds.Kind{}, false
}

// kindAllows is whether the caller may call the kind's route.
func kindAllows(c Console, cp *consolePage, k kinds.Kind, method string, one bool) bool {
	path := "/api/v1/" + k.Path
	if one {
		path += "/{" + k.Param + "}"
	}
	return c.Allows(cp.Role, method, path)
}

func (p *Pages) consoleOverview(w http.ResponseWriter, r *http.Request, c Console, cp *consolePage) {
	cp.Title, cp.Section = "Overview", "overview"
	for _, k := range c.Kinds.Kinds() {
		kc := kindCount{Info: k.Info}
		if all, err := k.List(r.Context()); err != nil {
			kc.Error = err.Error()
		} else {
			kc.Count = len(k.Rows(all))
		}
		cp.Counts = append(cp.Counts, kc)
	}
	p.render(w, r, http.StatusOK, p.views.console["overview"], cp)
}

func (p *Pages) consoleList(w http.ResponseWriter, r *http.Request, c Console, cp *consolePage) {
	k, ok := kindOf(c, r)
	if !ok {
		p.renderMessage(w, r, http.StatusNotFound, "Not found", "The console has no page "+r.URL.Path+".")
		return
	}
	cp.Title, cp.Section, cp.Kind = capital(plural(k.Label)), k.Path, k.Info
	cp.Can["create"] = kindAllows(c, cp, k, http.MethodPost, false)
	cp.Columns = k.Columns()
	all, err := k.List(r.Context())
	if as, ok := all.([]resource.Alarm); ok && err == nil {
		cp.Alarms = map[string]*alarmRow{}
		for _, a := range as {
			row := newAlarmRow(a, cp)
			cp.Alarms[a.Name] = &row
		}
	}
	if err == nil {
		all, err = c.Readable(r, all)
	}
	if err != nil {
		p.logger.ErrorContext(r.Context(), "listing a kind for the console", "kind", k.Name, "err", err)
		cp.Error = "Sluice could not list the " + plural(k.Label) + ": " + err.Error()
		p.render(w, r, http.StatusInternalServerError, p.views.console["list"], cp)
		return
	}
	cp.Rows = k.Rows(all)
	sort.SliceStable(cp.Rows, func(i, j int) bool { return cp.Rows[i].Ref < cp.Rows[j].Ref })
	p.render(w, r, http.StatusOK, p.views.console["list"], cp)
}

// readOne gets one resource of the kind the URL names, as the caller may
// read it; it answers the error page itself when it fails.
func (p *Pages) readOne(w http.ResponseWriter, r *http.Request, c Console, cp *consolePage) (kinds.Kind, any, bool) {
	k, ok := kindOf(c, r)
	if !ok {
		p.renderMessage(w, r, http.StatusNotFound, "Not found", "The console has no page "+r.URL.Path+".")
		return k, nil, false
	}
	ref := r.PathValue("ref")
	v, err := k.Get(r.Context(), ref)
	if err == nil {
		v, err = c.Readable(r, v)
	}
	switch {
	case errors.Is(err, resource.ErrNotFound):
		p.renderMessage(w, r, http.StatusNotFound, capital(k.Label)+" not found", "There is no "+k.Label+" "+ref+".")
		return k, nil, false
	case err != nil:
		p.logger.ErrorContext(r.Context(), "reading a resource for the console", "kind", k.Name, "ref", ref, "err", err)
		p.renderMessage(w, r, http.StatusInternalServerError, capital(k.Label), "Sluice could not read the "+k.Label+": "+err.Error())
		return k, nil, false
	}
	cp.Kind, cp.Ref, cp.Section = k.Info, ref, k.Path
	return k, v, true
}

func (p *Pages) consoleDetail(w http.ResponseWriter, r *http.Request, c Console, cp *consolePage) {
	k, v, ok := p.readOne(w, r, c, cp)
	if !ok {
		return
	}
	cp.Title = capital(k.Label) + " " + cp.Ref
	cp.Can["update"] = kindAllows(c, cp, k, http.MethodPut, true)
	cp.Can["delete"] = kindAllows(c, cp, k, http.MethodDelete, true)
	cp.Fields, _ = k.Detail(v, serverURL(r))
	cp.JSON = indentJSON(v)
	if a, ok := v.(resource.Alarm); ok {
		row := newAlarmRow(a, cp)
		cp.Alarm = &row
	}
	if ch, ok := v.(resource.Channel); ok {
		// The page names the channel's node itself, kept up to date.
		cp.Fields = slices.DeleteFunc(cp.Fields, func(f kinds.Field) bool { return f.Key == "Node" })
		cp.Node = ch.Node
		for _, a := range ch.InputAttachments {
			cp.Inputs = append(cp.Inputs, a.Input)
			if a.SecondaryInput != "" {
				cp.Inputs = append(cp.Inputs, a.SecondaryInput)
			}
		}
	}
	p.render(w, r, http.StatusOK, p.views.console["detail"], cp)
}

func (p *Pages) consoleEdit(w http.ResponseWriter, r *http.Request, c Console, cp *consolePage, existing bool) {
	if !existing {
		k, ok := kindOf(c, r)
		if !ok {
			p.renderMessage(w, r, http.StatusNotFound, "Not found", "The console has no page "+r.URL.Path+".")
			return
		}
		cp.Title, cp.Section, cp.Kind = "New "+k.Label, k.Path, k.Info
		cp.Method, cp.Target = http.MethodPost, "/api/v1/"+k.Path
		cp.Can["save"] = kindAllows(c, cp, k, http.MethodPost, false)
		cp.JSON = indentJSON(k.NewSpec())
		p.render(w, r, http.StatusOK, p.views.console["edit"], cp)
		return
	}
	k, v, ok := p.readOne(w, r, c, cp)
	if !ok {
		return
	}
	cp.Title = "Change " + k.Label + " " + cp.Ref
	cp.Method, cp.Target = http.MethodPut, "/api/v1/"+k.Path+"/"+cp.Ref
	cp.Can["save"] = kindAllows(c, cp, k, http.MethodPut, true)
	cp.JSON = indentJSON(specOf(k, v))
	p.render(w, r, http.StatusOK, p.views.console["edit"], cp)
}

// specOf is the spec part of a resource: its JSON decoded into the kind's
// spec type, which drops what the server adds (state, IDs, times).
func specOf(k kinds.Kind, v any) any {
	spec := k.NewSpec()
	if b, err := json.Marshal(v); err == nil {
		_ = json.Unmarshal(b, spec)
	}
	return spec
}

func indentJSON(v any) string {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return ""
	}
	return string(b)
}

// serverURL is the address the browser reached the server at.
func serverURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func capital(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func plural(s string) string {
	if strings.HasSuffix(s, "s") {
		return s + "es"
	}
	return s + "s"
}
