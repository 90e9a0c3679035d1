package dvr

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/resource"
)

// TestServiceArchivesAndEnforcesRetention ticks the service with a clock
// the test moves: segments are archived while the channel has a DVR
// window, and deleted once the window has passed over them.
func TestServiceArchivesAndEnforcesRetention(t *testing.T) {
	f := newFixture(t) // a timeline with ten segments in memory or not
	now := t0.Add(time.Minute)
	outs := []resource.OutputGroup{{Name: "hls", Type: resource.OutputHLS, WindowSeconds: 6, DVRWindowSeconds: 60}}
	root := t.TempDir()
	s := NewService(Config{
		Root: root,
		Now:  func() time.Time { return now },
		Sources: func(context.Context) []Source {
			return []Source{{Name: "ch", Timeline: f.tl, Outputs: outs}, {Name: "nodvr", Timeline: f.tl}}
		},
	})
	s.Tick(context.Background())
	a, err := s.Archive("ch", 0)
	if err != nil {
		t.Fatal(err)
	}
	inMemory := len(f.tl.Snapshot(time.Hour).Renditions[0].Segments)
	if a.Len() != inMemory || a.Window() != time.Minute {
		t.Fatalf("archived %d segments (window %v), want the %d in memory", a.Len(), a.Window(), inMemory)
	}
	if files, _ := filepath.Glob(filepath.Join(root, "nodvr", "*")); len(files) != 0 {
		t.Errorf("a channel without a DVR window was archived: %v", files)
	}
	_, last, _ := a.Available()
	now = last.Add(59 * time.Second)
	s.Tick(context.Background())
	if a.Len() == 0 {
		t.Fatal("retention deleted segments still inside the window")
	}
	now = last.Add(61 * time.Second)
	s.Tick(context.Background())
	if a.Len() != 0 || a.Size() != 0 {
		t.Fatalf("%d segments (%d bytes) left a minute after the newest ended", a.Len(), a.Size())
	}
	// The deleted segments are still in memory: they are not archived again.
	s.Tick(context.Background())
	if a.Len() != 0 {
		t.Errorf("%d deleted segments archived again", a.Len())
	}
	if files, _ := filepath.Glob(filepath.Join(root, "ch", "*", "*")); len(files) != 0 {
		t.Errorf("files left: %v", files)
	}
}
