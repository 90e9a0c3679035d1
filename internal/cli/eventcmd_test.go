package cli

import (
	"errors"
	"strings"
	"testing"

	"github.com/sluice-video/sluice/internal/resource"
)

func TestReadSSE(t *testing.T) {
	body := "retry: 2000\n\n: heartbeat\n\n" +
		"id: 7\nevent: channel.created\ndata: {\"seq\":7,\"type\":\"channel.created\",\"message\":\"a\"}\n\n" +
		"id: 8\nevent: channel.state_changed\ndata: {\"seq\":8,\n" +
		"data: \"type\":\"channel.state_changed\",\"detail\":{\"to\":\"IDLE\"}}\n\n"
	var got []resource.Event
	if err := readSSE(strings.NewReader(body), func(e resource.Event) error { got = append(got, e); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Seq != 7 || got[1].Detail["to"] != "IDLE" {
		t.Errorf("events: %+v", got)
	}
	err := readSSE(strings.NewReader("data: {nope\n\n"), func(resource.Event) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "unreadable event") {
		t.Errorf("bad data: %v", err)
	}
	stop := errors.New("stop")
	if err := readSSE(strings.NewReader(body), func(resource.Event) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("callback error: %v", err)
	}
}

func FuzzReadSSE(f *testing.F) {
	f.Add([]byte("id: 1\nevent: x\ndata: {\"seq\":1}\n\n"))
	f.Add([]byte("data: [1,2]\n\ndata:\n\n: c\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_ = readSSE(strings.NewReader(string(data)), func(resource.Event) error { return nil })
	})
}
