package api

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/sluice-video/sluice/internal/vod"
)

// sendChunk PATCHes one chunk of an upload.
func sendChunk(t *testing.T, url string, offset int64, chunk []byte, contentType string) (int, vod.Upload, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPatch, url, bytes.NewReader(chunk))
	req.Header.Set("Content-Type", contentType)
	req.Header.Set(UploadOffsetHeader, strconv.FormatInt(offset, 10))
	req.Header.Set("Authorization", "Bearer secret")
	resp, err := contractClient(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	var u vod.Upload
	_ = json.Unmarshal(b, &u)
	return resp.StatusCode, u, string(b)
}

// TestChunkedUploadResumesAndSubmits sends a file of two and a half
// chunks: a chunk from the wrong offset is refused with the offset to
// send from, a chunk cut short leaves the upload where it stopped, and
// the last chunk stores the file in the pipeline's input and submits its
// job.
func TestChunkedUploadResumesAndSubmits(t *testing.T) {
	dir := t.TempDir()
	srv := newVODServerIn(t, dir, "secret")
	u := srv.URL + "/api/v1"
	file := bytes.Repeat([]byte("sluice-upload-"), 200000) // 2.8 MB
	size := int64(len(file))

	if code, body := vodCall(t, "POST", u+"/uploads", `{"key":"../x.mp4","size":0}`, "secret"); code != 400 || !strings.Contains(body, `"key"`) || !strings.Contains(body, `"size"`) {
		t.Fatalf("a bad upload: %d %s", code, body)
	}
	code, body := vodCall(t, "POST", u+"/uploads", `{"key":"in/talk.mp4","size":`+strconv.FormatInt(size, 10)+`,"submit":true}`, "secret")
	var up vod.Upload
	if code != 201 || json.Unmarshal([]byte(body), &up) != nil || up.Offset != 0 || up.Pipeline != "default" {
		t.Fatalf("start: %d %s", code, body)
	}
	one := u + "/uploads/" + up.ID

	if code, _, body := sendChunk(t, one, 0, file[:10], "application/json"); code != 415 {
		t.Fatalf("a chunk sent as JSON: %d %s", code, body)
	}
	if code, got, body := sendChunk(t, one, 0, file[:1<<20], ChunkType); code != 200 || got.Offset != 1<<20 {
		t.Fatalf("first chunk: %d %s", code, body)
	}
	// A retry of the same chunk is refused: the server has it.
	if code, _, body := sendChunk(t, one, 0, file[:1<<20], ChunkType); code != 409 || !strings.Contains(body, "send from offset 1048576") {
		t.Fatalf("a repeated chunk: %d %s", code, body)
	}
	if code, _, body := sendChunk(t, one, 1<<20, file[1<<20:(1<<20)+1<<20+1], ChunkType); code != 413 {
		t.Fatalf("a chunk over 1 MiB: %d %s", code, body)
	}
	// After a chunk that was refused as too large, the upload is where
	// GET says; the client resumes from there.
	code, body = vodCall(t, "GET", one, "", "")
	if code != 200 || json.Unmarshal([]byte(body), &up) != nil {
		t.Fatalf("get: %d %s", code, body)
	}
	for off := up.Offset; off < size; {
		end := min(off+1<<20, size)
		code, got, body := sendChunk(t, one, off, file[off:end], ChunkType)
		if code != 200 {
			t.Fatalf("chunk at %d: %d %s", off, code, body)
		}
		off = got.Offset
		up = got
	}
	if !up.Complete || up.Job == "" || up.Offset != size {
		t.Fatalf("the finished upload: %+v", up)
	}
	stored, err := os.ReadFile(filepath.Join(dir, "vod", "input", "in", "talk.mp4"))
	if err != nil {
		t.Fatalf("the stored file: %v", err)
	}
	if !bytes.Equal(stored, file) {
		t.Fatalf("the stored file differs: %d bytes, want %d", len(stored), size)
	}
	if code, body := vodCall(t, "GET", u+"/jobs/"+up.Job, "", ""); code != 200 || !strings.Contains(body, `"input": "in/talk.mp4"`) {
		t.Fatalf("the job: %d %s", code, body)
	}
	if code, _, body := sendChunk(t, one, size, []byte("x"), ChunkType); code != 409 {
		t.Fatalf("a chunk after the end: %d %s", code, body)
	}
}
