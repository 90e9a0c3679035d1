package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/sluice-video/sluice/internal/resource"
)

// Store keeps users, tokens, sessions and the audit log: the state store,
// on SQLite or PostgreSQL, so that every node of a cluster knows them.
// Names that are not there are resource.ErrNotFound; taken names and a
// change that would leave no admin are resource.ErrConflict.
type Store interface {
	CreateUser(ctx context.Context, u User) error
	// CreateFirstUser creates u only while there is no user at all, and
	// says whether it did.
	CreateFirstUser(ctx context.Context, u User) (bool, error)
	GetUser(ctx context.Context, name string) (User, error)
	ListUsers(ctx context.Context) ([]User, error)
	SetUserRole(ctx context.Context, name string, role Role, at time.Time) error
	// SetUserPassword replaces the hash and, with endSessions, ends the
	// user's sessions.
	SetUserPassword(ctx context.Context, name, hash string, at time.Time, endSessions bool) error
	// DeleteUser removes the user and their sessions.
	DeleteUser(ctx context.Context, name string) error

	CreateToken(ctx context.Context, t Token) error
	TokenByHash(ctx context.Context, hash string) (Token, error)
	ListTokens(ctx context.Context) ([]Token, error)
	DeleteToken(ctx context.Context, name string) error

	CreateSession(ctx context.Context, s Session) error
	// GetSession returns the session with its user's current role.
	GetSession(ctx context.Context, id string) (Session, error)
	TouchSession(ctx context.Context, id string, at time.Time) error
	DeleteSession(ctx context.Context, id string) error
	// DeleteStaleSessions removes sessions expired at now or idle since
	// before idleSince.
	DeleteStaleSessions(ctx context.Context, now, idleSince time.Time) error

	AddAudit(ctx context.Context, e AuditEntry) error
	ListAudit(ctx context.Context, q AuditQuery) ([]AuditEntry, error)
}

// Config configures the service.
type Config struct {
	Store  Store
	Logger *slog.Logger
	// Params are the costs of new password hashes (default DefaultParams).
	Params Params
	// SessionLifetime is how long a login lasts at most (default 12 h);
	// SessionIdle ends it sooner when it is not used (default 30 min).
	SessionLifetime time.Duration
	SessionIdle     time.Duration
	// Limiter is the back-off of failed logins, per client address and
	// per user name.
	Limiter LimiterConfig
	// Checks bounds the passwords checked at once, each taking
	// Params.Memory (default 2).
	Checks int
	// Now is the clock of sessions and the back-off (default time.Now).
	Now func() time.Time
	// LoginRefused counts a refused login by reason ("credentials" or
	// "backoff"): a metric. Optional.
	LoginRefused func(reason string)
}

// Service manages users, tokens, sessions and the audit log.
type Service struct {
	cfg     Config
	store   Store
	logger  *slog.Logger
	limit   *limiter
	checks  chan struct{}
	dummyMu sync.Mutex
	dummy   string
}

