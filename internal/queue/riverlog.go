package queue

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/sluice-video/sluice/internal/dbfault"
)

// transientRecords are River's error records that say the queue's leader
// election failed once and will be tried again: while the database is
// unreachable for a moment (the process paused, the disk full, a
// PostgreSQL restart) each failed round logs one, and the elector goes on
// by itself when the database answers again; a leadership that could not
// be given up at a stop lapses after its time to live. They are logged as warnings
// in words; the error that caused them stays in the record.
var transientRecords = map[string]string{
	"Error attempting reelection": "the job queue could not renew its leadership in the database; trying again",
	"Error attempting to elect":   "the job queue could not hold its leader election in the database; trying again",
	"Error keeping leadership":    "the job queue gave up its leadership after repeated database errors; electing a leader again",
	"Error attempting to resign":  "the job queue could not give up its leadership in the database; it lapses by itself",
}

// unreachableWords is the warning for any other River error record whose
// cause is a database that cannot be reached at the moment: River's
// producer, notifier and maintenance services each retry by themselves,
// and during a restart of the database each logs one record a second.
const unreachableWords = "the job queue could not reach its database; it tries again by itself"

// fatalRecords stay errors whatever their cause: a job that failed or
// panicked, and River giving up.
var fatalRecords = []string{"Job errored", "Job panicked", "panic recovery", "ErrorHandler invocation panicked", "Too many errors"}

// quietFor is how long the same downgraded record is not repeated: the
// first is logged at once, the next one after this long with the number
// left out in between.
const quietFor = 30 * time.Second

// riverLogger is the logger River's client is handed: l, with River's
// transient errors (a leader election that failed once, a database that
// cannot be reached for a moment) logged as warnings in words, each at
// most once per quietFor. A nil l stays nil (River's own default).
func riverLogger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return nil
	}
	return slog.New(transientHandler{next: l.Handler(), seen: &repeats{last: map[string]repeat{}}})
}

// transientHandler downgrades River's transient records (see
// transientRecords and dbfault.UnreachableMessage) to warnings, holds back their
// repetitions, and passes every other record on to next.
type transientHandler struct {
	next slog.Handler
	seen *repeats
}

func (h transientHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, level)
}

func (h transientHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level != slog.LevelError {
		return h.next.Handle(ctx, r)
	}
	words, ok := transientMessage(r)
	if !ok {
		return h.next.Handle(ctx, r)
	}
	if !h.next.Enabled(ctx, slog.LevelWarn) {
		return nil
	}
	left, ok := h.seen.admit(r.Message, r.Time)
	if !ok {
		return nil
	}
	w := slog.NewRecord(r.Time, slog.LevelWarn, words, r.PC)
	if words == unreachableWords {
		w.AddAttrs(slog.String("river", r.Message))
	}
	r.Attrs(func(a slog.Attr) bool {
		w.AddAttrs(a)
		return true
	})
	if left > 0 {
		w.AddAttrs(slog.Int("repeated", left))
	}
	return h.next.Handle(ctx, w)
}

func (h transientHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return transientHandler{next: h.next.WithAttrs(attrs), seen: h.seen}
}

func (h transientHandler) WithGroup(name string) slog.Handler {
	return transientHandler{next: h.next.WithGroup(name), seen: h.seen}
}

// transientMessage returns the words for a River error record that is a
// transient one: the leader elector's (logged as "leadership.Elector:
// <message>"), or any other service's whose cause is a database out of
// reach.
func transientMessage(r slog.Record) (string, bool) {
	service, what, ok := strings.Cut(r.Message, ": ")
	if !ok {
		return "", false
	}
	if strings.HasSuffix(service, "Elector") {
		words, ok := transientRecords[what]
		return words, ok
	}
	for _, f := range fatalRecords {
		if strings.HasPrefix(what, f) {
			return "", false
		}
	}
	unreachable := false
	r.Attrs(func(a slog.Attr) bool {
		if a.Key != "err" {
			return true
		}
		unreachable = dbfault.UnreachableMessage(a.Value.String())
		return false
	})
	if !unreachable {
		return "", false
	}
	return unreachableWords, true
}

// repeats remembers when each downgraded record was last logged, shared
// by a logger and every logger derived from it.
type repeats struct {
	mu   sync.Mutex
	last map[string]repeat
}

// repeat is one record's last logging and the repetitions held back since.
type repeat struct {
	at   time.Time
	held int
}

// admit says whether the record msg at t is logged, and how many of it were
// held back since it last was.
func (s *repeats) admit(msg string, t time.Time) (held int, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, seen := s.last[msg]
	if seen && t.Sub(p.at) < quietFor {
		p.held++
		s.last[msg] = p
		return 0, false
	}
	s.last[msg] = repeat{at: t}
	return p.held, true
}
