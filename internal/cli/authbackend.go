package cli

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/user"
	"path/filepath"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/sluice-video/sluice/internal/auth"
	"github.com/sluice-video/sluice/internal/store"
)

// authBackend is where the user, token and audit commands act: the state
// store itself (--data or --database: also before any server runs, so the
// first admin can be made, and on a server with no admin left), or a
// server's API (--server, with an admin's token).
type authBackend interface {
	addUser(ctx context.Context, name string, role auth.Role, password string) (auth.User, error)
	users(ctx context.Context) ([]auth.User, error)
	setRole(ctx context.Context, name string, role auth.Role) (auth.User, error)
	setPassword(ctx context.Context, name, password string) error
	removeUser(ctx context.Context, name string) error
	addToken(ctx context.Context, name string, role auth.Role) (string, auth.Token, error)
	tokens(ctx context.Context) ([]auth.Token, error)
	removeToken(ctx context.Context, name string) error
	audit(ctx context.Context, q auth.AuditQuery) ([]auth.AuditEntry, int64, error)
	close()
}

// storeFlags choose the state store for the commands that may work on it
// directly.
type storeFlags struct {
	data, database string
}

func (f *storeFlags) add(cmd *cobra.Command) {
	pf := cmd.PersistentFlags()
	pf.StringVar(&f.data, "data", "", "work on the state store of this data directory (its sluice.db) instead of a server's API")
	pf.StringVar(&f.database, "database", "", "work on this PostgreSQL state database (postgres://…) instead of a server's API")
	pf.Lookup("database").DefValue = "" // --help must not print a password
}

// backend opens the store when --data or --database is given, else the
// API of --server.
func (f *storeFlags) backend(ctx context.Context, g *globals, command string) (authBackend, error) {
	if f.data == "" && f.database == "" {
		c, err := g.client()
		if err != nil {
			return nil, err
		}
		return apiAuth{c: c}, nil
	}
	dsn := f.database
	switch {
	case dsn != "" && !store.IsPostgres(dsn):
		return nil, fmt.Errorf("--database takes a postgres:// URL; for SQLite give the data directory with --data")
	case dsn == "":
		if err := os.MkdirAll(f.data, 0o700); err != nil {
			return nil, fmt.Errorf("creating the data directory: %w", err)
		}
		dsn = filepath.Join(f.data, "sluice.db")
	}
	st, err := store.Open(ctx, dsn)
	if err != nil {
		return nil, err
	}
	actor := "cli"
	if u, err := user.Current(); err == nil && u.Username != "" {
		actor = "cli:" + u.Username
	}
	return &directAuth{svc: auth.New(auth.Config{Store: st}), st: st, actor: actor, command: command}, nil
}

// directAuth works on the store, and records its changes in the audit log
// as the command line's, by the system user who ran it.
type directAuth struct {
	svc     *auth.Service
	st      *store.Store
	actor   string
	command string
}

func (d *directAuth) record(ctx context.Context, kind, name string, err error) {
	status := 200
	if err != nil {
		status = 400
	}
	d.svc.Record(ctx, auth.AuditEntry{Actor: d.actor, ActorKind: auth.KindCLI, Method: "CLI", Route: d.command, Kind: kind, Name: name, Status: status, Address: "local"})
}

func (d *directAuth) addUser(ctx context.Context, name string, role auth.Role, password string) (auth.User, error) {
	u, err := d.svc.AddUser(ctx, name, role, password)
	d.record(ctx, "users", name, err)
	return u, err
}

func (d *directAuth) users(ctx context.Context) ([]auth.User, error) { return d.svc.Users(ctx) }

func (d *directAuth) setRole(ctx context.Context, name string, role auth.Role) (auth.User, error) {
	u, err := d.svc.SetRole(ctx, name, role)
	d.record(ctx, "users", name, err)
	return u, err
}

func (d *directAuth) setPassword(ctx context.Context, name, password string) error {
	err := d.svc.SetPassword(ctx, name, password)
	d.record(ctx, "users", name, err)
	return err
}

