package outage

import (
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/testutil/syncbuf"
)

// TestOneRecordPerFailureAndOnePerRecovery: thirty failures in fifteen
// seconds log one warning with the error; the recovery logs one record
// saying how many attempts failed over how long; a new failure is logged
// again.
func TestOneRecordPerFailureAndOnePerRecovery(t *testing.T) {
	out := &syncbuf.Buffer{}
	logger := slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}}))
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	r := New(logger, slog.LevelWarn, func() time.Time { return now })
	r.Recover("recording works again") // nothing failed: nothing said
	down := errors.New("connection refused")
	for range 30 {
		r.Report(down, "recording failed", "recording works again", "node", "a")
		now = now.Add(500 * time.Millisecond)
	}
	if !r.Failing() {
		t.Error("the reporter does not say it is failing")
	}
	r.Report(nil, "recording failed", "recording works again", "node", "a")
	r.Report(nil, "recording failed", "recording works again", "node", "a")
	r.Fail("recording failed", down)
	want := []string{
		`level=WARN msg="recording failed" node=a error="connection refused"`,
		`level=INFO msg="recording works again, after 30 failed attempts over 15s" node=a`,
		`level=WARN msg="recording failed" error="connection refused"`,
	}
	if got := out.Lines(""); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("the log:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestALongFailureIsRecalled: a failure that lasts is recalled every
// RemindEvery, never more often.
func TestALongFailureIsRecalled(t *testing.T) {
	out := &syncbuf.Buffer{}
	logger := slog.New(slog.NewTextHandler(out, nil))
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	r := New(logger, slog.LevelError, func() time.Time { return now })
	for range 1201 { // ten minutes, twice a second
		r.Fail("archiving failed", errors.New("timeout"))
		now = now.Add(500 * time.Millisecond)
	}
	got := out.Lines("")
	if len(got) != 3 || !strings.Contains(got[1], "still failing, 601 attempts over 5m0s") || !strings.Contains(got[2], "1201 attempts over 10m0s") {
		t.Errorf("ten minutes of failures logged:\n%s", strings.Join(got, "\n"))
	}
}
