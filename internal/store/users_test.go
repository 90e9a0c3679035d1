package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/auth"
	"github.com/sluice-video/sluice/internal/resource"
)

// t0() is when the cases of users, sessions and the audit log happen.
func t0() time.Time { return time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC) }

func user(name string, role auth.Role) auth.User {
	return auth.User{Name: name, Role: role, PasswordHash: "$argon2id$hash-of-" + name, CreatedAt: t0(), UpdatedAt: t0()}
}

func testUsers(t *testing.T, e env) {
	ctx := context.Background()
	s := e.open()
	if err := s.CreateUser(ctx, user("ana", auth.RoleAdmin)); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateUser(ctx, user("ana", auth.RoleViewer)); !errors.Is(err, resource.ErrConflict) {
		t.Errorf("a taken name: %v, want a conflict", err)
	}
	if err := s.CreateUser(ctx, user("bo", auth.RoleViewer)); err != nil {
		t.Fatal(err)
	}
	if err := s.SetUserRole(ctx, "bo", auth.RoleOperator, t0().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if u, err := s.GetUser(ctx, "bo"); err != nil || u.Role != auth.RoleOperator || !u.UpdatedAt.Equal(t0().Add(time.Minute)) || u.PasswordHash != "$argon2id$hash-of-bo" {
		t.Errorf("bo after the change of role: %+v %v", u, err)
	}
	// The last admin can be neither demoted nor removed.
	if err := s.SetUserRole(ctx, "ana", auth.RoleViewer, t0()); !errors.Is(err, resource.ErrConflict) {
		t.Errorf("demoting the last admin: %v, want a conflict", err)
	}
	if err := s.DeleteUser(ctx, "ana"); !errors.Is(err, resource.ErrConflict) {
		t.Errorf("removing the last admin: %v, want a conflict", err)
	}
	if u, _ := s.GetUser(ctx, "ana"); u.Role != auth.RoleAdmin {
		t.Errorf("a refused change changed the admin: %+v", u)
	}
	if err := s.SetUserRole(ctx, "bo", auth.RoleAdmin, t0()); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUser(ctx, "ana"); err != nil {
		t.Errorf("removing an admin while another is left: %v", err)
	}
	if err := s.SetUserPassword(ctx, "bo", "$argon2id$new", t0(), false); err != nil {
		t.Fatal(err)
	}
	for what, err := range map[string]error{
		"role":     s.SetUserRole(ctx, "nobody", auth.RoleViewer, t0()),
		"password": s.SetUserPassword(ctx, "nobody", "x", t0(), true),
		"remove":   s.DeleteUser(ctx, "nobody"),
	} {
		if !errors.Is(err, resource.ErrNotFound) {
			t.Errorf("%s of an unknown user: %v, want not found", what, err)
		}
	}
	if _, err := s.GetUser(ctx, "nobody"); !errors.Is(err, resource.ErrNotFound) {
		t.Errorf("an unknown user: %v", err)
	}
	users, err := s.ListUsers(ctx)
	if err != nil || len(users) != 1 || users[0].Name != "bo" || users[0].PasswordHash != "$argon2id$new" {
		t.Errorf("users: %+v %v", users, err)
	}
	// Two admins demoting each other at once: one of them stays.
	if err := s.CreateUser(ctx, user("cy", auth.RoleAdmin)); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for _, n := range []string{"bo", "cy"} {
		wg.Go(func() { _ = s.SetUserRole(ctx, n, auth.RoleViewer, t0()) })
	}
	wg.Wait()
	admins := 0
	users, _ = s.ListUsers(ctx)
	for _, u := range users {
		if u.Role == auth.RoleAdmin {
			admins++
		}
	}
	if admins != 1 {
		t.Errorf("after two admins demoted each other at once: %+v, want one admin left", users)
	}
}

func testFirstUser(t *testing.T, e env) {
	ctx := context.Background()
	stores := []*Store{e.open(), e.open(), e.open()}
	var wg sync.WaitGroup
	made := make([]bool, len(stores))
	errs := make([]error, len(stores))
	for i, s := range stores {
		wg.Go(func() { made[i], errs[i] = s.CreateFirstUser(ctx, user(fmt.Sprint("admin-", i), auth.RoleAdmin)) })
	}
	wg.Wait()
	n := 0
	for i := range stores {
		if errs[i] != nil {
			t.Errorf("node %d: %v", i, errs[i])
		}
		if made[i] {
			n++
		}
	}
	users, err := stores[0].ListUsers(ctx)
	if n != 1 || err != nil || len(users) != 1 {
		t.Errorf("%d nodes made the first user; users %+v %v", n, users, err)
	}
	if made, err := stores[0].CreateFirstUser(ctx, user("late", auth.RoleAdmin)); made || err != nil {
		t.Errorf("a first user once there is one: %v %v", made, err)
	}
}

func testTokens(t *testing.T, e env) {
	ctx := context.Background()
	s := e.open()
	tok := auth.Token{Name: "ci", Role: auth.RoleOperator, Hash: "d1", CreatedAt: t0()}
	if err := s.CreateToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateToken(ctx, auth.Token{Name: "ci", Role: auth.RoleViewer, Hash: "d2", CreatedAt: t0()}); !errors.Is(err, resource.ErrConflict) {
		t.Errorf("a taken token name: %v", err)
	}
	if got, err := s.TokenByHash(ctx, "d1"); err != nil || got != tok {
		t.Errorf("by digest: %+v %v", got, err)
	}
	if _, err := s.TokenByHash(ctx, "d9"); !errors.Is(err, resource.ErrNotFound) {
		t.Errorf("an unknown digest: %v", err)
	}
	if list, err := s.ListTokens(ctx); err != nil || len(list) != 1 {
		t.Errorf("tokens: %+v %v", list, err)
	}
	if err := s.DeleteToken(ctx, "ci"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteToken(ctx, "ci"); !errors.Is(err, resource.ErrNotFound) {
		t.Errorf("removing a removed token: %v", err)
	}
}

func testSessions(t *testing.T, e env) {
	ctx := context.Background()
	s := e.open()
	for _, u := range []auth.User{user("ana", auth.RoleAdmin), user("bo", auth.RoleViewer)} {
		if err := s.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	sess := func(id, who string, seen, expires time.Time) auth.Session {
		return auth.Session{ID: id, User: who, CSRF: "csrf-" + id, Address: "127.0.0.1", CreatedAt: t0(), LastSeen: seen, ExpiresAt: expires}
	}
	for _, x := range []auth.Session{
		sess("s1", "bo", t0(), t0().Add(12*time.Hour)),
		sess("s2", "bo", t0().Add(time.Second), t0().Add(12*time.Hour)),
		sess("old", "ana", t0().Add(-time.Hour), t0().Add(12*time.Hour)),
		sess("expired", "ana", t0(), t0().Add(time.Minute)),
	} {
		if err := s.CreateSession(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.GetSession(ctx, "s1")
	if err != nil || got.User != "bo" || got.Role != auth.RoleViewer || got.CSRF != "csrf-s1" || !got.ExpiresAt.Equal(t0().Add(12*time.Hour)) {
		t.Fatalf("session: %+v %v", got, err)
	}
	// The role is the user's as it is now.
	if err := s.SetUserRole(ctx, "bo", auth.RoleOperator, t0()); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetSession(ctx, "s1"); got.Role != auth.RoleOperator {
		t.Errorf("the session's role after the user's changed: %s", got.Role)
	}
	if err := s.TouchSession(ctx, "s1", t0().Add(10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetSession(ctx, "s1"); !got.LastSeen.Equal(t0().Add(10 * time.Minute)) {
		t.Errorf("last seen after a touch: %s", got.LastSeen)
	}
	// Stale: expired by now (t0()+2 min), or unused since before t0()-30 min.
	if err := s.DeleteStaleSessions(ctx, t0().Add(2*time.Minute), t0().Add(-30*time.Minute)); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]bool{"s1": true, "s2": true, "old": false, "expired": false} {
		if _, err := s.GetSession(ctx, id); (err == nil) != want {
			t.Errorf("session %s after removing the stale: %v, want kept %v", id, err, want)
		}
	}
	// A new password ends the user's sessions; so does removing the user.
	if err := s.SetUserPassword(ctx, "bo", "$argon2id$x", t0(), true); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetSession(ctx, "s2"); !errors.Is(err, resource.ErrNotFound) {
		t.Errorf("a session after its user's new password: %v", err)
	}
	if err := s.CreateSession(ctx, sess("s3", "bo", t0(), t0().Add(time.Hour))); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUser(ctx, "bo"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetSession(ctx, "s3"); !errors.Is(err, resource.ErrNotFound) {
		t.Errorf("a session of a removed user: %v", err)
	}
	if err := s.DeleteSession(ctx, "s3"); !errors.Is(err, resource.ErrNotFound) {
		t.Errorf("ending an ended session: %v", err)
	}
}

func testAudit(t *testing.T, e env) {
	ctx := context.Background()
	s := e.open()
	for i := range 12 {
		actor := []string{"ana", "bo", "ci"}[i%3]
		kind := []string{"channel", "input"}[i%2]
		if err := s.AddAudit(ctx, auth.AuditEntry{
			At: t0().Add(time.Duration(i) * time.Minute), Actor: actor, ActorKind: auth.KindSession, Method: "POST",
			Route: "/api/v1/" + kind + "s", Kind: kind, Name: fmt.Sprint("n", i), Status: 201, Address: "127.0.0.1",
		}); err != nil {
			t.Fatal(err)
		}
	}
	all, err := s.ListAudit(ctx, auth.AuditQuery{Limit: 100})
	if err != nil || len(all) != 12 || all[0].Name != "n11" || all[11].Name != "n0" || !all[0].At.Equal(t0().Add(11*time.Minute)) {
		t.Fatalf("all, newest first: %+v %v", all, err)
	}
	page, _ := s.ListAudit(ctx, auth.AuditQuery{Limit: 5})
	next, _ := s.ListAudit(ctx, auth.AuditQuery{Limit: 5, Before: page[4].Seq})
	if len(page) != 5 || len(next) != 5 || next[0].Name != "n6" {
		t.Errorf("pages: %+v then %+v", page, next)
	}
	byActor, _ := s.ListAudit(ctx, auth.AuditQuery{Actor: "bo", Kind: "input"})
	if len(byActor) != 2 || byActor[0].Name != "n7" || byActor[1].Name != "n1" {
		t.Errorf("bo's inputs: %+v", byActor)
	}
	window, _ := s.ListAudit(ctx, auth.AuditQuery{Since: t0().Add(2 * time.Minute), Until: t0().Add(5 * time.Minute)})
	if len(window) != 3 || window[0].Name != "n4" || window[2].Name != "n2" {
		t.Errorf("from minute 2 to before minute 5: %+v", window)
	}
}
