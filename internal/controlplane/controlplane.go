// Package controlplane is the one control plane the stack engine and the
// API drive, made of the services that own the resources, each in a
// field of its own: channels, inputs and security groups (the channel
// manager), alarms and rules (automation), distributions, and on-demand
// presets and pipelines. Kinds binds every resource kind to its service;
// the few operations that are not a kind's verbs pass through to the
// service that owns them.
package controlplane

import (
	"context"

	"github.com/sluice-video/sluice/internal/automation"
	"github.com/sluice-video/sluice/internal/channel"
	"github.com/sluice-video/sluice/internal/distribution"
	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/vod"
)

// Plane is the control plane of a server. Distributions and VOD are nil
// on a server that does not run them.
type Plane struct {
	Channels      *channel.Manager
	Automation    *automation.Service
	Distributions *distribution.Service
	VOD           *vod.Service
}

// RotateStreamKey passes the call to the channel manager.
func (p Plane) RotateStreamKey(ctx context.Context, ref string) (resource.Input, error) {
	return p.Channels.RotateStreamKey(ctx, ref)
}

// GetChannel passes the call to the channel manager.
func (p Plane) GetChannel(ctx context.Context, ref string) (resource.Channel, error) {
	return p.Channels.GetChannel(ctx, ref)
}

// StartChannel passes the call to the channel manager.
func (p Plane) StartChannel(ctx context.Context, ref string) (resource.Channel, error) {
	return p.Channels.StartChannel(ctx, ref)
}

// StopChannel passes the call to the channel manager.
func (p Plane) StopChannel(ctx context.Context, ref string) (resource.Channel, error) {
	return p.Channels.StopChannel(ctx, ref)
}

// RestartChannel passes the call to the channel manager.
func (p Plane) RestartChannel(ctx context.Context, ref string) (resource.Channel, error) {
	return p.Channels.RestartChannel(ctx, ref)
}

// History passes the call to the channel manager.
func (p Plane) History(ctx context.Context, ref string, limit int) ([]resource.StateChange, error) {
	return p.Channels.History(ctx, ref, limit)
}

// AlarmHistory passes the call to automation.
func (p Plane) AlarmHistory(ctx context.Context, ref string, limit int) ([]resource.AlarmChange, error) {
	return p.Automation.AlarmHistory(ctx, ref, limit)
}

// SilenceAlarm passes the call to automation.
func (p Plane) SilenceAlarm(ctx context.Context, ref, by string, req resource.SilenceRequest) (resource.Alarm, error) {
	return p.Automation.SilenceAlarm(ctx, ref, by, req)
}

// UnsilenceAlarm passes the call to automation.
func (p Plane) UnsilenceAlarm(ctx context.Context, ref, by string, req resource.UnsilenceRequest) (resource.Alarm, error) {
	return p.Automation.UnsilenceAlarm(ctx, ref, by, req)
}

// AcknowledgeAlarm passes the call to automation.
func (p Plane) AcknowledgeAlarm(ctx context.Context, ref, by string, req resource.AcknowledgeRequest) (resource.Alarm, error) {
	return p.Automation.AcknowledgeAlarm(ctx, ref, by, req)
}
