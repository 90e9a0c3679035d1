package health

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sluice-video/sluice/internal/testutil/media"
)

type pinger struct{ err error }

func (p pinger) Ping(context.Context) error { return p.err }

func readyz(rd *Readiness) (int, string) {
	rec := httptest.NewRecorder()
	rd.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	return rec.Code, rec.Body.String()
}

func TestReadyNamesEveryProblem(t *testing.T) {
	rd := &Readiness{Store: pinger{errors.New("database is locked")}, DataDir: "/nonexistent/data", FFmpeg: "/nonexistent/ffmpeg"}
	code, body := readyz(rd)
	for _, want := range []string{"state database does not answer: database is locked", "data directory is not writable", "ffmpeg does not run"} {
		if code != http.StatusServiceUnavailable || !strings.Contains(body, want) {
			t.Errorf("/readyz: %d %s, want 503 with %q", code, body, want)
		}
	}
}

func TestReadyWhenEverythingWorks(t *testing.T) {
	rd := &Readiness{Store: pinger{}, DataDir: t.TempDir(), FFmpeg: media.Tool(t, "ffmpeg")}
	if code, body := readyz(rd); code != http.StatusOK || body != "ready\n" {
		t.Errorf("/readyz: %d %q", code, body)
	}
}

func TestReadyWarnsOfAClockFarFromTheDatabases(t *testing.T) {
	const far = "this node's clock is 2.3s behind the database's"
	rd := &Readiness{Store: pinger{}, DataDir: t.TempDir(), FFmpeg: media.Tool(t, "ffmpeg"), Clock: func() string { return far }}
	if code, body := readyz(rd); code != http.StatusOK || body != "ready\nwarning: "+far+"\n" {
		t.Errorf("/readyz with the clock off: %d %q, want ready with a warning", code, body)
	}
	rd.Store = pinger{errors.New("gone")}
	if code, body := readyz(rd); code != http.StatusServiceUnavailable || !strings.Contains(body, far) {
		t.Errorf("/readyz with the clock off and no database: %d %q", code, body)
	}
}
