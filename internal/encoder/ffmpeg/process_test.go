package ffmpeg

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/testutil/media"
	"github.com/sluice-video/sluice/internal/testutil/poll"
)

func TestParseProgress(t *testing.T) {
	in := "frame=120\nfps=29.97\nstream_0_0_q=23.0\nbitrate= 812.3kbits/s\nout_time_us=4000000\ndup_frames=2\ndrop_frames=1\nspeed=1.01x\nprogress=continue\n" +
		"frame=150\nfps=30.00\nout_time_us=5000000\ndup_frames=2\ndrop_frames=3\nspeed=N/A\nprogress=end\n"
	var got []Progress
	if err := ParseProgress(strings.NewReader(in), func(p Progress) { got = append(got, p) }); err != nil {
		t.Fatal(err)
	}
	want := []Progress{
		{Frame: 120, FPS: 29.97, Speed: 1.01, Dup: 2, Drop: 1, OutTime: 4 * time.Second},
		// "speed=N/A" keeps the previous figure rather than inventing zero.
		{Frame: 150, FPS: 30, Speed: 1.01, Dup: 2, Drop: 3, OutTime: 5 * time.Second, End: true},
	}
	if len(got) != 2 {
		t.Fatalf("got %d reports", len(got))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("report %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestProcessWritesPipesAndReportsProgress(t *testing.T) {
	bin := media.Tool(t, "ffmpeg")
	var mu sync.Mutex
	var reports []Progress
	p, err := Start(Config{
		Binary: bin,
		Args: []string{"-hide_banner", "-nostdin", "-nostats", "-loglevel", "warning", "-progress", "pipe:3", "-stats_period", "0.2",
			"-f", "lavfi", "-i", "testsrc2=size=160x90:rate=25", "-t", "1",
			"-c:v", "libx264", "-preset", "ultrafast", "-f", "mp4", "-movflags", "+frag_keyframe+empty_moov", "pipe:4"},
		Outputs: 1,
		OnProgress: func(pr Progress) {
			mu.Lock()
			reports = append(reports, pr)
			mu.Unlock()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(p.Outputs()[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(data) < 1000 || string(data[4:8]) != "ftyp" {
		t.Errorf("output is %d bytes starting %q", len(data), data[:min(8, len(data))])
	}
	<-p.Done()
	var exit *ExitError
	if err := p.Err(); !errors.As(err, &exit) || !strings.Contains(exit.Reason, "source ended") {
		t.Errorf("an encoder that finishes by itself must say so, got %v", err)
	}
	poll.Until(t, "a last progress report of the 25th frame", 5*time.Second, func() (bool, string) {
		mu.Lock()
		defer mu.Unlock()
		n := len(reports)
		return n > 0 && reports[n-1].End && reports[n-1].Frame == 25, fmt.Sprintf("progress reports: %+v", reports)
	})
}

func TestProcessExplainsFailure(t *testing.T) {
	bin := media.Tool(t, "ffmpeg")
	bad := filepath.Join(t.TempDir(), "broken.mp4")
	if err := os.WriteFile(bad, []byte("this is not a video file at all"), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := Start(Config{Binary: bin, Args: []string{"-hide_banner", "-nostdin", "-i", "file:" + bad, "-f", "null", "-"}})
	if err != nil {
		t.Fatal(err)
	}
	err = p.Err()
	var exit *ExitError
	if !errors.As(err, &exit) || !strings.Contains(err.Error(), "broken.mp4") || !strings.Contains(err.Error(), "Invalid data") {
		t.Errorf("error %q should name the file and ffmpeg's reason", err)
	}
}

func TestStopEndsTheProcess(t *testing.T) {
	bin := media.Tool(t, "ffmpeg")
	p, err := Start(Config{Binary: bin, Args: []string{"-hide_banner", "-nostdin", "-re", "-f", "lavfi", "-i", "testsrc2=size=160x90:rate=25",
		"-c:v", "libx264", "-preset", "ultrafast", "-f", "mp4", "-movflags", "+frag_keyframe+empty_moov", "pipe:4"}, Outputs: 1})
	if err != nil {
		t.Fatal(err)
	}
	go func() { _, _ = io.Copy(io.Discard, p.Outputs()[0]) }()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	p.Stop(ctx, 5*time.Second)
	if err := p.Err(); err != nil {
		t.Errorf("a stopped encoder reports no error, got %v", err)
	}
}
