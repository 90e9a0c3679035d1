package vod

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sluice-video/sluice/internal/queue"
	"github.com/sluice-video/sluice/internal/resource"
)

// ErrNotFound is returned for a job, preset, pipeline or asset that does
// not exist; ErrConflict for a name that is taken or a change the
// resource's state refuses.
// They are the resource errors, so the API maps them like any other.
var (
	ErrNotFound = resource.ErrNotFound
	ErrConflict = resource.ErrConflict
)

// schema is the on-demand tables, in SQL both SQLite and PostgreSQL accept.
// They live in the queue database so every node sees the same jobs.
var schema = []string{
	`CREATE TABLE IF NOT EXISTS vod_presets (name TEXT PRIMARY KEY, spec TEXT NOT NULL, stack TEXT NOT NULL DEFAULT '', created_at TEXT NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS vod_pipelines (name TEXT PRIMARY KEY, spec TEXT NOT NULL, stack TEXT NOT NULL DEFAULT '', created_at TEXT NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS vod_jobs (
		id TEXT PRIMARY KEY, pipeline TEXT NOT NULL, input TEXT NOT NULL, input_etag TEXT NOT NULL DEFAULT '',
		presets TEXT NOT NULL, output TEXT NOT NULL,
		state TEXT NOT NULL, phase TEXT NOT NULL DEFAULT '', percent INTEGER NOT NULL DEFAULT 0,
		error TEXT NOT NULL DEFAULT '', log TEXT NOT NULL DEFAULT '', attempts INTEGER NOT NULL DEFAULT 0,
		queue_id BIGINT NOT NULL DEFAULT 0, probe TEXT NOT NULL DEFAULT '', outputs TEXT NOT NULL DEFAULT '',
		runs INTEGER NOT NULL DEFAULT 0,
		created_at TEXT NOT NULL, updated_at TEXT NOT NULL, finished_at TEXT NOT NULL DEFAULT '')`,
	`CREATE INDEX IF NOT EXISTS vod_jobs_by_created ON vod_jobs(created_at)`,
	`CREATE TABLE IF NOT EXISTS vod_triggers (pipeline TEXT NOT NULL, object_key TEXT NOT NULL, etag TEXT NOT NULL, job_id TEXT NOT NULL, created_at TEXT NOT NULL, PRIMARY KEY (pipeline, object_key, etag))`,
	`CREATE TABLE IF NOT EXISTS vod_assets (id TEXT PRIMARY KEY, pipeline TEXT NOT NULL, spec TEXT NOT NULL, created_at TEXT NOT NULL)`,
}

// db is the on-demand state on the queue database.
type db struct {
	q   *queue.DB
	now func() time.Time
}

// migrate makes the tables, under the queue's migration lock so that
// nodes starting together on one PostgreSQL do not race to create them.
func (d *db) migrate(ctx context.Context) error {
	return d.q.Locked(ctx, func(ctx context.Context) error {
		for _, s := range schema {
			if _, err := d.q.SQL.ExecContext(ctx, s); err != nil {
				return fmt.Errorf("on-demand schema: %w", err)
			}
		}
		return nil
	})
}

func (d *db) exec(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := d.q.SQL.ExecContext(ctx, d.q.Rebind(query), args...)
	if err != nil {
		return 0, d.q.Check(err)
	}
	return res.RowsAffected()
}

func isDuplicate(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "UNIQUE constraint") || strings.Contains(err.Error(), "duplicate key"))
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func unstamp(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}

// putSpec inserts or (when replace) updates a named JSON document.
func (d *db) putSpec(ctx context.Context, table, name, stack string, v any, replace bool) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if replace {
		n, err := d.exec(ctx, "UPDATE "+table+" SET spec = ?, stack = ? WHERE name = ?", string(b), stack, name)
		if err != nil {
			return err
		}
		if n == 1 {
			return nil
		}
	}
	_, err = d.exec(ctx, "INSERT INTO "+table+" (name, spec, stack, created_at) VALUES (?, ?, ?, ?)", name, string(b), stack, stamp(d.now()))
	if isDuplicate(err) {
		return fmt.Errorf("%q already exists: %w", name, ErrConflict)
	}
	return err
}

// getSpec reads a named JSON document into v and returns the stack that
// owns it.
func (d *db) getSpec(ctx context.Context, table, name string, v any) (string, error) {
	var spec, stack string
	err := d.q.SQL.QueryRowContext(ctx, d.q.Rebind("SELECT spec, stack FROM "+table+" WHERE name = ?"), name).Scan(&spec, &stack)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("%q: %w", name, ErrNotFound)
	}
	if err != nil {
		return "", d.q.Check(err)
	}
	return stack, json.Unmarshal([]byte(spec), v)
}

// listSpecs reads every document of a table, by name, each told the stack
// that owns it.
func listSpecs[T any](ctx context.Context, d *db, table string, owned func(*T, string)) ([]T, error) {
	rows, err := d.q.SQL.QueryContext(ctx, "SELECT spec, stack FROM "+table+" ORDER BY name") //nolint:gosec // table is one of this package's constants
	if err != nil {
		return nil, d.q.Check(err)
	}
	defer func() { _ = rows.Close() }()
	var out []T
	for rows.Next() {
		var spec, stack string
		if err := rows.Scan(&spec, &stack); err != nil {
			return nil, err
		}
		var v T
		if err := json.Unmarshal([]byte(spec), &v); err != nil {
			return nil, err
		}
		owned(&v, stack)
		out = append(out, v)
	}
	return out, rows.Err()
}

