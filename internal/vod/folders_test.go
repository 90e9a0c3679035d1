package vod

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-video/sluice/internal/confine"
)

// TestPipelineFoldersStayInTheAllowedFolders: a local pipeline folder is
// inside the media directory (relative folders point there) or a folder
// allowed with --media-allow; an absolute folder elsewhere and a link out
// of the media directory are refused, and nothing is created outside.
func TestPipelineFoldersStayInTheAllowedFolders(t *testing.T) {
	dir := t.TempDir()
	allowed, outside := t.TempDir(), t.TempDir()
	s := testServiceConfig(t, dir, Config{Workers: 0, MediaAllow: []string{allowed}})
	media := filepath.Join(dir, "media")
	if err := os.MkdirAll(media, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(media, "escape")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(allowed, filepath.Join(media, "shared")); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ok := []Pipeline{
		{Name: "relative", Input: "uploads", Output: "published", Presets: []string{"test-mp4"}},
		{Name: "allowed", Input: filepath.Join(allowed, "in"), Output: filepath.Join(allowed, "out"), Presets: []string{"test-mp4"}},
		{Name: "linked", Input: "shared", Output: "published", Presets: []string{"test-mp4"}},
	}
	for _, p := range ok {
		if _, err := s.CreatePipeline(ctx, "", p); err != nil {
			t.Errorf("%s: %v", p.Name, err)
		}
	}
	for _, d := range []string{filepath.Join(media, "uploads"), filepath.Join(media, "published"), filepath.Join(allowed, "in")} {
		if st, err := os.Stat(d); err != nil || !st.IsDir() {
			t.Errorf("%s was not made: %v", d, err)
		}
	}
	refused := []Pipeline{
		{Name: "abs", Input: filepath.Join(outside, "in"), Output: "published", Presets: []string{"test-mp4"}},
		{Name: "url", Input: "file://" + filepath.Join(outside, "in"), Output: "published", Presets: []string{"test-mp4"}},
		{Name: "escape", Input: "uploads", Output: "escape/out", Presets: []string{"test-mp4"}},
		{Name: "climb", Input: "../queue", Output: "published", Presets: []string{"test-mp4"}},
		{Name: "data", Input: dir, Output: "published", Presets: []string{"test-mp4"}},
	}
	for _, p := range refused {
		_, err := s.CreatePipeline(ctx, "", p)
		var ve *ValidationError
		if !errors.As(err, &ve) || !strings.Contains(err.Error(), confine.ErrOutside.Error()) {
			t.Errorf("%s: %v, want a validation error saying %q", p.Name, err, confine.ErrOutside)
		}
	}
	entries, _ := os.ReadDir(outside)
	if len(entries) != 0 {
		t.Errorf("folders were made outside: %v", entries)
	}
}
