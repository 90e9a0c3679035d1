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
	custom, err := listSpecs[Preset](ctx, s.db, "vod_presets")
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
	if err := s.db.getSpec(ctx, "vod_presets", name, &p); err != nil {
		return Preset{}, fmt.Errorf("preset %w", err)
	}
	return p, nil
}

// PutPreset creates a custom preset, or replaces it when replace is set.
// stack names the stack file that owns it ("" for the API).
func (s *Service) PutPreset(ctx context.Context, p Preset, stack string, replace bool) (Preset, error) {
	p.System = false
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

// defaultPipeline reads from and writes to folders in the data directory.
func (s *Service) defaultPipeline() Pipeline {
	return Pipeline{
		Name:    DefaultPipeline,
		Input:   filepath.Join(s.cfg.DataDir, "vod", "input"),
		Output:  filepath.Join(s.cfg.DataDir, "vod", "output"),
		Presets: []string{"system-abr", "system-thumbnails"},
	}
}

// Pipelines lists the pipelines, the default one first unless replaced.
func (s *Service) Pipelines(ctx context.Context) ([]Pipeline, error) {
	list, err := listSpecs[Pipeline](ctx, s.db, "vod_pipelines")
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
	err := s.db.getSpec(ctx, "vod_pipelines", name, &p)
	if errors.Is(err, ErrNotFound) && name == DefaultPipeline {
		return s.defaultPipeline(), nil
	}
	if err != nil {
		return Pipeline{}, fmt.Errorf("pipeline %w", err)
	}
	return p, nil
}

// PutPipeline creates a pipeline, or replaces it when replace is set.
func (s *Service) PutPipeline(ctx context.Context, p Pipeline, stack string, replace bool) (Pipeline, error) {
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
		return nil, err
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
		return Asset{}, fmt.Errorf("asset %q: %w", id, err) // the database failed: not a 404
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

// OwnedPresets lists the custom presets with the stack that owns each.
func (s *Service) OwnedPresets(ctx context.Context) ([]resource.Owned[resource.PresetSpec], error) {
	return ownedSpecs[resource.PresetSpec](ctx, s.db, "vod_presets")
}

// CreatePreset creates a custom preset for a stack.
func (s *Service) CreatePreset(ctx context.Context, stack string, p Preset) (Preset, error) {
	return s.PutPreset(ctx, p, stack, false)
}

// UpdatePreset replaces a custom preset for a stack.
func (s *Service) UpdatePreset(ctx context.Context, ref, stack string, p Preset) (Preset, error) {
	p.Name = ref
	return s.PutPreset(ctx, p, stack, true)
}

// OwnedPipelines lists the stored pipelines with the stack that owns each.
func (s *Service) OwnedPipelines(ctx context.Context) ([]resource.Owned[resource.PipelineSpec], error) {
	return ownedSpecs[resource.PipelineSpec](ctx, s.db, "vod_pipelines")
}

// CreatePipeline creates a pipeline for a stack.
func (s *Service) CreatePipeline(ctx context.Context, stack string, p Pipeline) (Pipeline, error) {
	return s.PutPipeline(ctx, p, stack, false)
}

// UpdatePipeline replaces a pipeline for a stack.
func (s *Service) UpdatePipeline(ctx context.Context, ref, stack string, p Pipeline) (Pipeline, error) {
	p.Name = ref
	return s.PutPipeline(ctx, p, stack, true)
}
