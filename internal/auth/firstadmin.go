package auth

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/sluice-video/sluice/internal/filemode"
	"github.com/sluice-video/sluice/internal/resource"
)

// FirstAdminName is the user a server makes when it finds none.
const FirstAdminName = "admin"

// FirstAdminFile is the file of the data directory that holds the first
// admin's generated password.
const FirstAdminFile = "admin-password"

// EnsureFirstAdmin gives a server with no user at all its first admin, so
// that someone can log in to the console: user "admin" with a random
// password written to <dir>/admin-password, mode 0600, and never to the
// log, which says only where it is. Of several nodes starting at once on
// one database, one makes the user and keeps the file.
//
// On later starts, a file whose password no longer opens the account (it
// was changed) is removed; one that still does is named in a warning.
func (s *Service) EnsureFirstAdmin(ctx context.Context, dir string) error {
	path := filepath.Join(dir, FirstAdminFile)
	users, err := s.store.ListUsers(ctx)
	if err != nil {
		return fmt.Errorf("looking for users: %w", err)
	}
	if len(users) > 0 {
		return s.checkFirstAdminFile(ctx, path)
	}
	password := randomText(18)
	// The file first: a user whose password is nowhere could not log in.
	if err := os.WriteFile(path, []byte(password+"\n"), 0o600); err != nil {
		return fmt.Errorf("writing the first admin's password: %w", err)
	}
	if err := filemode.Tighten(path); err != nil {
		return err
	}
	hash, err := s.hash(password)
	if err != nil {
		return err
	}
	now := s.cfg.Now().UTC()
	created, err := s.store.CreateFirstUser(ctx, User{Name: FirstAdminName, Role: RoleAdmin, PasswordHash: hash, CreatedAt: now, UpdatedAt: now})
	if err != nil || !created {
		_ = os.Remove(path)
		if err != nil {
			return fmt.Errorf("creating the first admin: %w", err)
		}
		return nil
	}
	s.Record(ctx, AuditEntry{Actor: "server", ActorKind: KindLocal, Method: "CREATE", Route: "first start", Kind: "user", Name: FirstAdminName, Status: 201, Address: "local"})
	s.logger.Warn("there was no user: created user " + FirstAdminName + " (role admin) with a generated password, written to " + path +
		" (readable by this user only). Log in with it, then set another with 'sluice user set-password " + FirstAdminName + "'; this file is removed at the next start once the password has changed")
	return nil
}

// checkFirstAdminFile removes the generated password's file once it no
// longer opens the admin account, and warns while it still does.
func (s *Service) checkFirstAdminFile(ctx context.Context, path string) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	if err := filemode.Tighten(path); err != nil {
		return err
	}
	u, err := s.store.GetUser(ctx, FirstAdminName)
	if err != nil && !errors.Is(err, resource.ErrNotFound) {
		return err
	}
	current := false
	if err == nil {
		match, _, verr := VerifyPassword(u.PasswordHash, strings.TrimSpace(string(b)), s.cfg.Params)
		current = verr == nil && match
	}
	if !current {
		if err := os.Remove(path); err != nil {
			return err
		}
		s.logger.Info("removed " + path + ": the first admin's generated password is no longer in use")
		return nil
	}
	s.logger.Warn("user " + FirstAdminName + " still has the generated password kept in " + path + ": set another with 'sluice user set-password " + FirstAdminName + "'")
	return nil
}
