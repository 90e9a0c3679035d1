package e2e

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/testutil/media"
	"github.com/sluice-video/sluice/internal/vod"
)

// patchChunk sends one chunk of an upload as the console does.
func patchChunk(t *testing.T, s *server, id string, offset int64, chunk []byte) (int, vod.Upload) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPatch, s.url("/api/v1/uploads/"+id), bytes.NewReader(chunk))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/offset+octet-stream")
	req.Header.Set("Upload-Offset", strconv.FormatInt(offset, 10))
	resp, err := s.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var u vod.Upload
	_ = json.NewDecoder(resp.Body).Decode(&u)
	return resp.StatusCode, u
}

// TestUploadResumesAfterTheServerRestarts runs the real binary: a chunked
// upload is cut by the server's crash (SIGKILL) half way; the restarted
// server tells the offset it has, takes the rest, stores the whole file
// in the pipeline's input and runs its job to the end.
func TestUploadResumesAfterTheServerRestarts(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	s := startServer(t, data)
	file, err := os.ReadFile(media.Sample(t, t.TempDir(), 320, 180, 4))
	if err != nil {
		t.Fatal(err)
	}
	const chunk = 64 << 10
	if len(file) < 4*chunk {
		t.Fatalf("the sample is only %d bytes", len(file))
	}
	var up vod.Upload
	if code := s.post("/api/v1/uploads", vod.UploadRequest{Key: "restart/talk.mp4", Size: int64(len(file)), Submit: true}, &up); code != http.StatusCreated {
		t.Fatalf("starting the upload: %d", code)
	}
	for off := int64(0); off < 2*chunk; off += chunk {
		if code, got := patchChunk(t, s, up.ID, off, file[off:off+chunk]); code != http.StatusOK || got.Offset != off+chunk {
			t.Fatalf("chunk at %d: %d %+v", off, code, got)
		}
	}
	s.kill()
	s.start()

	code, _, body := s.get("/api/v1/uploads/" + up.ID)
	var got vod.Upload
	if code != http.StatusOK || json.Unmarshal(body, &got) != nil || got.Offset != 2*chunk || got.Complete {
		t.Fatalf("the upload after the restart: %d %s", code, body)
	}
	if code, _ := patchChunk(t, s, up.ID, 0, file[:chunk]); code != http.StatusConflict {
		t.Errorf("a chunk from the start after the restart: %d, want 409", code)
	}
	for off := got.Offset; off < int64(len(file)); off += chunk {
		end := min(off+chunk, int64(len(file)))
		code, u := patchChunk(t, s, up.ID, off, file[off:end])
		if code != http.StatusOK || u.Offset != end {
			t.Fatalf("chunk at %d after the restart: %d %+v", off, code, u)
		}
		got = u
	}
	if !got.Complete || !strings.HasPrefix(got.Job, "job-") {
		t.Fatalf("the last chunk: %+v", got)
	}
	stored, err := os.ReadFile(filepath.Join(data, "vod", "input", "restart", "talk.mp4"))
	if err != nil || !bytes.Equal(stored, file) {
		t.Fatalf("the stored file: %d of %d bytes, %v", len(stored), len(file), err)
	}
	if j := s.waitJob(got.Job, vod.StateComplete, 5*time.Minute); j.State != vod.StateComplete {
		t.Fatalf("the upload's job: %s %s", j.State, j.Error)
	}
	left, _ := filepath.Glob(filepath.Join(data, "vod", "uploads", "*.part"))
	if len(left) != 0 {
		t.Errorf("staged bytes left: %v", left)
	}
}
