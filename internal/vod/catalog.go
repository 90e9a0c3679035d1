package vod

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"

	"github.com/sluice-video/sluice/internal/event"
	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/storage"
)

// Presets lists the system presets and then the custom ones.
func (s *Service) Presets(ctx context.Context) ([]Preset, error) {
	custom, err := listSpecs(ctx, s.db, "vod_presets", func(p *Preset, stack string) { p.Stack = stack })
	if err != nil {
		return nil, err
	}
	return append(SystemPresets(), custom...), nil
}

// Preset returns one preset by name.
func (s *Service) Preset(ctx context.Context, name string) (Preset, error) {
	if p, ok := systemPreset(name); ok {
		return p, nil
	}
	var p Preset
	stack, err := s.db.getSpec(ctx, "vod_presets", name, &p)
	if err != nil {
		return Preset{}, fmt.Errorf("preset %w", err)
	}
	p.Stack = stack
	return p, nil
}

// CreatePreset creates a custom preset; stack names the stack that
// creates it ("" for the API).
func (s *Service) CreatePreset(ctx context.Context, stack string, p Preset) (Preset, error) {
	return s.putPreset(ctx, p, stack, false)
}

// UpdatePreset replaces the custom preset named ref and sets its stack. A
// spec without a name takes ref; one with another name is refused.
func (s *Service) UpdatePreset(ctx context.Context, ref, stack string, p Preset) (Preset, error) {
	if err := sameName(&p.Name, ref); err != nil {
		return Preset{}, err
	}
	return s.putPreset(ctx, p, stack, true)
}

// putPreset stores a custom preset, replacing the one of its name when
// replace is set.
func (s *Service) putPreset(ctx context.Context, p Preset, stack string, replace bool) (Preset, error) {
	p.System, p.Stack = false, stack
	if _, ok := systemPreset(p.Name); ok {
		return Preset{}, fmt.Errorf("preset %q is a system preset and cannot be changed: %w", p.Name, ErrConflict)
	}
	if err := p.Validate(); err != nil {
		return Preset{}, err
	}
	if err := s.db.putSpec(ctx, "vod_presets", p.Name, stack, p, replace); err != nil {
		return Preset{}, fmt.Errorf("preset %w", err)
	}
	return p, nil
}

// DeletePreset removes a custom preset.
func (s *Service) DeletePreset(ctx context.Context, name string) error {
	if _, ok := systemPreset(name); ok {
		return fmt.Errorf("preset %q is a system preset and cannot be deleted: %w", name, ErrConflict)
	}
	if err := s.db.deleteSpec(ctx, "vod_presets", name); err != nil {
		return fmt.Errorf("preset %w", err)
	}
	return nil
}

// sameName names a spec after the resource it replaces, refusing another name.
func sameName(name *string, ref string) error {
	if *name == "" {
		*name = ref
	}
	if *name != ref {
		return fmt.Errorf("%w: name %q in the body differs from %q in the path", resource.ErrInvalid, *name, ref)
	}
	return nil
}

// defaultPipeline reads from and writes to folders in the data directory.
func (s *Service) defaultPipeline() Pipeline {
	return Pipeline{
		Name:    DefaultPipeline,
		Input:   filepath.Join(s.cfg.DataDir, "vod", "input"),
		Output:  filepath.Join(s.cfg.DataDir, "vod", "output"),
		Presets: []string{"system-abr", "system-thumbnails"},
		Builtin: true,
	}
}

// Pipelines lists the pipelines, the default one first unless replaced.
func (s *Service) Pipelines(ctx context.Context) ([]Pipeline, error) {
	list, err := listSpecs(ctx, s.db, "vod_pipelines", func(p *Pipeline, stack string) { p.Stack = stack })
	if err != nil {
		return nil, err
	}
	for _, p := range list {
		if p.Name == DefaultPipeline {
			return list, nil
		}
	}
	return append([]Pipeline{s.defaultPipeline()}, list...), nil
}

// Pipeline returns one pipeline by name.
func (s *Service) Pipeline(ctx context.Context, name string) (Pipeline, error) {
	var p Pipeline
	stack, err := s.db.getSpec(ctx, "vod_pipelines", name, &p)
	if errors.Is(err, ErrNotFound) && name == DefaultPipeline {
		return s.defaultPipeline(), nil
	}
	if err != nil {
		return Pipeline{}, fmt.Errorf("pipeline %w", err)
	}
	p.Stack = stack
	return p, nil
}

