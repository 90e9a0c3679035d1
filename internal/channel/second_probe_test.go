package channel

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/sluice-video/sluice/internal/input"
	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/store"
)

// TestSecondPipelineProbesTheNewInput checks that pipeline 1's runtime
// does not take the probe of its old input once its input or spec changed
// while it probed: the probe runs again.
func TestSecondPipelineProbesTheNewInput(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "sluice.db"))
	if err != nil {
		t.Fatal(err)
	}
	m := New(Config{Store: st})
	t.Cleanup(func() {
		m.Close(ctx)
		_ = st.Close()
	})
	spec := standardSpec("s", "bars")
	rec := store.ChannelRecord{
		Channel: resource.Channel{ID: "ch-s", ChannelSpec: spec, State: resource.StateIdle},
		Desired: resource.StateIdle, Generation: 1,
	}
	lease, err := m.cl.AcquirePipeline(ctx, rec.ID, rec.Name, 1)
	if err != nil {
		t.Fatal(err)
	}
	rt := m.newRuntime(rec, lease)
	for _, change := range []struct {
		what string
		ev   func() any
	}{
		{"its input changed", func() any { return envelope{cmd: cmdInputChanged{}, reply: make(chan error, 1)} }},
		{"its spec changed", func() any {
			r := rt.record()
			r.Generation++
			return evFollow{rec: &r}
		}},
	} {
		rt.probe = nil
		rt.secondStart()
		if !rt.probing {
			t.Fatalf("%s: pipeline 1 does not probe its input", change.what)
		}
		old := rt.probeGen
		rt.handleSecond(change.ev())
		rt.handleSecond(evProbed{gen: old, probe: input.Probe{HasAudio: true}})
		if rt.probe != nil || !rt.probing {
			t.Errorf("%s while pipeline 1 probed: it took the old input's probe", change.what)
		}
	}
}
