package web

import (
	"net/http"
	"testing"

	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/secret"
)

// liveChannel is a channel fed by an RTMP input with an SRT backup, and a
// file input that has nothing to publish to.
func liveChannel() (resource.Channel, []resource.Input) {
	ch := demoChannel()
	ch.InputAttachments = []resource.InputAttachment{{Input: "cam", SecondaryInput: "backup"}, {Input: "slate"}}
	return ch, []resource.Input{
		{
			ID: "in-1", InputSpec: resource.InputSpec{Name: "cam", Type: resource.InputRTMPPush},
			StreamKey: "k3y-ABC",
			Endpoints: []string{"rtmp://ingest.example.com:1935/live/k3y-ABC", "rtmps://ingest.example.com:1936/live/k3y-ABC"},
			Live: &resource.LiveStatus{Connected: true, Publisher: "203.0.113.7:50122", Protocol: "rtmp",
				Video: "H264", Width: 1280, Height: 720, Audio: "AAC", BitrateIn: 3_500_000},
		},
		{
			ID: "in-2", InputSpec: resource.InputSpec{Name: "backup", Type: resource.InputSRTListener},
			StreamKey: "s&key",
			Endpoints: []string{"srt://ingest.example.com:9000?streamid=s%26key"},
			Live:      &resource.LiveStatus{LastPublisher: "198.51.100.2:4000", LastEndReason: "no media for 5 s"},
		},
		{ID: "in-3", InputSpec: resource.InputSpec{Name: "slate", Type: resource.InputFile, URL: "slate.mp4"}},
	}
}

func TestPlayPageListsPushInputs(t *testing.T) {
	ch, ins := liveChannel()
	srv := newTestServer(t, &fakeChannels{channels: []resource.Channel{ch}, inputs: ins})
	resp, body := get(t, srv, "/play/demo")
	checkHTML(t, resp, http.StatusOK)
	mustContain(t, body,
		`<section class="inputs" id="inputs">`,
		`/assets/copy.js?v=`,
		// OBS wants the server and the key apart; ffmpeg the whole URL.
		`<code>rtmp://ingest.example.com:1935/live</code> <button type="button" class="copy" data-copy="rtmp://ingest.example.com:1935/live">Copy</button>`,
		`<code>k3y-ABC</code> <button type="button" class="copy" data-copy="k3y-ABC">Copy</button>`,
		`data-copy="rtmp://ingest.example.com:1935/live/k3y-ABC"`,
		`data-copy="rtmps://ingest.example.com:1936/live/k3y-ABC"`,
		`<dt>RTMPS server</dt>`,
		// SRT carries the key in the URL, escaped once in HTML.
		`data-copy="srt://ingest.example.com:9000?streamid=s%26key"`,
		`<span class="role">primary</span>`, `<span class="role">secondary</span>`,
		`receiving from 203.0.113.7:50122 over rtmp: H264 1280x720, AAC, 3.50 Mbit/s`,
		`the last, 198.51.100.2:4000, ended: no media for 5 s`,
	)
	mustNotContain(t, body, `data-input="slate"`)
	checkNoInlineCode(t, body)
	checkAssetLinks(t, srv, body)
}

func TestPlayPageWithoutPushInputs(t *testing.T) {
	srv := newTestServer(t, &fakeChannels{channels: []resource.Channel{demoChannel()}})
	_, body := get(t, srv, "/play/demo")
	mustNotContain(t, body, `id="inputs"`, "copy.js")
}

func TestPlayPageNamesAMissingInput(t *testing.T) {
	ch := demoChannel()
	ch.InputAttachments = []resource.InputAttachment{{Input: "gone"}}
	srv := newTestServer(t, &fakeChannels{channels: []resource.Channel{ch}})
	resp, body := get(t, srv, "/play/demo")
	checkHTML(t, resp, http.StatusOK)
	mustContain(t, body, `data-input="gone"`, "this input does not exist")
}

func TestPublishView(t *testing.T) {
	for _, c := range []struct {
		url, key, proto, server string
	}{
		{"rtmp://h:1935/live/abc", "abc", "RTMP", "rtmp://h:1935/live"},
		{"rtmps://h:443/live/abc", "abc", "RTMPS", "rtmps://h:443/live"},
		{"rtmp://h:1935/live/other", "abc", "RTMP", ""},
		{"udp://h:5000", "", "UDP", ""},
		{"srt://h:9000?streamid=abc", "abc", "SRT", ""},
	} {
		pv := newPublishView(c.url, c.key)
		if pv.Protocol != c.proto || pv.Server != c.server || pv.URL != c.url || (c.server != "" && pv.Key != c.key) {
			t.Errorf("%s: %+v", c.url, pv)
		}
	}
}

func TestPlayPageWithHiddenStreamKeys(t *testing.T) {
	ch, ins := liveChannel()
	for i := range ins {
		ins[i] = secret.Redact(ins[i], nil)
	}
	srv := newTestServer(t, &fakeChannels{channels: []resource.Channel{ch}, inputs: ins})
	resp, body := get(t, srv, "/play/demo")
	checkHTML(t, resp, http.StatusOK)
	mustContain(t, body, "The stream key is hidden on this page", "<code>sluice input get cam</code>")
	mustNotContain(t, body, "k3y-ABC")
}
