package api

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/vod"
)

// Names of the chunked upload protocol.
const (
	// UploadOffsetHeader names the offset a chunk starts at, and in an
	// answer the bytes the server has.
	UploadOffsetHeader = "Upload-Offset"
	// ChunkType is the media type of a chunk. Like JSON, it is not a type
	// a page of another site may send without the server's leave.
	ChunkType = "application/offset+octet-stream"
)

func (a *API) startUpload(w http.ResponseWriter, r *http.Request) {
	if !a.haveVOD(w, r) {
		return
	}
	var req vod.UploadRequest
	if err := decode(r, &req); err != nil {
		a.fail(w, r, err)
		return
	}
	u, err := a.cfg.VOD.StartUpload(r.Context(), req)
	if err == nil {
		noteName(r, u.Key)
		w.Header().Set("Location", "/api/v1/uploads/"+u.ID)
		w.Header().Set(UploadOffsetHeader, "0")
	}
	answer(a, w, r, http.StatusCreated, u, err)
}

func (a *API) getUpload(w http.ResponseWriter, r *http.Request) {
	if !a.haveVOD(w, r) {
		return
	}
	u, err := a.cfg.VOD.GetUpload(r.Context(), r.PathValue("id"))
	if err == nil {
		w.Header().Set(UploadOffsetHeader, strconv.FormatInt(u.Offset, 10))
	}
	answer(a, w, r, http.StatusOK, u, err)
}

// appendUpload takes one chunk: its body, from the offset in
// Upload-Offset, at most 1 MiB.
func (a *API) appendUpload(w http.ResponseWriter, r *http.Request) {
	if !a.haveVOD(w, r) {
		return
	}
	offset, err := strconv.ParseInt(strings.TrimSpace(r.Header.Get(UploadOffsetHeader)), 10, 64)
	if err != nil || offset < 0 {
		a.fail(w, r, resource.FieldErrors{{Path: UploadOffsetHeader, Message: "must be the byte offset the chunk starts at (GET the upload for it)"}})
		return
	}
	u, err := a.cfg.VOD.AppendUpload(r.Context(), r.PathValue("id"), offset, r.Body)
	if u.ID != "" {
		w.Header().Set(UploadOffsetHeader, strconv.FormatInt(u.Offset, 10))
	}
	answer(a, w, r, http.StatusOK, u, err)
}

// isChunkRoute is the one route whose body is a chunk of bytes, not JSON.
func isChunkRoute(r *http.Request) bool {
	return r.Method == http.MethodPatch && strings.HasPrefix(r.URL.Path, "/api/v1/uploads/")
}

// chunkTypeError says which type a chunk needs.
func chunkTypeError(ct string) error {
	return fmt.Errorf("%w: a chunk of an upload needs Content-Type: %s (it was %s)", errMediaType, ChunkType, ct)
}
