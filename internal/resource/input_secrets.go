package resource

import "strings"

// Placeholders that stand in for an input's secrets in answers to callers
// who did not present the API token.
const (
	HiddenStreamKey  = "STREAM-KEY-HIDDEN"
	HiddenPassphrase = "PASSPHRASE-HIDDEN" //nolint:gosec // a placeholder shown instead of the secret, not a credential
)

// WithoutSecrets returns the input with its stream key and SRT passphrase
// replaced by placeholders, in their own fields and inside the endpoint
// URLs, so that reading an input never hands out what a publisher needs
// to push to it.
func (in Input) WithoutSecrets() Input {
	var swaps []string
	if in.StreamKey != "" {
		swaps = append(swaps, in.StreamKey, HiddenStreamKey)
		in.StreamKey = HiddenStreamKey
	}
	if in.SRT != nil && in.SRT.Passphrase != "" {
		srt := *in.SRT
		swaps = append(swaps, srt.Passphrase, HiddenPassphrase)
		srt.Passphrase = HiddenPassphrase
		in.SRT = &srt
	}
	if len(swaps) == 0 {
		return in
	}
	r := strings.NewReplacer(swaps...)
	eps := make([]string, len(in.Endpoints))
	for i, u := range in.Endpoints {
		eps[i] = r.Replace(u)
	}
	in.Endpoints = eps
	return in
}
