package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/problem"
	"github.com/sluice-video/sluice/internal/testutil/pgserver"
	"github.com/sluice-video/sluice/internal/testutil/poll"
)

// send makes one API request and returns the status and the body.
func send(t *testing.T, h http.Handler, method, path, body string) (int, []byte) {
	t.Helper()
	req := httptest.NewRequest(method, "http://localhost"+path, strings.NewReader(body))
	if method != http.MethodGet {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	out, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, out
}

// TestStateInPostgres runs two servers on one PostgreSQL database through
// a proxy, each with its own empty data directory: what one creates the
// other reads from the database (channels it loads at start, which the
// end-to-end test covers), the job queue is in the same database, both
// derive the same encryption keys, and no database or secret file is
// written to the data directories. Cut off from the database, changes answer 503 with the reason
// and readiness fails; once the database is back, changes work again.
func TestStateInPostgres(t *testing.T) {
	pg := pgserver.Start(t)
	proxy := pg.Proxy(t)
	dsn := proxy.Through(pg.URL)
	start := func() (*Server, string) {
		data := t.TempDir()
		s, err := New(context.Background(), Config{Data: data, FFmpeg: "ffmpeg", FFprobe: "ffprobe", Database: dsn, VODWorkers: 1})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close(context.Background()) })
		return s, data
	}
	a, dataA := start()
	b, _ := start()

	for _, c := range []struct{ path, body string }{
		{"/api/v1/security-groups", `{"name":"studio","allow":["127.0.0.0/8"]}`},
		{"/api/v1/inputs", `{"name":"bars","type":"TEST_PATTERN"}`},
		{"/api/v1/inputs", `{"name":"cam","type":"RTMP_PUSH","securityGroups":["studio"]}`},
		{"/api/v1/channels", `{"name":"news","inputAttachments":[{"input":"bars"}],"encoder":{"ladder":"test-360p"}}`},
		{"/api/v1/presets", `{"name":"tiny","kind":"MP4","rungs":[{"name":"tiny","width":96,"height":54,"bitrate":60000}]}`},
	} {
		if code, body := send(t, a.Handler(), http.MethodPost, c.path, c.body); code != http.StatusCreated {
			t.Fatalf("POST %s: %d %s", c.path, code, body)
		}
	}
	for _, path := range []string{"/api/v1/security-groups/studio", "/api/v1/inputs/cam", "/api/v1/presets/tiny"} {
		if code, body := send(t, b.Handler(), http.MethodGet, path, ""); code != http.StatusOK {
			t.Errorf("the second server: GET %s: %d %s", path, code, body)
		}
	}
	var keyA, keyB map[string]any
	for _, c := range []struct {
		s   *Server
		out *map[string]any
	}{{a, &keyA}, {b, &keyB}} {
		code, body := send(t, c.s.Handler(), http.MethodGet, "/api/v1/inputs/cam", "")
		if code != http.StatusOK || json.Unmarshal(body, c.out) != nil {
			t.Fatalf("GET cam: %d %s", code, body)
		}
	}
	if keyA["streamKey"] == nil || keyA["streamKey"] != keyB["streamKey"] {
		t.Errorf("the stream key differs between the servers: %v and %v", keyA["streamKey"], keyB["streamKey"])
	}
	if sa, sb := a.c.state.Pool(), b.c.state.Pool(); sa == nil || sb == nil {
		t.Fatal("the state is not on PostgreSQL")
	}
	secretA, err := a.c.state.KeepSecret(context.Background(), "encryption", []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	secretB, _ := b.c.state.KeepSecret(context.Background(), "encryption", []byte("y"))
	if len(secretA) != 32 || !bytes.Equal(secretA, secretB) {
		t.Errorf("the servers do not share one encryption secret: %x %x", secretA, secretB)
	}
	var jobsTable bool
	if err := a.c.state.Pool().QueryRow(context.Background(), "SELECT to_regclass('river_job') IS NOT NULL AND to_regclass('vod_jobs') IS NOT NULL").Scan(&jobsTable); err != nil || !jobsTable {
		t.Errorf("the job queue's tables are not in the state database: %v %v", jobsTable, err)
	}
	for _, name := range []string{"sluice.db", "queue.db", "encryption-secret"} {
		if _, err := os.Stat(filepath.Join(dataA, name)); !os.IsNotExist(err) {
			t.Errorf("%s is in the data directory of a server on PostgreSQL: %v", name, err)
		}
	}

	// The channel's creation reads its input: let it finish first.
	poll.Until(t, "the channel to be created", time.Minute, func() (bool, string) {
		_, body := send(t, a.Handler(), http.MethodGet, "/api/v1/channels/news", "")
		return strings.Contains(string(body), `"state": "IDLE"`), string(body)
	})
	proxy.Cut()
	for _, c := range []struct{ method, path, body string }{
		{http.MethodPost, "/api/v1/inputs", `{"name":"cam2","type":"RTMP_PUSH","securityGroups":["studio"]}`},
		{http.MethodPost, "/api/v1/channels/news/start", ""},
		{http.MethodPost, "/api/v1/presets", `{"name":"tiny2","kind":"MP4","rungs":[{"name":"tiny","width":96,"height":54,"bitrate":60000}]}`},
	} {
		code, body := send(t, a.Handler(), c.method, c.path, c.body)
		var p problem.Details
		_ = json.Unmarshal(body, &p)
		if code != http.StatusServiceUnavailable || !strings.Contains(p.Detail, "unreachable") {
			t.Errorf("%s %s without the database: %d %s, want 503 saying the database is unreachable", c.method, c.path, code, body)
		}
	}
	if code, body := send(t, a.Handler(), http.MethodGet, "/readyz", ""); code != http.StatusServiceUnavailable || !strings.Contains(string(body), "state database") {
		t.Errorf("/readyz without the database: %d %s", code, body)
	}
	proxy.Restore(t)
	poll.Until(t, "changes to work once the database is back", time.Minute, func() (bool, string) {
		code, body := send(t, a.Handler(), http.MethodPost, "/api/v1/inputs", `{"name":"cam2","type":"RTMP_PUSH","securityGroups":["studio"]}`)
		return code == http.StatusCreated, string(body)
	})
	recs, err := b.c.state.ListChannels(context.Background())
	if err != nil || len(recs) != 1 || recs[0].Desired != "IDLE" {
		t.Errorf("the channel whose start was refused: %+v %v, want it stored as not to run", recs, err)
	}
}
