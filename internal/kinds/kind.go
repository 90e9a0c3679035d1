// Package kinds is the one table of resource kinds. Each kind (security
// group, input, channel, alarm, rule, distribution, preset, pipeline) is
// described once: its names, its API path, its place in the order of a
// stack's changes, how a stack declares it and how the CLI shows it. A
// server binds each kind it runs to the service that runs it (Bind) and
// hands the resulting Table to plan, apply and destroy and to the API; a
// kind the server does not run is not in its table.
package kinds

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sluice-video/sluice/internal/resource"
)

// Info is what is known of a kind without a server: what plans, the API
// and messages call it, and where it goes in the order of changes.
type Info struct {
	// Name names the kind in plans: "securityGroup".
	Name string
	// Label names it in messages: "security group".
	Label string
	// Path is its API collection under /api/v1/: "security-groups".
	Path string
	// Param is the path parameter that names one resource: "ref" (an ID
	// or a name) or "name".
	Param string
	// StackKey is the key of a stack file that declares it: "securityGroups".
	StackKey string
	// Rank orders creation: a kind is created and updated after every
	// kind of lower rank (an input after the security groups it names).
	Rank int
	// Referenced kinds are named by resources of other kinds (inputs by
	// channels, presets by pipelines): apply deletes them last, after
	// everything that could name them changed. Other kinds are deleted
	// first.
	Referenced bool
	// Absent is the API's answer, and the plan's error, when a server does
	// not run the kind.
	Absent string
}

// Item is one resource of a kind as plan, apply and destroy see it.
type Item struct {
	Name string
	// Stack is the stack that created it ("" for the API).
	Stack string
	// Spec is what it declares: the kind's spec type.
	Spec any
}

// Desc describes a kind once, typed by the resource R the server answers
// with, the spec S a stack or a request declares and the resource W a
// create or an update answers with (R for every kind but rules, whose
// list and get add how often they fired).
type Desc[R, S, W any] struct {
	Info
	// Declared is what a stack declares of the kind.
	Declared func(resource.Stack) []S
	// Name names a spec.
	Name func(S) string
	// Spec and Stack take a resource apart: what it declares, and the
	// stack that created it.
	Spec  func(R) S
	Stack func(R) string
	// Builtin, when set, tells resources the server has of itself (system
	// presets, the default pipeline): the API lists them, stacks neither
	// own nor plan them.
	Builtin func(R) bool
	// Location is what names a created resource in the API's Location
	// header; nil sends none.
	Location func(W) string
	// View is how the CLI lists and shows the kind.
	View View[R]
}

// Funcs are a kind's verbs, bound to the service that runs it.
type Funcs[R, S, W any] struct {
	List   func(ctx context.Context) ([]R, error)
	Get    func(ctx context.Context, ref string) (R, error)
	Create func(ctx context.Context, stack string, spec S) (W, error)
	Update func(ctx context.Context, ref, stack string, spec S) (W, error)
	// Delete deletes at once. A kind whose deletion takes time sets
	// DeleteAsync instead: it starts the deletion and answers the resource
	// as it is then; plan, apply and destroy wait until Get no longer
	// finds it.
	Delete      func(ctx context.Context, ref string) error
	DeleteAsync func(ctx context.Context, ref string) (R, error)
}

// Kind is a kind bound to the service that runs it, its types erased so
// that one table holds every kind.
type Kind struct {
	Info
	list     func(ctx context.Context) (any, []Item, error)
	get      func(ctx context.Context, ref string) (any, string, error)
	create   func(ctx context.Context, stack string, spec any) (any, error)
	update   func(ctx context.Context, ref, stack string, spec any) (any, error)
	del      func(ctx context.Context, ref string) (any, error)
	async    bool
	newSpec  func() any
	declared func(resource.Stack) []Item
	location func(any) string
	shown    shown
}