// CreatePipeline creates a pipeline; stack names the stack that creates
// it ("" for the API).
func (s *Service) CreatePipeline(ctx context.Context, stack string, p Pipeline) (Pipeline, error) {
	return s.putPipeline(ctx, p, stack, false)
}

// UpdatePipeline replaces the pipeline named ref (the default one is then
// stored in its name) and sets its stack. A spec without a name takes ref;
// one with another name is refused.
func (s *Service) UpdatePipeline(ctx context.Context, ref, stack string, p Pipeline) (Pipeline, error) {
	if err := sameName(&p.Name, ref); err != nil {
		return Pipeline{}, err
	}
	return s.putPipeline(ctx, p, stack, true)
}

// putPipeline stores a pipeline, replacing the one of its name when
// replace is set.
func (s *Service) putPipeline(ctx context.Context, p Pipeline, stack string, replace bool) (Pipeline, error) {
	p.Stack, p.Builtin = stack, false
	if err := p.Validate(); err != nil {
		return Pipeline{}, err
	}
	for _, name := range p.Presets {
		if _, err := s.Preset(ctx, name); err != nil {
			return Pipeline{}, &ValidationError{Msg: fmt.Sprintf("presets: %q does not exist", name)}
		}
	}
	for _, loc := range []string{p.Input, p.Output} {
		if _, err := s.storageFor(loc); err != nil {
			return Pipeline{}, &ValidationError{Msg: err.Error()}
		}
	}
	if err := s.db.putSpec(ctx, "vod_pipelines", p.Name, stack, p, replace); err != nil {
		return Pipeline{}, fmt.Errorf("pipeline %w", err)
	}
	return p, nil
}

// DeletePipeline removes a pipeline; its jobs and assets stay.
func (s *Service) DeletePipeline(ctx context.Context, name string) error {
	if err := s.db.deleteSpec(ctx, "vod_pipelines", name); err != nil {
		return fmt.Errorf("pipeline %w", err)
	}
	return nil
}

// Assets lists finished assets, newest first.
func (s *Service) Assets(ctx context.Context) ([]Asset, error) {
	rows, err := s.cfg.Queue.SQL.QueryContext(ctx, "SELECT spec FROM vod_assets ORDER BY created_at DESC, id")
	if err != nil {
		return nil, s.cfg.Queue.Check(err)
	}
	defer func() { _ = rows.Close() }()
	out := []Asset{}
	for rows.Next() {
		var spec string
		if err := rows.Scan(&spec); err != nil {
			return nil, err
		}
		var a Asset
		if err := json.Unmarshal([]byte(spec), &a); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// Asset returns one asset by its job id.
func (s *Service) Asset(ctx context.Context, id string) (Asset, error) {
	var spec string
	err := s.cfg.Queue.SQL.QueryRowContext(ctx, s.cfg.Queue.Rebind("SELECT spec FROM vod_assets WHERE id = ?"), id).Scan(&spec)
	if errors.Is(err, sql.ErrNoRows) {
		return Asset{}, fmt.Errorf("asset %q: %w", id, ErrNotFound)
	}
	if err != nil {
		return Asset{}, fmt.Errorf("asset %q: %w", id, s.cfg.Queue.Check(err)) // the database failed: not a 404
	}
	var a Asset
	return a, json.Unmarshal([]byte(spec), &a)
}

// notify sends an event to the pipeline's webhook, if it has one, through
// the webhook deliverer (retried with backoff, logged); it never holds up
// the job.
func (s *Service) notify(ctx context.Context, pipeline string, e resource.Event) {
	p, err := s.Pipeline(ctx, pipeline)
	if err != nil || p.Notify == "" {
		return
	}
	if !s.cfg.Webhooks.Enqueue(event.Webhook{URL: p.Notify, Secret: p.NotifySecret}, e) {
		s.logger.Warn("the pipeline's webhook queue is full; the event is dropped", "pipeline", pipeline, "event", e.Type)
	}
}

// OpenOutput opens a published file in a pipeline's output, for serving.
func (s *Service) OpenOutput(ctx context.Context, pipeline, key string) (io.ReadCloser, storage.Object, error) {
	p, err := s.Pipeline(ctx, pipeline)
	if err != nil {
		return nil, storage.Object{}, err
	}
	st, err := s.storageFor(p.Output)
	if err != nil {
		return nil, storage.Object{}, err
	}
	return st.Get(ctx, key)
}
