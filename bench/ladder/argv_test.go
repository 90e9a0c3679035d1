package main

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/sluice-video/sluice/bench/internal/sluice"
)

// loadCommand reads an encoder command as `sluice ladder command -o json`
// prints it.
func loadCommand(t *testing.T) sluice.EncoderCommand {
	t.Helper()
	b, err := os.ReadFile("testdata/default-1080p.json")
	if err != nil {
		t.Fatal(err)
	}
	var c sluice.EncoderCommand
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestBareArgsOnlyReplacesOutputs(t *testing.T) {
	c := loadCommand(t)
	args, err := bareArgs(c)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(strings.Join(args, " "), devNull); n != len(c.Outputs) {
		t.Fatalf("%d outputs to /dev/null, want %d", n, len(c.Outputs))
	}
	if i := slices.Index(args, "-progress"); i < 0 || args[i+1] != "pipe:3" {
		t.Fatalf("progress report moved: %v", args)
	}
	if len(args) != len(c.Argv) || args[0] != overwrite {
		t.Fatalf("args %v, want -y and the %d arguments", args, len(c.Argv)-1)
	}
}

func TestPerRungArgs(t *testing.T) {
	c := loadCommand(t)
	cmds, err := perRungArgs(c)
	if err != nil {
		t.Fatal(err)
	}
	if len(cmds) != 4 {
		t.Fatalf("%d commands, want 4", len(cmds))
	}
	want := [][]string{{"1080p", "audio"}, {"720p"}, {"480p"}, {"360p"}}
	for i, rc := range cmds {
		if !slices.Equal(rc.Renditions, want[i]) {
			t.Errorf("command %d renditions %v, want %v", i, rc.Renditions, want[i])
		}
		fc := rc.Args[slices.Index(rc.Args, "-filter_complex")+1]
		if strings.Contains(fc, "split") {
			t.Errorf("command %d still splits: %s", i, fc)
		}
		if !strings.HasPrefix(fc, "[0:v:0]format=yuv420p,fps=30,scale=") {
			t.Errorf("command %d graph %s", i, fc)
		}
		if got := strings.Contains(fc, "[0:a:0]"); got != (i == 0) {
			t.Errorf("command %d audio chain %v", i, got)
		}
		if strings.Contains(strings.Join(rc.Args, " "), "pipe:4") {
			t.Errorf("command %d still writes to a pipe", i)
		}
		if !slices.Contains(rc.Args, "-re") || !slices.Contains(rc.Args, "file:/srv/media/source.mp4") {
			t.Errorf("command %d lost the input options", i)
		}
	}
	if !strings.Contains(strings.Join(cmds[2].Args, " "), "-map [v2] -c:v libx264 -preset veryfast -profile:v main -b:v 1200000") {
		t.Errorf("480p output options: %v", cmds[2].Args)
	}
}
