package stack

import (
	"context"
	"errors"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/sluice-video/sluice/internal/kinds"
	"github.com/sluice-video/sluice/internal/resource"
)

// widgetSpec is the spec of a kind the server does not have: the tests
// add it through the table alone.
type widgetSpec struct {
	Name string `json:"name"`
	Size int    `json:"size"`
}

// widget is a widget as its service keeps it.
type widget struct {
	widgetSpec
	Stack string `json:"stack,omitempty"`
}

// widgets is an in-memory service of widgets that writes what it does to
// a log shared with the real kinds.
type widgets struct {
	mu  sync.Mutex
	all map[string]widget
	log *callLog
}

func (s *widgets) List(context.Context) ([]widget, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]widget, 0, len(s.all))
	for _, w := range s.all {
		out = append(out, w)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (s *widgets) Get(_ context.Context, ref string) (widget, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w, ok := s.all[ref]
	if !ok {
		return widget{}, resource.NotFound("widget", ref)
	}
	return w, nil
}

func (s *widgets) Create(_ context.Context, stack string, spec widgetSpec) (widget, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.all[spec.Name]; ok {
		return widget{}, resource.Conflict("a widget named %q already exists", spec.Name)
	}
	s.log.add("create widget " + spec.Name)
	s.all[spec.Name] = widget{spec, stack}
	return s.all[spec.Name], nil
}

func (s *widgets) Update(_ context.Context, ref, stack string, spec widgetSpec) (widget, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.all[ref]; !ok {
		return widget{}, resource.NotFound("widget", ref)
	}
	s.log.add("update widget " + ref)
	s.all[ref] = widget{spec, stack}
	return s.all[ref], nil
}

func (s *widgets) Delete(_ context.Context, ref string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.all[ref]; !ok {
		return resource.NotFound("widget", ref)
	}
	s.log.add("delete widget " + ref)
	delete(s.all, ref)
	return nil
}

// callLog is the order in which the kinds' services were changed.
type callLog struct {
	mu    sync.Mutex
	calls []string
}

func (l *callLog) add(call string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, call)
}

func (l *callLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.calls
	l.calls = nil
	return out
}

// logged is a kind's verbs that also write each change to the log.
func logged[R, S, W any](log *callLog, kind string, name func(S) string, f kinds.Funcs[R, S, W]) kinds.Funcs[R, S, W] {
	create, update := f.Create, f.Update
	f.Create = func(ctx context.Context, stack string, spec S) (W, error) {
		log.add("create " + kind + " " + name(spec))
		return create(ctx, stack, spec)
	}
	f.Update = func(ctx context.Context, ref, stack string, spec S) (W, error) {
		log.add("update " + kind + " " + ref)
		return update(ctx, ref, stack, spec)
	}
	if del := f.Delete; del != nil {
		f.Delete = func(ctx context.Context, ref string) error {
			log.add("delete " + kind + " " + ref)
			return del(ctx, ref)
		}
	}
	if del := f.DeleteAsync; del != nil {
		f.DeleteAsync = func(ctx context.Context, ref string) (R, error) {
			log.add("delete " + kind + " " + ref)
			return del(ctx, ref)
		}
	}
	return f
}

