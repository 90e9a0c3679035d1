package resource

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/sluice-video/sluice/internal/secret"
)

func TestInputSecretsAreHidden(t *testing.T) {
	in := Input{
		InputSpec: InputSpec{Name: "cam", Type: InputSRTListener, SRT: &SRTSettings{Passphrase: "correct-horse-battery", LatencyMs: 200}},
		StreamKey: "k3yK3yk3y",
		Endpoints: []string{
			"srt://203.0.113.5:9000?streamid=publish:cam:k3yK3yk3y&passphrase=correct-horse-battery&latency=200",
		},
	}
	got := secret.Redact(in, nil)
	if got.StreamKey != HiddenStreamKey || got.SRT.Passphrase != HiddenPassphrase {
		t.Errorf("secrets left in fields: key %q, passphrase %q", got.StreamKey, got.SRT.Passphrase)
	}
	want := "srt://203.0.113.5:9000?streamid=publish:cam:" + HiddenStreamKey + "&passphrase=" + HiddenPassphrase + "&latency=200"
	if got.Endpoints[0] != want {
		t.Errorf("endpoint %s, want %s", got.Endpoints[0], want)
	}
	if in.SRT.Passphrase != "correct-horse-battery" || in.Endpoints[0] == got.Endpoints[0] {
		t.Error("hiding secrets changed the original input")
	}
	if got.SRT.LatencyMs != 200 || got.Name != "cam" {
		t.Error("hiding secrets lost other fields")
	}
	plain := Input{InputSpec: InputSpec{Name: "file", Type: InputFile, URL: "clips/a.mp4"}}
	if p := secret.Redact(plain, nil); p.StreamKey != "" || p.SRT != nil || p.URL != "clips/a.mp4" {
		t.Errorf("an input without secrets gained some or lost its file: %+v", p)
	}
	caller := Input{InputSpec: InputSpec{Name: "c", Type: InputSRTCaller, URL: "srt://10.0.0.1:9000", SRT: &SRTSettings{StreamID: "#!::r=live,u=me,s=caller-key"}}}
	if p := secret.Redact(caller, nil); p.SRT.StreamID != HiddenStreamID || p.URL != "srt://10.0.0.1:9000" {
		t.Errorf("caller: %+v %+v", p.InputSpec, p.SRT)
	}
	pull := Input{InputSpec: InputSpec{Name: "p", Type: InputURLPull, URL: "rtsp://admin:cam-pass-1@10.0.0.9/stream1"}}
	if p := secret.Redact(pull, nil); p.URL != "rtsp://"+secret.HiddenCredentials+"@10.0.0.9/stream1" {
		t.Errorf("pull URL: %s", p.URL)
	}
}

func TestChannelSecretsAreHidden(t *testing.T) {
	ch := Channel{ChannelSpec: ChannelSpec{Outputs: []OutputGroup{
		{Name: "hls", Type: OutputHLS, Encryption: &Encryption{Method: EncryptionAES128, KeyToken: "key-token-0123456789"}},
		{Name: "yt", Type: OutputRTMP, DeliverySettings: DeliverySettings{Destination: "rtmp://a.rtmp.youtube.com/live2/abcd-efgh"}},
		{Name: "q", Type: OutputRTMP, DeliverySettings: DeliverySettings{Destination: "rtmps://x.example.com:443/app?key=s3cret"}},
		{Name: "udp", Type: OutputUDP, DeliverySettings: DeliverySettings{Destination: "udp://h:1"}},
	}}, Deliveries: []DeliveryStatus{{Name: "yt", LastError: "rtmp://a.rtmp.youtube.com/live2/abcd-efgh: Connection refused"}}}
	got := secret.Redact(ch, nil)
	if d := got.Outputs[1].Destination; d != "rtmp://a.rtmp.youtube.com/live2/"+HiddenStreamKey {
		t.Errorf("key in the path: %s", d)
	}
	if d := got.Outputs[2].Destination; strings.Contains(d, "s3cret") {
		t.Errorf("key in the query: %s", d)
	}
	if e := got.Deliveries[0].LastError; strings.Contains(e, "abcd-efgh") {
		t.Errorf("key in the last error: %s", e)
	}
	if k := got.Outputs[0].Encryption.KeyToken; k != HiddenKeyToken {
		t.Errorf("key token: %s", k)
	}
	if got.Outputs[3].Destination != "udp://h:1" || ch.Outputs[1].Destination != "rtmp://a.rtmp.youtube.com/live2/abcd-efgh" {
		t.Error("only RTMP keys are hidden, and only in the copy")
	}
}

func TestWebhookAndPipelineSecretsAreHidden(t *testing.T) {
	hook := Action{Type: ActionWebhook, URL: "https://ops.example.com/hook?token=qs-token-1", Secret: "hmac-secret-1"}
	values := []any{
		Rule{RuleSpec: RuleSpec{Name: "r", Actions: []Action{hook}}},
		Alarm{AlarmSpec: AlarmSpec{Name: "a", AlarmActions: []Action{hook}, OKActions: []Action{hook}, InsufficientDataActions: []Action{hook}}},
		PipelineSpec{Name: "p", Input: "s3://AKIA1:s3-secret-1@bucket/in", Output: "out", Notify: "https://u:notify-pass-1@ops.example.com/n?token=qs-token-1"},
		Distribution{DistributionSpec: DistributionSpec{Origins: []string{"http://edge:origin-pass-1@origin:8080"}}},
		Stack{Rules: []RuleSpec{{Actions: []Action{hook}}}, Pipelines: []PipelineSpec{{Notify: hook.URL}}},
	}
	for _, v := range values {
		b, err := json.Marshal(secret.Redact(v, nil))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{"qs-token-1", "hmac-secret-1", "s3-secret-1", "AKIA1", "notify-pass-1", "origin-pass-1"} {
			if strings.Contains(string(b), s) {
				t.Errorf("%T shows %s: %s", v, s, b)
			}
		}
	}
}