// New returns the service.
func New(cfg Config) *Service {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Params == (Params{}) {
		cfg.Params = DefaultParams()
	}
	if cfg.SessionLifetime <= 0 {
		cfg.SessionLifetime = 12 * time.Hour
	}
	if cfg.SessionIdle <= 0 {
		cfg.SessionIdle = 30 * time.Minute
	}
	if cfg.Checks <= 0 {
		cfg.Checks = 2
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Limiter.Now == nil {
		cfg.Limiter.Now = cfg.Now
	}
	if cfg.LoginRefused == nil {
		cfg.LoginRefused = func(string) {}
	}
	return &Service{cfg: cfg, store: cfg.Store, logger: cfg.Logger, limit: newLimiter(cfg.Limiter), checks: make(chan struct{}, cfg.Checks)}
}

// Errors of logins.
var (
	// ErrBadCredentials: no such user, or the wrong password; which of
	// the two is not said.
	ErrBadCredentials = errors.New("wrong user name or password")
)

// BackoffError refuses a login while its address or user name is closed
// after failed attempts.
type BackoffError struct{ RetryAfter time.Duration }

func (e *BackoffError) Error() string {
	return fmt.Sprintf("too many failed logins from this address or for this user: try again in %s", e.RetryAfter.Round(time.Second))
}

// SessionLifetime and SessionIdle are the bounds of a login.
func (s *Service) SessionLifetime() time.Duration { return s.cfg.SessionLifetime }

// SessionIdle is how long an unused login lasts.
func (s *Service) SessionIdle() time.Duration { return s.cfg.SessionIdle }

// AddUser creates a user with a password.
func (s *Service) AddUser(ctx context.Context, name string, role Role, password string) (User, error) {
	if err := checkName("user", name); err != nil {
		return User{}, err
	}
	if _, err := ParseRole(string(role)); err != nil {
		return User{}, err
	}
	if err := checkPassword(password); err != nil {
		return User{}, err
	}
	hash, err := s.hash(password)
	if err != nil {
		return User{}, err
	}
	now := s.cfg.Now().UTC()
	u := User{Name: name, Role: role, PasswordHash: hash, CreatedAt: now, UpdatedAt: now}
	if err := s.store.CreateUser(ctx, u); err != nil {
		return User{}, err
	}
	return u, nil
}

// Users lists the users by name.
func (s *Service) Users(ctx context.Context) ([]User, error) { return s.store.ListUsers(ctx) }

// SetRole gives a user another role; their sessions have it at once.
// Taking the role of the last admin is a conflict.
func (s *Service) SetRole(ctx context.Context, name string, role Role) (User, error) {
	if _, err := ParseRole(string(role)); err != nil {
		return User{}, err
	}
	if err := s.store.SetUserRole(ctx, name, role, s.cfg.Now().UTC()); err != nil {
		return User{}, err
	}
	return s.store.GetUser(ctx, name)
}

// SetPassword gives a user a new password and ends their sessions.
func (s *Service) SetPassword(ctx context.Context, name, password string) error {
	if err := checkPassword(password); err != nil {
		return err
	}
	if _, err := s.store.GetUser(ctx, name); err != nil {
		return err
	}
	hash, err := s.hash(password)
	if err != nil {
		return err
	}
	return s.store.SetUserPassword(ctx, name, hash, s.cfg.Now().UTC(), true)
}

// RemoveUser removes a user and ends their sessions. Removing the last
// admin is a conflict.
func (s *Service) RemoveUser(ctx context.Context, name string) error {
	return s.store.DeleteUser(ctx, name)
}

// AddToken makes a named API token with a role and returns it: the only
// time it is seen, since only its SHA-256 is kept.
func (s *Service) AddToken(ctx context.Context, name string, role Role) (string, Token, error) {
	if err := checkName("token", name); err != nil {
		return "", Token{}, err
	}
	if _, err := ParseRole(string(role)); err != nil {
		return "", Token{}, err
	}
	secret := "sluice_" + randomText(32)
	t := Token{Name: name, Role: role, Hash: digest(secret), CreatedAt: s.cfg.Now().UTC()}
	if err := s.store.CreateToken(ctx, t); err != nil {
		return "", Token{}, err
	}
	return secret, t, nil
}

// Tokens lists the named tokens, without the tokens themselves.
func (s *Service) Tokens(ctx context.Context) ([]Token, error) { return s.store.ListTokens(ctx) }

// RemoveToken revokes a named token.
func (s *Service) RemoveToken(ctx context.Context, name string) error {
	return s.store.DeleteToken(ctx, name)
}

// TokenPrincipal finds the named token bearer is; ok is false when it is
// none. Tokens are looked up by their SHA-256: high-entropy random text,
// so the digest needs no salt and the lookup reveals nothing by its time.
func (s *Service) TokenPrincipal(ctx context.Context, bearer string) (Principal, bool, error) {
	if !strings.HasPrefix(bearer, "sluice_") || len(bearer) > 128 {
		return Principal{}, false, nil
	}
	t, err := s.store.TokenByHash(ctx, digest(bearer))
	if errors.Is(err, resource.ErrNotFound) {
		return Principal{}, false, nil
	}
	if err != nil {
		return Principal{}, false, err
	}
	return Principal{Kind: KindToken, Name: t.Name, Role: t.Role}, true, nil
}

// Record adds an entry to the audit log. A failure is logged, never
// passed on: the change it describes is made already.
func (s *Service) Record(ctx context.Context, e AuditEntry) {
	if e.At.IsZero() {
		e.At = s.cfg.Now().UTC()
	}
	if err := s.store.AddAudit(context.WithoutCancel(ctx), e); err != nil {
		s.logger.Error("the audit log could not record a change", "actor", e.Actor, "method", e.Method, "route", e.Route, "status", e.Status, "error", err)
	}
}

// Audit reads the audit log, newest first.
func (s *Service) Audit(ctx context.Context, q AuditQuery) ([]AuditEntry, error) {
	return s.store.ListAudit(ctx, q)
}

// hash hashes a password with the service's costs, within the bound of
// checks at once.
func (s *Service) hash(password string) (string, error) {
	s.checks <- struct{}{}
	defer func() { <-s.checks }()
	return HashPassword(password, s.cfg.Params)
}

// digest is the hex SHA-256 of a high-entropy secret (a token, a session
// cookie): what the store keeps instead of it.
func digest(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// randomText is n random bytes as unpadded URL-safe base64.
func randomText(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand panics instead)
	return base64.RawURLEncoding.EncodeToString(b)
}
