package secret

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

// The test types cover every shape Redact walks.
type (
	creds struct {
		Key  string `json:"key,omitempty" secret:"value,KEY-HIDDEN"`
		Note string `json:"note,omitempty"`
	}
	hook struct {
		URL    string `json:"url,omitempty" secret:"url"`
		Secret string `json:"secret,omitempty" secret:"value"`
	}
	// label is a named string type, like resource.InputType.
	label string
	// hidden is embedded unexported: encoding/json promotes its fields.
	hidden struct {
		Promoted string `json:"promoted,omitempty" secret:"value"`
	}
	outer struct {
		Name     string            `json:"name"`
		Creds    creds             `json:"creds"`
		Ptr      *creds            `json:"ptr,omitempty"`
		Hooks    []hook            `json:"hooks,omitempty"`
		HookPtrs []*hook           `json:"hookPtrs,omitempty"`
		ByName   map[string]hook   `json:"byName,omitempty"`
		Labels   map[string]string `json:"labels,omitempty"`
		Tokens   []string          `json:"tokens,omitempty" secret:"value,TOKEN-HIDDEN"`
		Origins  []string          `json:"origins,omitempty" secret:"url"`
		Location string            `json:"location,omitempty" secret:"userinfo"`
		Kind     label             `json:"kind,omitempty" secret:"value"`
		Any      any               `json:"any,omitempty"`
		Arr      [2]string         `json:"arr" secret:"value"`
		Raw      []byte            `json:"raw,omitempty"`
		Text     string            `json:"text,omitempty"`
		Nested   *outer            `json:"nested,omitempty"`
		// Everything reachable through a tagged struct field is secret.
		All       *creds    `json:"all,omitempty" secret:"value,ALL-HIDDEN"`
		Typo      string    `json:"typo,omitempty" secret:"vlaue"`
		At        time.Time `json:"at"`
		unexposed string
		hidden
	}
)

