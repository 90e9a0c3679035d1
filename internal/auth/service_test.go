package auth_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/auth"
	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/store"
)

// clock is a settable clock, safe for the service's goroutines.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// logBuffer is a log several goroutines write.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type fixture struct {
	svc     *auth.Service
	st      *store.Store
	clock   *clock
	log     *logBuffer
	refused map[string]int
	dir     string
}

func newFixture(t *testing.T, params auth.Params) *fixture {
	t.Helper()
	dir := t.TempDir()
	st, err := store.Open(context.Background(), filepath.Join(dir, "sluice.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	f := &fixture{st: st, clock: &clock{now: time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)}, log: &logBuffer{}, refused: map[string]int{}, dir: dir}
	var mu sync.Mutex
	f.svc = auth.New(auth.Config{
		Store: st, Logger: slog.New(slog.NewTextHandler(f.log, nil)), Params: params, Now: f.clock.Now,
		SessionLifetime: 8 * time.Hour, SessionIdle: 20 * time.Minute,
		Limiter: auth.LimiterConfig{Free: 3, Base: time.Second, Max: time.Minute},
		LoginRefused: func(reason string) {
			mu.Lock()
			defer mu.Unlock()
			f.refused[reason]++
		},
	})
	return f
}

func cheap() auth.Params {
	return auth.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
}

const password = "a long enough password"

func TestLoginSessionsAndExpiry(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, cheap())
	if _, err := f.svc.AddUser(ctx, "ana", auth.RoleOperator, password); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.AddUser(ctx, "bo", auth.RoleViewer, "short"); !errors.Is(err, resource.ErrInvalid) {
		t.Errorf("a short password: %v", err)
	}
	cookie, sess, err := f.svc.Login(ctx, "ana", password, "127.0.0.1")
	if err != nil || len(cookie) != 43 || sess.Role != auth.RoleOperator || sess.CSRF == "" || sess.ID == cookie {
		t.Fatalf("login: %q %+v %v", cookie, sess, err)
	}
	p, ok, err := f.svc.SessionPrincipal(ctx, cookie)
	if err != nil || !ok || p.Name != "ana" || p.Kind != auth.KindSession || p.Role != auth.RoleOperator || p.Session.CSRF != sess.CSRF {
		t.Fatalf("session: %+v %v %v", p, ok, err)
	}
	// A second login is a new session; the first stays until it ends.
	cookie2, _, err := f.svc.Login(ctx, "ana", password, "127.0.0.1")
	if err != nil || cookie2 == cookie {
		t.Fatalf("second login: %v", err)
	}
	// Idle: used within 20 minutes it lives on, unused it ends.
	for range 3 {
		f.clock.Advance(15 * time.Minute)
		if _, ok, _ := f.svc.SessionPrincipal(ctx, cookie); !ok {
			t.Fatal("a session used every 15 minutes ended")
		}
	}
	if _, ok, _ := f.svc.SessionPrincipal(ctx, cookie2); ok {
		t.Error("a session unused for 45 minutes is still valid")
	}
	// Absolute: 8 hours after the login, however used.
	for range 30 {
		f.clock.Advance(15 * time.Minute)
		_, _, _ = f.svc.SessionPrincipal(ctx, cookie)
	}
	if _, ok, _ := f.svc.SessionPrincipal(ctx, cookie); ok {
		t.Error("a session is valid past its lifetime")
	}
	// Logout ends it; role changes apply to live sessions.
	cookie, _, _ = f.svc.Login(ctx, "ana", password, "127.0.0.1")
	if _, err := f.svc.AddUser(ctx, "root", auth.RoleAdmin, password); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.SetRole(ctx, "ana", auth.RoleViewer); err != nil {
		t.Fatal(err)
	}
	p, _, _ = f.svc.SessionPrincipal(ctx, cookie)
	if p.Role != auth.RoleViewer {
		t.Errorf("role after the change: %s", p.Role)
	}
	if err := f.svc.Logout(ctx, p.Session); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := f.svc.SessionPrincipal(ctx, cookie); ok {
		t.Error("a session is valid after its logout")
	}
	// A new password ends every session of the user.
	cookie, _, _ = f.svc.Login(ctx, "ana", password, "127.0.0.1")
	if err := f.svc.SetPassword(ctx, "ana", "another long password"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := f.svc.SessionPrincipal(ctx, cookie); ok {
		t.Error("a session is valid after a new password")
	}
	if _, _, err := f.svc.Login(ctx, "ana", password, "127.0.0.1"); !errors.Is(err, auth.ErrBadCredentials) {
		t.Errorf("the old password: %v", err)
	}
	for _, junk := range []string{"", "x", strings.Repeat("A", 43), strings.Repeat("A", 4000)} {
		if _, ok, err := f.svc.SessionPrincipal(ctx, junk); ok || err != nil {
			t.Errorf("cookie %q: %v %v", junk, ok, err)
		}
	}
	if strings.Contains(f.log.String(), password) || strings.Contains(f.log.String(), "another long password") {
		t.Errorf("the log shows a password:\n%s", f.log.String())
	}
}

func TestFailedLoginsBackOff(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, cheap())
	if _, err := f.svc.AddUser(ctx, "ana", auth.RoleAdmin, password); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, _, err := f.svc.Login(ctx, "ana", "wrong password "+string(rune('a'+i)), "192.0.2.1"); !errors.Is(err, auth.ErrBadCredentials) {
			t.Fatalf("failure %d: %v", i+1, err)
		}
	}
	if _, _, err := f.svc.Login(ctx, "nobody", "wrong", "192.0.2.1"); !errors.Is(err, auth.ErrBadCredentials) {
		t.Fatalf("an unknown user: %v", err)
	}
	// The address is closed now (4 failures, 3 free), even for the right
	// password, and even for another user.
	var backoff *auth.BackoffError
	if _, _, err := f.svc.Login(ctx, "ana", password, "192.0.2.1"); !errors.As(err, &backoff) || backoff.RetryAfter != time.Second {
		t.Fatalf("while closed: %v", err)
	}
	// The user name is not closed for other addresses yet (3 failures).
	if _, _, err := f.svc.Login(ctx, "ana", password, "192.0.2.2"); err != nil {
		t.Errorf("ana from another address: %v", err)
	}
	f.clock.Advance(time.Second)
	if _, _, err := f.svc.Login(ctx, "ana", password, "192.0.2.1"); err != nil {
		t.Errorf("after the back-off: %v", err)
	}
	// Guessing one user's password from many addresses closes the user.
	for i := range 4 {
		_, _, _ = f.svc.Login(ctx, "ana", "wrong", "198.51.100."+string(rune('1'+i)))
	}
	if _, _, err := f.svc.Login(ctx, "ana", password, "203.0.113.9"); !errors.As(err, &backoff) {
		t.Errorf("ana after 4 failures from 4 addresses: %v, want the back-off", err)
	}
	long := strings.Repeat("n", 100000)
	if _, _, err := f.svc.Login(ctx, long, "x", "192.0.2.200"); !errors.Is(err, auth.ErrBadCredentials) {
		t.Errorf("a name of 100 000 bytes: %v", err)
	}
	if strings.Contains(f.log.String(), long[:100]) {
		t.Error("the log holds a whole overlong name")
	}
	if f.refused["credentials"] != 9 || f.refused["backoff"] != 2 {
		t.Errorf("refusals counted: %v", f.refused)
	}
	log := f.log.String()
	if !strings.Contains(log, "login refused: wrong user name or password") || !strings.Contains(log, "user=nobody") || !strings.Contains(log, "address=192.0.2.1") {
		t.Errorf("the log does not say which login failed from where:\n%s", log)
	}
	if strings.Contains(log, password) || strings.Contains(log, "wrong password") {
		t.Errorf("the log shows a password:\n%s", log)
	}
}

