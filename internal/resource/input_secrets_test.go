package resource

import (
	"strings"
	"testing"
)

func TestInputWithoutSecrets(t *testing.T) {
	in := Input{
		InputSpec: InputSpec{Name: "cam", Type: InputSRTListener, SRT: &SRTSettings{Passphrase: "correct-horse-battery", LatencyMs: 200}},
		StreamKey: "k3yK3yk3y",
		Endpoints: []string{
			"srt://203.0.113.5:9000?streamid=publish:cam:k3yK3yk3y&passphrase=correct-horse-battery&latency=200",
		},
	}
	got := in.WithoutSecrets()
	if got.StreamKey != HiddenStreamKey || got.SRT.Passphrase != HiddenPassphrase {
		t.Errorf("secrets left in fields: key %q, passphrase %q", got.StreamKey, got.SRT.Passphrase)
	}
	for _, u := range got.Endpoints {
		if strings.Contains(u, "k3yK3yk3y") || strings.Contains(u, "correct-horse-battery") {
			t.Errorf("secret left in endpoint %s", u)
		}
	}
	if in.SRT.Passphrase != "correct-horse-battery" || in.Endpoints[0] == got.Endpoints[0] {
		t.Error("hiding secrets changed the original input")
	}
	if got.SRT.LatencyMs != 200 || got.Name != "cam" {
		t.Error("hiding secrets lost other fields")
	}
	plain := Input{InputSpec: InputSpec{Name: "file", Type: InputFile}}
	if p := plain.WithoutSecrets(); p.StreamKey != "" || p.SRT != nil {
		t.Errorf("an input without secrets gained some: %+v", p)
	}
}
