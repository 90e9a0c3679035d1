package auth

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/sluice-video/sluice/internal/resource"
)

// cookieLen is the length of a session cookie's value: 32 random bytes
// as unpadded base64.
const cookieLen = 43

// Login checks a user's password and starts a session: the cookie value
// to give the browser (never stored: the store keeps its SHA-256) and the
// session. client is the caller's address as the back-off counts it.
//
// Each client address and each user name may fail a few times; after
// that every failure closes them for twice as long as the one before,
// and a login while closed is a *BackoffError without a password check.
// Wrong names and wrong passwords are one ErrBadCredentials, and take
// the same time.
func (s *Service) Login(ctx context.Context, name, password, client string) (string, Session, error) {
	name = BoundName(name)
	byAddr, byUser := "address "+client, "user "+name
	if wait := max(s.limit.wait(byAddr), s.limit.wait(byUser)); wait > 0 {
		s.cfg.LoginRefused("backoff")
		s.logger.Warn("login refused without checking the password: too many failed logins from this address or for this user",
			"user", name, "address", client, "retry_after", wait.Round(time.Second).String())
		return "", Session{}, &BackoffError{RetryAfter: wait}
	}
	u, err := s.check(ctx, name, password)
	if err != nil {
		if !errors.Is(err, ErrBadCredentials) {
			return "", Session{}, err
		}
		wait := max(s.limit.fail(byAddr), s.limit.fail(byUser))
		s.cfg.LoginRefused("credentials")
		s.logger.Warn("login refused: wrong user name or password", "user", name, "address", client,
			"closed_for", wait.Round(time.Second).String())
		return "", Session{}, ErrBadCredentials
	}
	s.limit.clear(byAddr)
	s.limit.clear(byUser)
	now := s.cfg.Now().UTC()
	if err := s.store.DeleteStaleSessions(ctx, now, now.Add(-s.cfg.SessionIdle)); err != nil {
		s.logger.Warn("stale sessions could not be removed", "error", err)
	}
	cookie := randomText(32)
	sess := Session{
		ID: digest(cookie), User: u.Name, Role: u.Role, CSRF: randomText(32), Address: client,
		CreatedAt: now, LastSeen: now, ExpiresAt: now.Add(s.cfg.SessionLifetime),
	}
	if err := s.store.CreateSession(ctx, sess); err != nil {
		return "", Session{}, err
	}
	s.logger.Info("logged in", "user", u.Name, "role", string(u.Role), "address", client)
	return cookie, sess, nil
}

// check finds the user and checks the password within the bound of checks
// at once; an unknown user costs a check of a dummy hash, so that the
// answer's time does not tell which names exist. A hash made with other
// costs than the service's is made again.
func (s *Service) check(ctx context.Context, name, password string) (User, error) {
	if len(password) > MaxPasswordBytes {
		return User{}, ErrBadCredentials
	}
	u, err := s.store.GetUser(ctx, name)
	known := err == nil
	if err != nil && !errors.Is(err, resource.ErrNotFound) {
		return User{}, err
	}
	hash := u.PasswordHash
	if !known {
		if hash, err = s.dummyHash(); err != nil {
			return User{}, err
		}
	}
	s.checks <- struct{}{}
	match, stale, err := VerifyPassword(hash, password, s.cfg.Params)
	<-s.checks
	if err != nil {
		s.logger.Error("a stored password hash is unreadable", "user", name, "error", err)
		return User{}, ErrBadCredentials
	}
	if !known || !match {
		return User{}, ErrBadCredentials
	}
	if stale {
		if h, err := s.hash(password); err == nil {
			if err := s.store.SetUserPassword(ctx, name, h, s.cfg.Now().UTC(), false); err != nil {
				s.logger.Warn("a password hash could not be renewed with the current costs", "user", name, "error", err)
			}
		}
	}
	return u, nil
}

// dummyHash is a hash of nothing with the service's costs, made once.
func (s *Service) dummyHash() (string, error) {
	s.dummyMu.Lock()
	defer s.dummyMu.Unlock()
	if s.dummy == "" {
		h, err := HashPassword(randomText(16), s.cfg.Params)
		if err != nil {
			return "", err
		}
		s.dummy = h
	}
	return s.dummy, nil
}

// SessionPrincipal finds the live session a cookie's value names. ok is
// false for a value that names none, or a session that expired or was
// idle too long (which is then removed). A used session is marked seen,
// at most once a minute.
func (s *Service) SessionPrincipal(ctx context.Context, cookie string) (Principal, bool, error) {
	if len(cookie) != cookieLen {
		return Principal{}, false, nil
	}
	id := digest(cookie)
	sess, err := s.store.GetSession(ctx, id)
	if errors.Is(err, resource.ErrNotFound) {
		return Principal{}, false, nil
	}
	if err != nil {
		return Principal{}, false, err
	}
	now := s.cfg.Now().UTC()
	if !now.Before(sess.ExpiresAt) || now.Sub(sess.LastSeen) >= s.cfg.SessionIdle {
		if err := s.store.DeleteSession(ctx, id); err != nil && !errors.Is(err, resource.ErrNotFound) {
			return Principal{}, false, err
		}
		return Principal{}, false, nil
	}
	if now.Sub(sess.LastSeen) >= min(time.Minute, s.cfg.SessionIdle/4) {
		if err := s.store.TouchSession(ctx, id, now); err != nil && !errors.Is(err, resource.ErrNotFound) {
			return Principal{}, false, err
		}
		sess.LastSeen = now
	}
	return Principal{Kind: KindSession, Name: sess.User, Role: sess.Role, Session: &sess}, true, nil
}

// Logout ends a session.
func (s *Service) Logout(ctx context.Context, sess *Session) error {
	if sess == nil {
		return nil
	}
	err := s.store.DeleteSession(ctx, sess.ID)
	if errors.Is(err, resource.ErrNotFound) {
		return nil
	}
	if err == nil {
		s.logger.Info("logged out", "user", sess.User)
	}
	return err
}

// IdleExpiry is when the session ends if it is not used before.
func (s *Service) IdleExpiry(sess Session) time.Time {
	return minTime(sess.LastSeen.Add(s.cfg.SessionIdle), sess.ExpiresAt)
}

// minTime is the earlier of two times.
func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// BoundName cuts a user name a caller sent to the longest a name may be,
// so that what a failed login logs and records stays small; a name that
// long names no user.
func BoundName(name string) string {
	const most = 64
	if len(name) <= most {
		return name
	}
	return strings.ToValidUTF8(name[:most], "") + "…"
}
