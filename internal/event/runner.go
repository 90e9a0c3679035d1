package event

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/sluice-video/sluice/internal/resource"
)

// Runner runs one action of an alarm transition or an event rule, with the
// event that caused it. It should return quickly: webhooks are queued and
// channel commands only requested.
type Runner interface {
	Run(ctx context.Context, a resource.Action, e resource.Event) error
}

// Channels is the part of the channel manager the actions drive.
type Channels interface {
	StartChannel(ctx context.Context, ref string) (resource.Channel, error)
	StopChannel(ctx context.Context, ref string) (resource.Channel, error)
}

// channelRestarter is a Channels that restarts in one step.
type channelRestarter interface {
	RestartChannel(ctx context.Context, ref string) (resource.Channel, error)
}

// Jobs submits the on-demand jobs of SUBMIT_JOB actions.
type Jobs interface {
	SubmitJob(ctx context.Context, pipeline, input string, presets []string) (id string, err error)
}

// ErrQueueFull means a webhook delivery was dropped because its
// receiver's queue is full.
var ErrQueueFull = errors.New("webhook queue full")

// Actions is the Runner of Sluice's actions: WEBHOOK through a Deliverer,
// START_CHANNEL, STOP_CHANNEL and RESTART_CHANNEL through Channels.
type Actions struct {
	Webhooks *Deliverer
	Channels Channels
	// Jobs runs SUBMIT_JOB; nil when the server runs no on-demand jobs.
	Jobs Jobs
}

// Run runs one action. A channel action without a channel acts on the
// channel the event names (its detail's "channel", or a resource
// "channel/<name>").
func (a *Actions) Run(ctx context.Context, act resource.Action, e resource.Event) error {
	switch act.Type {
	case resource.ActionWebhook:
		if a.Webhooks == nil {
			return errors.New("webhook action: no webhook deliverer")
		}
		if !a.Webhooks.Enqueue(Webhook{URL: act.URL, Secret: act.Secret}, e) {
			return fmt.Errorf("webhook %s: %w", act.URL, ErrQueueFull)
		}
		return nil
	case resource.ActionSubmitJob:
		return a.submitJob(ctx, act, e)
	case resource.ActionStartChannel, resource.ActionStopChannel, resource.ActionRestartChannel:
	default:
		return fmt.Errorf("unknown action type %q", act.Type)
	}
	if a.Channels == nil {
		return fmt.Errorf("%s action: no channel manager", act.Type)
	}
	ch := ChannelOf(act, e)
	if ch == "" {
		return fmt.Errorf("%s action: neither the action nor the event %s names a channel", act.Type, e.Type)
	}
	var err error
	switch act.Type {
	case resource.ActionStartChannel:
		_, err = a.Channels.StartChannel(ctx, ch)
	case resource.ActionStopChannel:
		_, err = a.Channels.StopChannel(ctx, ch)
	default:
		if r, ok := a.Channels.(channelRestarter); ok {
			_, err = r.RestartChannel(ctx, ch)
			break
		}
		// A start requested while the channel stops is queued until it
		// has stopped.
		if _, err = a.Channels.StopChannel(ctx, ch); err == nil {
			_, err = a.Channels.StartChannel(ctx, ch)
		}
	}
	if err != nil {
		return fmt.Errorf("%s %s: %w", act.Type, ch, err)
	}
	return nil
}

// ChannelOf returns the channel an action is about: its own, else the
// event's detail "channel", else the name in a "channel/<name>" resource.
func ChannelOf(act resource.Action, e resource.Event) string {
	if act.Channel != "" {
		return act.Channel
	}
	if c := e.Detail["channel"]; c != "" {
		return c
	}
	if name, ok := strings.CutPrefix(e.Resource, "channel/"); ok {
		return name
	}
	return ""
}

// submitJob submits the on-demand job of a SUBMIT_JOB action, for the
// action's input or the object the event names.
func (a *Actions) submitJob(ctx context.Context, act resource.Action, e resource.Event) error {
	if a.Jobs == nil {
		return errors.New("SUBMIT_JOB action: this server runs no on-demand jobs")
	}
	input := act.Input
	for _, k := range []string{"input", "key"} {
		if input == "" {
			input = e.Detail[k]
		}
	}
	if input == "" {
		return fmt.Errorf("SUBMIT_JOB action: neither the action nor the event %s names an input", e.Type)
	}
	if _, err := a.Jobs.SubmitJob(ctx, act.Pipeline, input, act.Presets); err != nil {
		return fmt.Errorf("SUBMIT_JOB %s %s: %w", act.Pipeline, input, err)
	}
	return nil
}