func TestHashesAreRenewedWithNewCosts(t *testing.T) {
	ctx := context.Background()
	old := newFixture(t, cheap())
	if _, err := old.svc.AddUser(ctx, "ana", auth.RoleAdmin, password); err != nil {
		t.Fatal(err)
	}
	raised := cheap()
	raised.Time = 2
	svc := auth.New(auth.Config{Store: old.st, Params: raised})
	if _, _, err := svc.Login(ctx, "ana", password, "127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	u, _ := old.st.GetUser(ctx, "ana")
	if !strings.Contains(u.PasswordHash, "m=64,t=2,p=1") {
		t.Errorf("the hash after a login with raised costs: %s", u.PasswordHash)
	}
	if _, _, err := svc.Login(ctx, "ana", password, "127.0.0.1"); err != nil {
		t.Errorf("login with the renewed hash: %v", err)
	}
}

func TestTokens(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, cheap())
	secret, tok, err := f.svc.AddToken(ctx, "ci", auth.RoleOperator)
	if err != nil || !strings.HasPrefix(secret, "sluice_") || tok.Hash == "" || strings.Contains(tok.Hash, secret) {
		t.Fatalf("%q %+v %v", secret, tok, err)
	}
	p, ok, err := f.svc.TokenPrincipal(ctx, secret)
	if err != nil || !ok || p.Name != "ci" || p.Role != auth.RoleOperator || p.Kind != auth.KindToken {
		t.Errorf("principal: %+v %v %v", p, ok, err)
	}
	for _, wrong := range []string{secret + "x", "sluice_", "other", ""} {
		if _, ok, _ := f.svc.TokenPrincipal(ctx, wrong); ok {
			t.Errorf("%q is a token", wrong)
		}
	}
	if err := f.svc.RemoveToken(ctx, "ci"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := f.svc.TokenPrincipal(ctx, secret); ok {
		t.Error("a removed token still works")
	}
}

func TestFirstAdmin(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, cheap())
	if err := f.svc.EnsureFirstAdmin(ctx, f.dir); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(f.dir, auth.FirstAdminFile)
	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("the password file: %v %v", info, err)
	}
	b, _ := os.ReadFile(path)
	generated := strings.TrimSpace(string(b))
	if len(generated) < 20 {
		t.Fatalf("generated password %q", generated)
	}
	if _, _, err := f.svc.Login(ctx, "admin", generated, "127.0.0.1"); err != nil {
		t.Fatalf("login with the generated password: %v", err)
	}
	log := f.log.String()
	if !strings.Contains(log, path) || strings.Contains(log, generated) {
		t.Errorf("the log must name the file and never the password:\n%s", log)
	}
	// Another start keeps the user and the file while the password is
	// the generated one, and removes the file once it is not.
	if err := f.svc.EnsureFirstAdmin(ctx, f.dir); err != nil {
		t.Fatal(err)
	}
	if users, _ := f.svc.Users(ctx); len(users) != 1 {
		t.Errorf("users after a second start: %+v", users)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("the file went while the password is still the generated one: %v", err)
	}
	if err := f.svc.SetPassword(ctx, "admin", password); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.EnsureFirstAdmin(ctx, f.dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the file of a changed password is still there: %v", err)
	}
	if strings.Contains(f.log.String(), generated) || strings.Contains(f.log.String(), password) {
		t.Errorf("the log shows a password:\n%s", f.log.String())
	}
}
