package origin

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/packager/cmaf"
	"github.com/sluice-video/sluice/internal/packager/hls"
	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/testutil/media"
)

const testToken = "a-key-token-0123456789"

func newEncryptedOrigin(t *testing.T, tl *cmaf.Timeline) *httptest.Server {
	t.Helper()
	outs := []resource.OutputGroup{
		{Name: "hls", Type: resource.OutputHLS, WindowSeconds: 60},
		{Name: "enc", Type: resource.OutputHLS, WindowSeconds: 60, Encryption: &resource.Encryption{Method: resource.EncryptionAES128, KeyRotationSegments: 2, KeyToken: testToken}},
	}
	o := New(func(name string) (Channel, bool) { return Channel{Timeline: tl, Outputs: outs}, name == "news" }, nil, nil).
		WithKeySecret([]byte("a secret for the tests"))
	mux := http.NewServeMux()
	o.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func decrypt(t *testing.T, key []byte, number uint64, data []byte) []byte {
	t.Helper()
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) == 0 || len(data)%aes.BlockSize != 0 {
		t.Fatalf("ciphertext of %d bytes is not whole blocks", len(data))
	}
	out := make([]byte, len(data))
	iv := hls.IV(number)
	cipher.NewCBCDecrypter(block, iv[:]).CryptBlocks(out, data)
	pad := int(out[len(out)-1])
	if pad < 1 || pad > aes.BlockSize {
		t.Fatalf("bad padding %d", pad)
	}
	return out[:len(out)-pad]
}

// decodes reports whether ffprobe finds a video frame in init+segment.
func decodes(t *testing.T, init, seg []byte) bool {
	t.Helper()
	p := filepath.Join(t.TempDir(), "seg.mp4")
	if err := os.WriteFile(p, append(bytes.Clone(init), seg...), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(media.Tool(t, "ffprobe"), "-v", "error", "-select_streams", "v:0", "-count_frames",
		"-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", p).CombinedOutput()
	n, perr := strconv.Atoi(strings.TrimSpace(string(out)))
	return err == nil && perr == nil && n > 0
}

func TestAES128SegmentsAndKeys(t *testing.T) {
	tl := packagedChannel(t)
	srv := newEncryptedOrigin(t, tl)
	snap := tl.Snapshot(time.Minute)
	segs := snap.Renditions[0].Segments

	resp, body := fetch(t, srv, "GET", "/live/news/enc/index.m3u8?token="+testToken)
	if resp.StatusCode != 200 || !strings.Contains(string(body), "360p/index.m3u8?token="+testToken) {
		t.Fatalf("multivariant does not pass the token on: %d\n%s", resp.StatusCode, body)
	}
	resp, body = fetch(t, srv, "GET", "/live/news/enc/360p/index.m3u8?token="+testToken)
	if resp.StatusCode != 200 {
		t.Fatalf("media playlist: %d", resp.StatusCode)
	}
	text := string(body)
	keys := regexp.MustCompile(`#EXT-X-KEY:METHOD=AES-128,URI="\.\./keys/([0-9]+)\.key\?token=`+testToken+`"`).FindAllStringSubmatch(text, -1)
	if want := int(segs[len(segs)-1].Number/2-segs[0].Number/2) + 1; len(keys) != want {
		t.Errorf("%d key tags, want %d (rotation every 2 segments):\n%s", len(keys), want, text)
	}
	if strings.Index(text, "#EXT-X-MAP") > strings.Index(text, "#EXT-X-KEY") {
		t.Errorf("the init segment comes after a key and would count as encrypted:\n%s", text)
	}
	if _, plain := fetch(t, srv, "GET", "/live/news/hls/360p/index.m3u8"); strings.Contains(string(plain), "EXT-X-KEY") {
		t.Error("the clear endpoint lists keys")
	}

	keyPath := "/live/news/enc/keys/" + keys[0][1] + ".key"
	for _, c := range []struct {
		path, auth string
		status     int
	}{
		{keyPath, "", http.StatusUnauthorized},
		{keyPath + "?token=wrong-token-000000000", "", http.StatusForbidden},
		{keyPath + "?token=" + testToken, "", http.StatusOK},
		{keyPath, "Bearer " + testToken, http.StatusOK},
		{"/live/news/enc/keys/x.key?token=" + testToken, "", http.StatusNotFound},
		{"/live/news/hls/keys/0.key", "", http.StatusNotFound},
	} {
		var hdr []string
		if c.auth != "" {
			hdr = []string{"Authorization", c.auth}
		}
		resp, body := fetch(t, srv, "GET", c.path, hdr...)
		if resp.StatusCode != c.status || (c.status == 200 && len(body) != 16) {
			t.Errorf("%s (%s): %d, %d bytes; want %d", c.path, c.auth, resp.StatusCode, len(body), c.status)
		}
	}

	init, _ := tl.Init("360p", snap.Runs[0].ID)
	for _, seg := range segs[:3] {
		k := strconv.FormatUint(seg.Number/2, 10)
		_, key := fetch(t, srv, "GET", "/live/news/enc/keys/"+k+".key?token="+testToken)
		_, enc := fetch(t, srv, "GET", "/live/news/enc/360p/"+strconv.FormatUint(seg.Number, 10)+".m4s")
		want, _ := tl.Segment("360p", seg.Number)
		if bytes.Contains(enc, want.Data[len(want.Data)-64:]) {
			t.Fatalf("segment %d is served in the clear", seg.Number)
		}
		if decodes(t, init, enc) {
			t.Errorf("segment %d decodes without the key", seg.Number)
		}
		plain := decrypt(t, key, seg.Number, enc)
		if !bytes.Equal(plain, want.Data) {
			t.Fatalf("segment %d does not decrypt to the packaged segment", seg.Number)
		}
		if !decodes(t, init, plain) {
			t.Errorf("segment %d does not decode once decrypted", seg.Number)
		}
	}
}
