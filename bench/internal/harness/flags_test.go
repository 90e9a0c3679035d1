package harness

import (
	"io"
	"slices"
	"testing"
)

func TestSplitNames(t *testing.T) {
	got, err := SplitNames("only", "contender", "a, b", []string{"a", "b", "c"})
	if err != nil || !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("SplitNames = %q, %v", got, err)
	}
	if _, err := SplitNames("only", "contender", "a,d", []string{"a"}); err == nil || err.Error() != `--only: unknown contender "d"` {
		t.Fatalf("unknown name: %v", err)
	}
}

func TestParse(t *testing.T) {
	var f Flags
	fs := NewFlagSet("x", "Usage\n", io.Discard)
	f.Register(fs, "the source")
	if err := Parse(fs, []string{"--keep", "--source-seconds", "5"}); err != nil || !f.Keep || f.SourceSeconds != 5 || f.FFmpeg != "ffmpeg" {
		t.Fatalf("Parse: %+v, %v", f, err)
	}
	fs = NewFlagSet("x", "Usage\n", io.Discard)
	f.Register(fs, "the source")
	if err := Parse(fs, []string{"extra"}); err == nil || err.Error() != "unexpected arguments: extra" {
		t.Fatalf("positional argument: %v", err)
	}
}