func TestRedact(t *testing.T) {
	cases := []struct {
		name string
		in   outer
		want outer
	}{
		{
			name: "empty values stay empty",
			in:   outer{Name: "n"},
			want: outer{Name: "n"},
		},
		{
			name: "nested struct and pointer",
			in:   outer{Creds: creds{Key: "k3y-value-1", Note: "n"}, Ptr: &creds{Key: "k3y-value-2"}},
			want: outer{Creds: creds{Key: "KEY-HIDDEN", Note: "n"}, Ptr: &creds{Key: "KEY-HIDDEN"}},
		},
		{
			name: "slices of structs and pointers, nil pointers",
			in: outer{
				Hooks:    []hook{{URL: "https://h.example/x?token=qs-secret-1&v=2", Secret: "hmac-secret-1"}, {}},
				HookPtrs: []*hook{{Secret: "hmac-secret-2"}, nil},
			},
			want: outer{
				Hooks:    []hook{{URL: "https://h.example/x?token=SECRET-HIDDEN&v=SECRET-HIDDEN", Secret: "SECRET-HIDDEN"}, {}},
				HookPtrs: []*hook{{Secret: "SECRET-HIDDEN"}, nil},
			},
		},
		{
			name: "map values, and keys scrubbed",
			in: outer{
				ByName: map[string]hook{"a": {Secret: "hmac-secret-3"}},
				Labels: map[string]string{"hmac-secret-3": "says hmac-secret-3"},
			},
			want: outer{
				ByName: map[string]hook{"a": {Secret: "SECRET-HIDDEN"}},
				Labels: map[string]string{"SECRET-HIDDEN": "says SECRET-HIDDEN"},
			},
		},
		{
			name: "a tag on a slice applies to its elements",
			in:   outer{Tokens: []string{"tok-one-111", ""}, Arr: [2]string{"arr-secret-1", ""}},
			want: outer{Tokens: []string{"TOKEN-HIDDEN", ""}, Arr: [2]string{"SECRET-HIDDEN", ""}},
		},
		{
			name: "URL kinds",
			in: outer{Origins: []string{
				"rtsp://cam-user:cam-pass-123@10.0.0.1:554/stream?auth=pull-token-1#frag-secret",
				"rtmp://live.example.com/app/rtmp-key-123?k=rtmp-q-secret",
				"rtmps://live.example.com/app",
				"udp://239.0.0.1:5000",
				"media/clip with space.mp4",
				"srt://10.0.0.2:9000?streamid=caller-stream-id&latency=200",
				"https://h.example/p?bare-token-secret",
				"%zz not a URL",
				"mailto:someone-secret",
			}, Location: "s3://AKIA-ACCESS:s3-secret-key@bucket/prefix?region=eu-west-1"},
			want: outer{Origins: []string{
				"rtsp://CREDENTIALS-HIDDEN@10.0.0.1:554/stream?auth=SECRET-HIDDEN#SECRET-HIDDEN",
				"rtmp://live.example.com/app/SECRET-HIDDEN?k=SECRET-HIDDEN",
				"rtmps://live.example.com/app",
				"udp://239.0.0.1:5000",
				"media/clip with space.mp4",
				"srt://10.0.0.2:9000?streamid=SECRET-HIDDEN&latency=SECRET-HIDDEN",
				"https://h.example/p?SECRET-HIDDEN",
				"SECRET-HIDDEN",
				"mailto:SECRET-HIDDEN",
			}, Location: "s3://CREDENTIALS-HIDDEN@bucket/prefix?region=eu-west-1"},
		},
		{
			name: "free text is scrubbed of the secrets found anywhere in the value",
			in: outer{
				Creds: creds{Key: "k3y-value-4"},
				Hooks: []hook{{URL: "https://u:hook-pass-1@h.example/x?token=qs-secret-5"}},
				Text:  "publish to rtmp://h/live/k3y-value-4; post https://u:hook-pass-1@h.example/x?token=qs-secret-5 failed; qs-secret-5 again; escaped k3y-value-4%21",
				Nested: &outer{
					Text: "k3y-value-4 deep down",
				},
				Any: map[string]any{"msg": "key k3y-value-4", "n": 1},
			},
			want: outer{
				Creds: creds{Key: "KEY-HIDDEN"},
				Hooks: []hook{{URL: "https://CREDENTIALS-HIDDEN@h.example/x?token=SECRET-HIDDEN"}},
				Text:  "publish to rtmp://h/live/KEY-HIDDEN; post https://CREDENTIALS-HIDDEN@h.example/x?token=SECRET-HIDDEN failed; SECRET-HIDDEN again; escaped KEY-HIDDEN%21",
				Nested: &outer{
					Text: "KEY-HIDDEN deep down",
				},
				Any: map[string]any{"msg": "key KEY-HIDDEN", "n": 1},
			},
		},
		{
			name: "escaped forms of a secret are scrubbed too",
			in:   outer{Creds: creds{Key: "pass word&more"}, Text: "srt://h:1?passphrase=pass+word%26more and /live/pass%20word&more"},
			want: outer{Creds: creds{Key: "KEY-HIDDEN"}, Text: "srt://h:1?passphrase=KEY-HIDDEN and /live/KEY-HIDDEN"},
		},
		{
			name: "short secrets are hidden in their field but not scrubbed from text",
			in:   outer{Creds: creds{Key: "abc"}, Text: "abc is a common word"},
			want: outer{Creds: creds{Key: "KEY-HIDDEN"}, Text: "abc is a common word"},
		},
		{
			name: "tagged structs, unknown kinds, named strings, promoted fields",
			in: outer{
				All: &creds{Key: "all-key-1", Note: "a note"}, Typo: "typo-secret", Kind: "kind-secret",
				hidden: hidden{Promoted: "promoted-secret"},
			},
			want: outer{
				All: &creds{Key: "KEY-HIDDEN", Note: "ALL-HIDDEN"}, Typo: "SECRET-HIDDEN", Kind: "SECRET-HIDDEN",
				hidden: hidden{Promoted: "SECRET-HIDDEN"},
			},
		},
		{
			name: "unexported fields and non-strings are copied",
			in:   outer{unexposed: "kept", Raw: []byte("raw"), At: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
			want: outer{unexposed: "kept", Raw: []byte("raw"), At: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before, _ := json.Marshal(c.in)
			got := Redact(c.in, nil)
			if !reflect.DeepEqual(got, c.want) {
				g, _ := json.MarshalIndent(got, "", "  ")
				w, _ := json.MarshalIndent(c.want, "", "  ")
				t.Errorf("got\n%s\nwant\n%s", g, w)
			}
			if after, _ := json.Marshal(c.in); string(after) != string(before) {
				t.Errorf("Redact changed its input:\n%s\n%s", before, after)
			}
		})
	}
}

func TestRedactScrubsKnownSecrets(t *testing.T) {
	known := Find(
		[]hook{{URL: "https://u:known-pass@h.example/x?token=known-token", Secret: "known-hmac"}},
		&creds{Key: "known-key-1"},
		nil,
	)
	type event struct {
		Message string            `json:"message"`
		Detail  map[string]string `json:"detail"`
	}
	in := event{
		Message: "webhook https://u:known-pass@h.example/x?token=known-token failed for known-key-1",
		Detail:  map[string]string{"reason": "signed with known-hmac"},
	}
	got := Redact(in, known)
	want := event{
		Message: "webhook https://CREDENTIALS-HIDDEN@h.example/x?token=SECRET-HIDDEN failed for KEY-HIDDEN",
		Detail:  map[string]string{"reason": "signed with SECRET-HIDDEN"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	if got := Redact(in, nil); got.Message != in.Message {
		t.Errorf("without known secrets, an untagged value is left as it is: %q", got.Message)
	}
}

func TestRedactAnyAndNil(t *testing.T) {
	var v any = []hook{{Secret: "hmac-secret-9"}}
	got := Redact(v, nil)
	b, _ := json.Marshal(got)
	if strings.Contains(string(b), "hmac-secret-9") || !strings.Contains(string(b), Hidden) {
		t.Errorf("an answer held in an interface: %s", b)
	}
	if got := Redact[any](nil, nil); got != nil {
		t.Errorf("nil: %v", got)
	}
	var p *creds
	if got := Redact(p, nil); got != nil {
		t.Errorf("a nil pointer: %v", got)
	}
}

func TestRedactEndsOnCycles(t *testing.T) {
	type node struct {
		Secret string `json:"secret" secret:"value"`
		Next   *node  `json:"next"`
	}
	n := &node{Secret: "cyclic-secret"}
	n.Next = n
	got := Redact(n, nil)
	for p, depth := got, 0; p != nil; p, depth = p.Next, depth+1 {
		if p.Secret != Hidden && p.Secret != "" {
			t.Fatalf("depth %d: %q", depth, p.Secret)
		}
		if depth > maxDepth+1 {
			t.Fatal("the copy does not end")
		}
	}
}