func (d *directAuth) removeUser(ctx context.Context, name string) error {
	err := d.svc.RemoveUser(ctx, name)
	d.record(ctx, "users", name, err)
	return err
}

func (d *directAuth) addToken(ctx context.Context, name string, role auth.Role) (string, auth.Token, error) {
	s, t, err := d.svc.AddToken(ctx, name, role)
	d.record(ctx, "tokens", name, err)
	return s, t, err
}

func (d *directAuth) tokens(ctx context.Context) ([]auth.Token, error) { return d.svc.Tokens(ctx) }

func (d *directAuth) removeToken(ctx context.Context, name string) error {
	err := d.svc.RemoveToken(ctx, name)
	d.record(ctx, "tokens", name, err)
	return err
}

func (d *directAuth) audit(ctx context.Context, q auth.AuditQuery) ([]auth.AuditEntry, int64, error) {
	entries, err := d.svc.Audit(ctx, q)
	var next int64
	if err == nil && len(entries) == q.Limit {
		next = entries[len(entries)-1].Seq
	}
	return entries, next, err
}

func (d *directAuth) close() { _ = d.st.Close() }

// apiAuth works through a server's API.
type apiAuth struct{ c *client }

func (a apiAuth) addUser(ctx context.Context, name string, role auth.Role, password string) (auth.User, error) {
	var u auth.User
	err := a.c.do(ctx, "POST", "/api/v1/users", map[string]string{"name": name, "role": string(role), "password": password}, &u)
	return u, err
}

func (a apiAuth) users(ctx context.Context) ([]auth.User, error) {
	var out []auth.User
	return out, a.c.do(ctx, "GET", "/api/v1/users", nil, &out)
}

func (a apiAuth) setRole(ctx context.Context, name string, role auth.Role) (auth.User, error) {
	var u auth.User
	return u, a.c.do(ctx, "PUT", "/api/v1/users/"+url.PathEscape(name)+"/role", map[string]string{"role": string(role)}, &u)
}

func (a apiAuth) setPassword(ctx context.Context, name, password string) error {
	return a.c.do(ctx, "PUT", "/api/v1/users/"+url.PathEscape(name)+"/password", map[string]string{"password": password}, nil)
}

func (a apiAuth) removeUser(ctx context.Context, name string) error {
	return a.c.do(ctx, "DELETE", "/api/v1/users/"+url.PathEscape(name), nil, nil)
}

func (a apiAuth) addToken(ctx context.Context, name string, role auth.Role) (string, auth.Token, error) {
	var t struct {
		auth.Token
		Secret string `json:"token"`
	}
	err := a.c.do(ctx, "POST", "/api/v1/tokens", map[string]string{"name": name, "role": string(role)}, &t)
	return t.Secret, t.Token, err
}

func (a apiAuth) tokens(ctx context.Context) ([]auth.Token, error) {
	var out []auth.Token
	return out, a.c.do(ctx, "GET", "/api/v1/tokens", nil, &out)
}

func (a apiAuth) removeToken(ctx context.Context, name string) error {
	return a.c.do(ctx, "DELETE", "/api/v1/tokens/"+url.PathEscape(name), nil, nil)
}

func (a apiAuth) audit(ctx context.Context, q auth.AuditQuery) ([]auth.AuditEntry, int64, error) {
	v := url.Values{}
	for k, s := range map[string]string{"actor": q.Actor, "kind": q.Kind} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if !q.Since.IsZero() {
		v.Set("since", q.Since.UTC().Format("2006-01-02T15:04:05Z07:00"))
	}
	if !q.Until.IsZero() {
		v.Set("until", q.Until.UTC().Format("2006-01-02T15:04:05Z07:00"))
	}
	if q.Before > 0 {
		v.Set("before", strconv.FormatInt(q.Before, 10))
	}
	v.Set("limit", strconv.Itoa(q.Limit))
	var page struct {
		Entries []auth.AuditEntry `json:"entries"`
		Next    int64             `json:"next"`
	}
	err := a.c.do(ctx, "GET", "/api/v1/audit?"+v.Encode(), nil, &page)
	return page.Entries, page.Next, err
}

func (apiAuth) close() {}
