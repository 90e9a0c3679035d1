package queue

import (
	"context"
	"log/slog"
	"strings"
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

// riverLogger is the logger River's client is handed: l, with River's
// transient leader-election errors logged as warnings. A nil l stays nil
// (River's own default).
func riverLogger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return nil
	}
	return slog.New(transientHandler{l.Handler()})
}

// transientHandler downgrades River's transient records (see
// transientRecords) to warnings and passes every record on to next.
type transientHandler struct{ next slog.Handler }

func (h transientHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.next.Enabled(ctx, level)
}

func (h transientHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level != slog.LevelError {
		return h.next.Handle(ctx, r)
	}
	words, ok := transientMessage(r.Message)
	if !ok {
		return h.next.Handle(ctx, r)
	}
	if !h.next.Enabled(ctx, slog.LevelWarn) {
		return nil
	}
	w := slog.NewRecord(r.Time, slog.LevelWarn, words, r.PC)
	r.Attrs(func(a slog.Attr) bool {
		w.AddAttrs(a)
		return true
	})
	return h.next.Handle(ctx, w)
}

func (h transientHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return transientHandler{h.next.WithAttrs(attrs)}
}

func (h transientHandler) WithGroup(name string) slog.Handler {
	return transientHandler{h.next.WithGroup(name)}
}

// transientMessage returns the words for a record River's leader elector
// logs as "leadership.Elector: <message>", when the message is a
// transient one.
func transientMessage(msg string) (string, bool) {
	service, what, ok := strings.Cut(msg, ": ")
	if !ok || !strings.HasSuffix(service, "Elector") {
		return "", false
	}
	words, ok := transientRecords[what]
	return words, ok
}
