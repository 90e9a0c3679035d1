package resource

// The secrets of the resources are marked where they are declared, with a
// secret struct tag that package secret honours: answers to readers who
// may not see secrets (on a server with an API token, callers without it,
// and the pages that need no token) go through secret.Redact. Marked:
//
//   - Input.StreamKey and SRTSettings.Passphrase: what publishers push with;
//   - SRTSettings.StreamID: what an SRT_CALLER presents to the server it
//     calls, often that server's stream key;
//   - InputSpec.URL: user information, query and RTMP key of pull URLs,
//     and signed query strings of remote FILE URLs;
//   - DeliverySettings.Destination: the key of an RTMP destination;
//   - Encryption.KeyToken: it unlocks the AES keys of an endpoint;
//   - Action.URL and Action.Secret: webhook tokens and the signing secret;
//   - PipelineSpec.Notify, and user information in PipelineSpec.Input and
//     Output;
//   - credentials in DistributionSpec.Origins.
//
// Input.Endpoints, error messages and state reasons are not marked: the
// secrets they quote are scrubbed out of them.

// Placeholders that stand in for secrets in answers to readers who may
// not see them; they are the placeholders the fields' tags name.
const (
	HiddenStreamKey  = "STREAM-KEY-HIDDEN"
	HiddenPassphrase = "PASSPHRASE-HIDDEN" //nolint:gosec // a placeholder shown instead of the secret, not a credential
	HiddenStreamID   = "STREAM-ID-HIDDEN"
	HiddenKeyToken   = "KEY-TOKEN-HIDDEN" //nolint:gosec // a placeholder shown instead of the secret, not a credential
)