// Bind binds a described kind to its verbs.
func Bind[R, S, W any](d Desc[R, S, W], f Funcs[R, S, W]) Kind {
	k := Kind{
		Info:  d.Info,
		async: f.DeleteAsync != nil,
		list: func(ctx context.Context) (any, []Item, error) {
			all, err := f.List(ctx)
			if err != nil {
				return nil, nil, err
			}
			items := make([]Item, 0, len(all))
			for _, r := range all {
				if d.Builtin != nil && d.Builtin(r) {
					continue
				}
				s := d.Spec(r)
				items = append(items, Item{Name: d.Name(s), Stack: d.Stack(r), Spec: s})
			}
			return all, items, nil
		},
		get: func(ctx context.Context, ref string) (any, string, error) {
			r, err := f.Get(ctx, ref)
			if err != nil {
				return nil, "", err
			}
			return r, d.Stack(r), nil
		},
		create: func(ctx context.Context, stack string, spec any) (any, error) {
			s, err := specOf[S](d.Label, spec)
			if err != nil {
				return nil, err
			}
			return f.Create(ctx, stack, s)
		},
		update: func(ctx context.Context, ref, stack string, spec any) (any, error) {
			s, err := specOf[S](d.Label, spec)
			if err != nil {
				return nil, err
			}
			return f.Update(ctx, ref, stack, s)
		},
		del: func(ctx context.Context, ref string) (any, error) {
			if f.DeleteAsync != nil {
				return f.DeleteAsync(ctx, ref)
			}
			return nil, f.Delete(ctx, ref)
		},
		newSpec: func() any { return new(S) },
		declared: func(st resource.Stack) []Item {
			specs := d.Declared(st)
			items := make([]Item, len(specs))
			for i, s := range specs {
				items[i] = Item{Name: d.Name(s), Stack: st.Name, Spec: s}
			}
			return items
		},
	}
	k.shown = shownOf(d)
	if d.Location != nil {
		k.location = func(v any) string {
			if w, ok := v.(W); ok {
				return d.Location(w)
			}
			return ""
		}
	}
	return k
}

// specOf is spec as the kind's spec type: a value or a pointer to one.
func specOf[S any](label string, spec any) (S, error) {
	switch s := spec.(type) {
	case *S:
		return *s, nil
	case S:
		return s, nil
	}
	var zero S
	return zero, fmt.Errorf("%s: want a %T, not a %T", label, zero, spec)
}

// List returns every resource of the kind, as the service answers.
func (k Kind) List(ctx context.Context) (any, error) {
	all, _, err := k.list(ctx)
	return all, err
}

// Items returns the kind's resources as plans see them, built-in ones left out.
func (k Kind) Items(ctx context.Context) ([]Item, error) {
	_, items, err := k.list(ctx)
	return items, err
}

// Get returns one resource by reference.
func (k Kind) Get(ctx context.Context, ref string) (any, error) {
	r, _, err := k.get(ctx, ref)
	return r, err
}

// Create creates a resource for a stack ("" for the API); spec is the
// kind's spec type or a pointer to one.
func (k Kind) Create(ctx context.Context, stack string, spec any) (any, error) {
	return k.create(ctx, stack, spec)
}

// Update replaces a resource's spec and sets its stack.
func (k Kind) Update(ctx context.Context, ref, stack string, spec any) (any, error) {
	return k.update(ctx, ref, stack, spec)
}

// Replace replaces a resource's spec and keeps the stack that created it:
// a change through the API does not take a resource from its stack.
func (k Kind) Replace(ctx context.Context, ref string, spec any) (any, error) {
	_, stack, err := k.get(ctx, ref)
	if err != nil {
		return nil, err
	}
	return k.update(ctx, ref, stack, spec)
}

// Delete deletes a resource. For a kind whose deletion takes time it
// returns the resource as it is once the deletion started; else nil.
func (k Kind) Delete(ctx context.Context, ref string) (any, error) {
	return k.del(ctx, ref)
}

// Remove deletes a resource and, for a kind whose deletion takes time,
// waits until it is gone (so that what it used can be deleted next); one
// already gone counts as deleted.
func (k Kind) Remove(ctx context.Context, ref string) error {
	if !k.async {
		_, err := k.del(ctx, ref)
		return err
	}
	if _, err := k.del(ctx, ref); err != nil {
		if errors.Is(err, resource.ErrNotFound) {
			return nil
		}
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		if _, _, err := k.get(ctx, ref); errors.Is(err, resource.ErrNotFound) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s %s did not finish deleting: %w", k.Label, ref, ctx.Err())
		case <-tick.C:
		}
	}
}

// NewSpec returns a pointer to an empty spec of the kind, to decode into.
func (k Kind) NewSpec() any { return k.newSpec() }

// Declared returns what a stack declares of the kind, in its order.
func (k Kind) Declared(st resource.Stack) []Item { return k.declared(st) }

// Location is what names a created resource in the API's Location
// header, or "" when the kind sends none.
func (k Kind) Location(created any) string {
	if k.location == nil {
		return ""
	}
	return k.location(created)
}
