package alarm

import (
	"context"
	"fmt"
	"time"

	"github.com/sluice-video/sluice/internal/resource"
)

// Silence silences an alarm (by id or name) until s.Until, replacing a
// silence it has: its actions, and the rules' on its state changes, do
// not run until then. It is recorded in the alarm's history and published
// as alarm.silenced.
func (e *Evaluator) Silence(ctx context.Context, ref string, s resource.AlarmSilence) (resource.Alarm, error) {
	if !s.Until.After(s.At) {
		var errs resource.FieldErrors
		errs.Add("until", "a silence ends after it starts")
		return resource.Alarm{}, errs
	}
	reason := fmt.Sprintf("silenced until %s by %s", s.Until.UTC().Format(time.RFC3339), s.By)
	return e.note(ctx, ref, func(a *resource.Alarm) (resource.AlarmChange, error) {
		a.Silence = &s
		return resource.AlarmChange{At: s.At, Type: resource.AlarmSilenced, By: s.By, Comment: s.Comment, Until: s.Until, Reason: withComment(reason, s.Comment)}, nil
	})
}

// Unsilence ends an alarm's silence now, by hand; an alarm that is not
// silenced is a conflict. An alarm in ALARM that went there while
// silenced, not acknowledged, runs its alarm actions at the next
// evaluation.
func (e *Evaluator) Unsilence(ctx context.Context, ref, by, comment string) (resource.Alarm, error) {
	now := e.cfg.Now()
	return e.note(ctx, ref, func(a *resource.Alarm) (resource.AlarmChange, error) {
		if !a.Silence.Active(now) {
			return resource.AlarmChange{}, resource.Conflict("alarm %s is not silenced", a.Name)
		}
		a.Silence = nil
		return resource.AlarmChange{At: now, Type: resource.AlarmUnsilenced, By: by, Comment: comment, Reason: withComment("silence ended by "+by, comment)}, nil
	})
}

// Acknowledge acknowledges an alarm in ALARM, replacing an earlier
// acknowledgement: it does not notify again (no renotification, no
// reminder when a silence ends) until it leaves ALARM, when the
// acknowledgement ends. An alarm in another state is a conflict.
func (e *Evaluator) Acknowledge(ctx context.Context, ref string, ack resource.AlarmAcknowledgement) (resource.Alarm, error) {
	return e.note(ctx, ref, func(a *resource.Alarm) (resource.AlarmChange, error) {
		if a.State != resource.AlarmAlarm {
			return resource.AlarmChange{}, resource.Conflict("alarm %s is %s: only an alarm in ALARM can be acknowledged", a.Name, a.State)
		}
		a.Acknowledgement = &ack
		return resource.AlarmChange{At: ack.At, Type: resource.AlarmAcknowledged, By: ack.By, Comment: ack.Comment, Reason: withComment("acknowledged by "+ack.By, ack.Comment)}, nil
	})
}

// note makes a change to an alarm that an operator asked for: change
// edits a copy of the alarm and says the history entry, which is saved
// before the alarm in memory takes the change and the event is published.
// It runs between evaluations, so that the store sees the changes in
// their order.
func (e *Evaluator) note(ctx context.Context, ref string, change func(a *resource.Alarm) (resource.AlarmChange, error)) (resource.Alarm, error) {
	e.evalMu.Lock()
	defer e.evalMu.Unlock()
	e.mu.Lock()
	en := e.find(ref)
	if en == nil {
		e.mu.Unlock()
		return resource.Alarm{}, resource.NotFound("alarm", ref)
	}
	a := en.alarm
	e.mu.Unlock()
	ch, err := change(&a)
	if err != nil {
		return resource.Alarm{}, err
	}
	ch.From, ch.To = a.State, a.State
	if e.cfg.Store != nil {
		if err := e.cfg.Store.SaveAlarmChange(ctx, a, ch); err != nil {
			return resource.Alarm{}, fmt.Errorf("saving alarm %s: %w", a.Name, err)
		}
	}
	e.mu.Lock()
	// The entry may have been replaced (its spec changed) meanwhile; the
	// replacement has the old silence and acknowledgement, now these.
	if cur := e.alarms[a.ID]; cur != nil {
		cur.alarm.Silence, cur.alarm.Acknowledgement = a.Silence, a.Acknowledgement
		e.record(cur, ch)
		a = cur.alarm
	}
	e.mu.Unlock()
	e.logger.Info("alarm "+noteWord(ch.Type), "alarm", a.Name, "by", ch.By, "comment", ch.Comment)
	e.publish(noteEvent(a, ch))
	return view(a, e.cfg.Now()), nil
}

