package resource

import "regexp"

// EncryptionMethod names how an endpoint's segments are encrypted.
type EncryptionMethod string

// Encryption methods.
const (
	// EncryptionAES128 encrypts every segment whole with AES-128-CBC
	// (HLS METHOD=AES-128).
	EncryptionAES128 EncryptionMethod = "AES_128"
)

// DefaultKeyRotationSegments is how many segments share a key by default.
const DefaultKeyRotationSegments = 10

// Encryption configures segment encryption of an HLS endpoint. Keys are
// derived by the origin and served from the endpoint's keys/ path.
type Encryption struct {
	Method EncryptionMethod `json:"method"`
	// KeyRotationSegments is how many consecutive segments share a key
	// (default 10).
	KeyRotationSegments int `json:"keyRotationSegments,omitempty"`
	// KeyToken, when set, must accompany key requests (?token= or an
	// Authorization: Bearer header). A playlist requested with ?token=
	// passes it on to the URIs it lists.
	KeyToken string `json:"keyToken,omitempty" secret:"value,KEY-TOKEN-HIDDEN"`
}

// Rotation returns KeyRotationSegments with the default applied.
func (e *Encryption) Rotation() int {
	if e.KeyRotationSegments == 0 {
		return DefaultKeyRotationSegments
	}
	return e.KeyRotationSegments
}

var tokenPattern = regexp.MustCompile(`^[A-Za-z0-9._~-]{16,128}$`)

func (o *OutputGroup) validateEncryption() error {
	e := o.Encryption
	if e == nil {
		return nil
	}
	var errs FieldErrors
	if o.Type != OutputHLS && o.Type != OutputHLSTS {
		errs.Add("", "applies to HLS and HLS_TS endpoints only")
	}
	if e.Method != EncryptionAES128 {
		errs.Add("method", "must be AES_128")
	}
	if e.KeyRotationSegments < 0 || e.KeyRotationSegments > 1000000 {
		errs.Add("keyRotationSegments", "must be between 1 and 1000000 (0 means 10)")
	}
	if e.KeyToken != "" && !tokenPattern.MatchString(e.KeyToken) {
		errs.Add("keyToken", "must be 16 to 128 characters of letters, digits and ._~-")
	}
	return errs.Err()
}
