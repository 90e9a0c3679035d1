package origin

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/sluice-video/sluice/internal/packager/hls"
	"github.com/sluice-video/sluice/internal/resource"
)

// keyPattern names an encryption key under an endpoint's keys/ path.
var keyPattern = regexp.MustCompile(`^([0-9]{1,19})\.key$`)

// keysDir is the path element under which an endpoint serves its keys.
const keysDir = "keys"

// contentKey derives key k of an endpoint from the origin's secret, so no
// key is stored and every origin sharing the secret serves the same keys.
func (o *Origin) contentKey(channel, endpoint string, k uint64) []byte {
	m := hmac.New(sha256.New, o.keySecret)
	m.Write([]byte(channel))
	m.Write([]byte{0})
	m.Write([]byte(endpoint))
	m.Write([]byte{0})
	_ = binary.Write(m, binary.BigEndian, k) // a hash never fails to write
	return m.Sum(nil)[:16]
}

// encryption describes an endpoint's encryption to the playlist renderer;
// key URIs carry the token the playlist was requested with.
func encryption(ep resource.OutputGroup, r *http.Request) *hls.Encryption {
	if ep.Encryption == nil {
		return nil
	}
	suffix := tokenSuffix(r)
	return &hls.Encryption{
		RotateEvery: uint64(ep.Encryption.Rotation()), //nolint:gosec // validated positive
		KeyURI: func(k uint64) string {
			return "../" + keysDir + "/" + strconv.FormatUint(k, 10) + ".key" + suffix
		},
	}
}

// tokenSuffix is "?token=…" when the request carried a token, for the URIs
// a playlist lists.
func tokenSuffix(r *http.Request) string {
	t := r.URL.Query().Get("token")
	if t == "" {
		return ""
	}
	return "?token=" + url.QueryEscape(t)
}

// passQuery appends the request's token and time-shift range to the
// playlist URIs of a multivariant playlist, so the media playlists answer
// for the same viewer and the same range.
func passQuery(body []byte, r *http.Request) []byte {
	q := r.URL.Query()
	pass := url.Values{}
	for _, k := range []string{"token", "start", "end"} {
		if v, ok := q[k]; ok {
			pass[k] = v
		}
	}
	if len(pass) == 0 {
		return body
	}
	return bytes.ReplaceAll(body, []byte("/index.m3u8"), []byte("/index.m3u8?"+pass.Encode()))
}

// serveKey answers a key request, checking the endpoint's key token.
func (o *Origin) serveKey(w http.ResponseWriter, r *http.Request, channel string, ep resource.OutputGroup, file string) {
	m := keyPattern.FindStringSubmatch(file)
	if m == nil || ep.Encryption == nil {
		o.fail(w, r, http.StatusNotFound, "endpoint "+strconv.Quote(ep.Name)+" has no key "+strconv.Quote(file))
		return
	}
	k, err := strconv.ParseUint(m[1], 10, 64)
	if err != nil {
		o.fail(w, r, http.StatusNotFound, "no such key")
		return
	}
	if want := ep.Encryption.KeyToken; want != "" {
		got := r.URL.Query().Get("token")
		if h := r.Header.Get("Authorization"); got == "" && strings.HasPrefix(h, "Bearer ") {
			got = strings.TrimPrefix(h, "Bearer ")
		}
		if got == "" {
			o.fail(w, r, http.StatusUnauthorized, "the key needs a token: ?token= or Authorization: Bearer")
			return
		}
		if subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
			o.fail(w, r, http.StatusForbidden, "the key token is not valid")
			return
		}
	}
	h := w.Header()
	setCORS(h)
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Cache-Control", "private, no-store")
	_, _ = w.Write(o.contentKey(channel, ep.Name, k))
}

// encrypted returns segment number of an encrypted endpoint sealed with
// its key, encrypting it once for every viewer that asks while it is
// recent. key names the plain body (channel, rendition, run, number and
// content).
func (o *Origin) encrypted(channel string, ep resource.OutputGroup, number uint64, key string, plain []byte) []byte {
	k := number / uint64(ep.Encryption.Rotation()) //nolint:gosec // validated positive
	body, _ := o.sealed.get(ep.Name+"/"+strconv.FormatUint(k, 10)+"/"+key, func() ([]byte, error) {
		return encryptSegment(o.contentKey(channel, ep.Name, k), number, plain), nil
	})
	return body
}

// encryptSegment encrypts a whole segment with AES-128-CBC and PKCS#7
// padding, the IV being the segment number (HLS METHOD=AES-128).
func encryptSegment(key []byte, number uint64, data []byte) []byte {
	block, err := aes.NewCipher(key)
	if err != nil {
		panic(err) // the key is always 16 bytes
	}
	pad := aes.BlockSize - len(data)%aes.BlockSize
	out := make([]byte, len(data)+pad)
	copy(out, data)
	for i := len(data); i < len(out); i++ {
		out[i] = byte(pad)
	}
	iv := hls.IV(number)
	cipher.NewCBCEncrypter(block, iv[:]).CryptBlocks(out, out)
	return out
}