// noteWord says in a word what a change of an alarm's silence or
// acknowledgement did.
func noteWord(change string) string {
	switch change {
	case resource.AlarmSilenced:
		return "silenced"
	case resource.AlarmUnsilenced:
		return "unsilenced"
	case resource.AlarmAcknowledged:
		return "acknowledged"
	}
	return "changed"
}

// noteEventType is the type of the event of a change of an alarm's
// silence or acknowledgement.
func noteEventType(change string) string {
	switch change {
	case resource.AlarmSilenced:
		return resource.EventAlarmSilenced
	case resource.AlarmUnsilenced:
		return resource.EventAlarmUnsilenced
	case resource.AlarmAcknowledged:
		return resource.EventAlarmAcknowledged
	}
	return ""
}

// noteEvent is the event of a silence, its end, or an acknowledgement:
// the alarm's details with state, by, comment and, for a silence, until.
func noteEvent(a resource.Alarm, ch resource.AlarmChange) resource.Event {
	detail := details(a)
	detail["state"] = string(a.State)
	detail["by"] = ch.By
	if ch.Comment != "" {
		detail["comment"] = ch.Comment
	}
	if !ch.Until.IsZero() {
		detail["until"] = ch.Until.UTC().Format(time.RFC3339)
	}
	return resource.Event{
		At: ch.At, Type: noteEventType(ch.Type), Resource: "alarm/" + a.Name, Detail: detail,
		Message: fmt.Sprintf("Alarm %s (%s) %s", a.Name, a.State, ch.Reason),
	}
}

func withComment(s, comment string) string {
	if comment == "" {
		return s
	}
	return s + ": " + comment
}

// endSilence records, at its time, the end of a silence that has passed;
// evalMu is held.
func (e *Evaluator) endSilence(id string, s *resource.AlarmSilence) {
	e.mu.Lock()
	en := e.alarms[id]
	if en == nil || en.alarm.Silence != s {
		e.mu.Unlock()
		return
	}
	en.alarm.Silence = nil
	ch := resource.AlarmChange{At: s.Until, Type: resource.AlarmUnsilenced, From: en.alarm.State, To: en.alarm.State,
		Reason: fmt.Sprintf("the silence set by %s ended at its time", s.By)}
	e.record(en, ch)
	a := en.alarm
	e.mu.Unlock()
	e.logger.Info("alarm silence ended", "alarm", a.Name, "at", s.Until)
	e.save(a, ch)
	e.publish(noteEvent(a, ch))
}

// remind runs the alarm actions of an alarm that stays in ALARM, neither
// silenced nor acknowledged, when it owes them: it went to ALARM while
// silenced and has not notified since, or its renotifySeconds have passed
// since it last did. The actions get an alarm.reminder event, which is
// published too; evalMu is held.
func (e *Evaluator) remind(id string, now time.Time) {
	e.mu.Lock()
	en := e.alarms[id]
	if en == nil || en.alarm.State != resource.AlarmAlarm || en.alarm.Acknowledgement != nil || en.alarm.Silence.Active(now) {
		e.mu.Unlock()
		return
	}
	every := en.alarm.Renotify()
	owed := en.notified.IsZero()
	due := every > 0 && !now.Before(en.notified.Add(every))
	if !owed && !due {
		e.mu.Unlock()
		return
	}
	en.notified = now
	a := en.alarm
	e.mu.Unlock()
	why := fmt.Sprintf("its renotify time (%s) passed", every)
	if owed {
		why = "it went there while silenced"
	}
	detail := details(a)
	detail["state"] = string(a.State)
	detail["since"] = a.StateChangedAt.UTC().Format(time.RFC3339)
	ev := resource.Event{
		At: now, Type: resource.EventAlarmReminder, Resource: "alarm/" + a.Name, Detail: detail,
		Message: fmt.Sprintf("Alarm %s is still in ALARM since %s and notifies again, as %s: %s", a.Name, a.StateChangedAt.UTC().Format(time.RFC3339), why, a.StateReason),
	}
	e.logger.Info("alarm notifies again", "alarm", a.Name, "why", why)
	e.publish(ev)
	e.runActions(a, a.AlarmActions, ev)
}