func (d *db) deleteSpec(ctx context.Context, table, name string) error {
	n, err := d.exec(ctx, "DELETE FROM "+table+" WHERE name = ?", name)
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("%q: %w", name, ErrNotFound)
	}
	return nil
}

const jobColumns = "id, pipeline, input, input_etag, presets, output, state, phase, percent, error, log, attempts, queue_id, probe, outputs, created_at, updated_at, finished_at"

func (d *db) insertJob(ctx context.Context, j Job) error {
	presets, _ := json.Marshal(j.Presets)
	_, err := d.exec(ctx, "INSERT INTO vod_jobs (id, pipeline, input, input_etag, presets, output, state, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
		j.ID, j.Pipeline, j.Input, j.inputETag, string(presets), j.Output, j.State, stamp(j.Created), stamp(j.Created))
	return err
}

func (d *db) job(ctx context.Context, id string) (Job, error) {
	row := d.q.SQL.QueryRowContext(ctx, d.q.Rebind("SELECT "+jobColumns+" FROM vod_jobs WHERE id = ?"), id)
	j, err := scanJob(row)
	if errors.Is(err, sql.ErrNoRows) {
		return Job{}, fmt.Errorf("job %q: %w", id, ErrNotFound)
	}
	return j, d.q.Check(err)
}

// state reads only a job's state, for the cancel watch that asks twice a
// second per running job (the whole row carries the job's growing log).
func (d *db) state(ctx context.Context, id string) (string, error) {
	var st string
	err := d.q.SQL.QueryRowContext(ctx, d.q.Rebind("SELECT state FROM vod_jobs WHERE id = ?"), id).Scan(&st)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("job %q: %w", id, ErrNotFound)
	}
	return st, d.q.Check(err)
}

func (d *db) jobs(ctx context.Context, state string, limit int) ([]Job, error) {
	q := "SELECT " + jobColumns + " FROM vod_jobs"
	var args []any
	if state != "" {
		q += " WHERE state = ?"
		args = append(args, state)
	}
	q += fmt.Sprintf(" ORDER BY created_at DESC, id LIMIT %d", limit)
	rows, err := d.q.SQL.QueryContext(ctx, d.q.Rebind(q), args...)
	if err != nil {
		return nil, d.q.Check(err)
	}
	defer func() { _ = rows.Close() }()
	var out []Job
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, err
		}
		j.Log = "" // the list stays small; get shows the log
		out = append(out, j)
	}
	return out, rows.Err()
}

func scanJob(s interface{ Scan(...any) error }) (Job, error) {
	var j Job
	var presets, probe, outputs, created, updated, finished string
	if err := s.Scan(&j.ID, &j.Pipeline, &j.Input, &j.inputETag, &presets, &j.Output, &j.State, &j.Phase, &j.Percent, &j.Error, &j.Log,
		&j.Attempts, &j.QueueID, &probe, &outputs, &created, &updated, &finished); err != nil {
		return Job{}, err
	}
	_ = json.Unmarshal([]byte(presets), &j.Presets)
	if probe != "" {
		j.Probe = &Probe{}
		_ = json.Unmarshal([]byte(probe), j.Probe)
	}
	if outputs != "" {
		_ = json.Unmarshal([]byte(outputs), &j.Outputs)
	}
	j.Created, j.Updated = unstamp(created), unstamp(updated)
	if finished != "" {
		j.Finished = unstamp(finished)
	}
	return j, nil
}

// appendLog adds a timestamped line to the job's log.
func (d *db) appendLog(ctx context.Context, id, line string) {
	_, _ = d.exec(ctx, "UPDATE vod_jobs SET log = log || ? WHERE id = ?", d.now().UTC().Format("15:04:05.000")+" "+line+"\n", id)
}

// transition moves a job from one of the states in from to state, and
// reports whether it did: a job another worker or a cancel already moved
// on is left alone, which is what makes publishing happen once.
func (d *db) transition(ctx context.Context, id string, from []string, state, phase, errMsg string) (bool, error) {
	q := "UPDATE vod_jobs SET state = ?, phase = ?, error = ?, updated_at = ?"
	now := stamp(d.now())
	args := []any{state, phase, errMsg, now}
	if state == StateComplete || state == StateError || state == StateCanceled {
		q += ", finished_at = ?"
		args = append(args, now)
	}
	if state == StateComplete {
		q += ", percent = 100"
	}
	q += " WHERE id = ? AND state IN (" + strings.TrimSuffix(strings.Repeat("?, ", len(from)), ", ") + ")"
	args = append(args, id)
	for _, f := range from {
		args = append(args, f)
	}
	n, err := d.exec(ctx, q, args...)
	return n == 1, err
}

// start moves a job to PROGRESSING for a new attempt, unless its pipeline
// already runs limit jobs (0: no limit), and reports whether it did. The
// count and the change are one statement, so nodes racing for the last
// slot do not both win it on SQLite, and rarely on PostgreSQL.
func (d *db) start(ctx context.Context, id, pipeline string, limit int) (bool, error) {
	n, err := d.exec(ctx, `UPDATE vod_jobs SET state = ?, phase = ?, error = '', percent = 0, attempts = attempts + 1, updated_at = ?
		WHERE id = ? AND state IN (?, ?)
		AND (? = 0 OR (SELECT COUNT(*) FROM vod_jobs o WHERE o.pipeline = ? AND o.state = ? AND o.id <> ?) < ?)`,
		StateProgressing, PhaseProbing, stamp(d.now()), id, StateSubmitted, StateProgressing, limit, pipeline, StateProgressing, id, limit)
	return n == 1, err
}
