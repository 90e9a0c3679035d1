package web

import (
	"net/http"
	"sort"
)

// listPage is the data of the channel list.
type listPage struct {
	Channels []channelView
	Error    string
}

// serveList renders the channel list. The page's script then refreshes it
// from the JSON API every two seconds.
func (p *Pages) serveList(w http.ResponseWriter, r *http.Request) {
	chs, err := p.channels.ListChannels(r.Context())
	if err != nil {
		p.logger.ErrorContext(r.Context(), "listing channels for the web page", "err", err)
		p.render(w, r, http.StatusInternalServerError, p.views.list,
			listPage{Error: "Sluice could not list the channels: " + err.Error()})
		return
	}
	sort.SliceStable(chs, func(i, j int) bool { return chs[i].Name < chs[j].Name })
	page := listPage{Channels: make([]channelView, len(chs))}
	for i, ch := range chs {
		page.Channels[i] = newChannelView(ch)
	}
	p.render(w, r, http.StatusOK, p.views.list, page)
}