// TestAFakeKindIsPlannedAppliedAndDestroyed adds a kind through the table
// alone, between the real inputs and channels: widgets rank with inputs
// and, like inputs, others could name them. Plan, apply and destroy treat
// it like the real kinds, in the order its rank gives.
func TestAFakeKindIsPlannedAppliedAndDestroyed(t *testing.T) {
	ctx := context.Background()
	m := newManager(t)
	log := &callLog{}
	declared := map[string][]widgetSpec{}
	desc := kinds.Desc[widget, widgetSpec, widget]{
		Info: kinds.Info{
			Name: "widget", Label: "widget", Path: "widgets", Param: "ref", StackKey: "widgets",
			Rank: kinds.Inputs().Rank, Referenced: true, Absent: "no widgets here",
		},
		Declared: func(st resource.Stack) []widgetSpec { return declared[st.Name] },
		Name:     func(s widgetSpec) string { return s.Name },
		Spec:     func(w widget) widgetSpec { return w.widgetSpec },
		Stack:    func(w widget) string { return w.Stack },
	}
	svc := &widgets{all: map[string]widget{}, log: log}
	c := m.Manager
	table := kinds.NewTable(
		kinds.Bind(kinds.Inputs(), logged(log, KindInput, func(s resource.InputSpec) string { return s.Name },
			kinds.Funcs[resource.Input, resource.InputSpec, resource.Input]{
				List: c.ListInputs, Get: c.GetInput, Create: c.CreateInput, Update: c.UpdateInput, Delete: c.DeleteInput,
			})),
		kinds.Bind(desc, kinds.Funcs[widget, widgetSpec, widget]{
			List: svc.List, Get: svc.Get, Create: svc.Create, Update: svc.Update, Delete: svc.Delete,
		}),
		kinds.Bind(kinds.Channels(), logged(log, KindChannel, func(s resource.ChannelSpec) string { return s.Name },
			kinds.Funcs[resource.Channel, resource.ChannelSpec, resource.Channel]{
				List: c.ListChannels, Get: c.GetChannel, Create: c.CreateChannel, Update: c.UpdateChannel, DeleteAsync: c.DeleteChannel,
			})),
	)

	st := demo()
	st.Channels = st.Channels[:1]
	declared["demo"] = []widgetSpec{{Name: "w1", Size: 1}, {Name: "w2", Size: 2}}
	plan, err := MakePlan(ctx, table, st)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"create input bars", "create widget w1", "create widget w2", "create channel one"}
	if got := summary(plan); !slices.Equal(got, want) {
		t.Fatalf("first plan %v, want %v", got, want)
	}
	if len(log.take()) != 0 {
		t.Fatal("a plan changed something")
	}
	if _, err := Apply(ctx, table, st); err != nil {
		t.Fatal(err)
	}
	if got := log.take(); !slices.Equal(got, want) {
		t.Errorf("applied %v, want %v", got, want)
	}
	if w, err := svc.Get(ctx, "w2"); err != nil || w.Stack != "demo" || w.Size != 2 {
		t.Errorf("w2 after apply: %+v %v", w, err)
	}

	// One widget changes, one goes, one comes; a second input comes too.
	declared["demo"] = []widgetSpec{{Name: "w1", Size: 10}, {Name: "w3", Size: 3}}
	st.Inputs = append(st.Inputs, resource.InputSpec{Name: "spare", Type: resource.InputTestPattern})
	plan, err = Apply(ctx, table, st)
	if err != nil {
		t.Fatal(err)
	}
	want = []string{"unchanged input bars", "create input spare", "update widget w1 (size)", "create widget w3", "unchanged channel one", "delete widget w2"}
	if got := summary(plan); !slices.Equal(got, want) {
		t.Errorf("second plan %v, want %v", got, want)
	}
	want = []string{"create input spare", "update widget w1", "create widget w3", "delete widget w2"}
	if got := log.take(); !slices.Equal(got, want) {
		t.Errorf("applied %v, want %v", got, want)
	}
	if again, err := MakePlan(ctx, table, st); err != nil || !again.Empty() {
		t.Errorf("a converged stack plans %v %v", summary(again), err)
	}

	// A widget the API made belongs to no stack: a stack may not take it.
	if _, err := svc.Create(ctx, "", widgetSpec{Name: "mine"}); err != nil {
		t.Fatal(err)
	}
	log.take()
	clash := st
	clash.Name = "clash"
	clash.Inputs, clash.Channels = nil, nil
	declared["clash"] = []widgetSpec{{Name: "mine"}}
	if _, err := MakePlan(ctx, table, clash); !errors.Is(err, resource.ErrConflict) || !strings.Contains(err.Error(), `widget "mine" already exists and was not created by stack "clash"`) {
		t.Errorf("taking over an API-made widget: %v", err)
	}

	// Destroy: the channel first (it stops, and frees its inputs), then
	// the widgets and the inputs, last created first.
	plan, err = Destroy(ctx, table, st)
	if err != nil {
		t.Fatal(err)
	}
	want = []string{"delete channel one", "delete widget w1", "delete widget w3", "delete input bars", "delete input spare"}
	if got := summary(plan); !slices.Equal(got, want) {
		t.Errorf("destroy plan %v, want %v", got, want)
	}
	if got := log.take(); !slices.Equal(got, want) {
		t.Errorf("destroyed %v, want %v", got, want)
	}
	if all, _ := svc.List(ctx); len(all) != 1 || all[0].Name != "mine" {
		t.Errorf("widgets left: %+v", all)
	}
}
