// Package controlplane is the one control plane the stack engine and the
// API drive, made of the services that own the resources, each in a
// field of its own: channels, inputs and security groups (the channel
// manager), alarms and rules (automation), distributions, and on-demand
// presets and pipelines. Its methods pass each call to the service that
// owns the resource.
package controlplane

import (
	"context"

	"github.com/sluice-video/sluice/internal/automation"
	"github.com/sluice-video/sluice/internal/channel"
	"github.com/sluice-video/sluice/internal/distribution"
	"github.com/sluice-video/sluice/internal/event"
	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/vod"
)

// Plane is the control plane of a server.
type Plane struct {
	Channels      *channel.Manager
	Automation    *automation.Service
	Distributions *distribution.Service
	VOD           *vod.Service
}

// ListSecurityGroups passes the call to the channel manager.
func (p Plane) ListSecurityGroups(ctx context.Context) ([]resource.SecurityGroup, error) {
	return p.Channels.ListSecurityGroups(ctx)
}

// CreateSecurityGroup passes the call to the channel manager.
func (p Plane) CreateSecurityGroup(ctx context.Context, stack string, spec resource.SecurityGroupSpec) (resource.SecurityGroup, error) {
	return p.Channels.CreateSecurityGroup(ctx, stack, spec)
}

// UpdateSecurityGroup passes the call to the channel manager.
func (p Plane) UpdateSecurityGroup(ctx context.Context, ref, stack string, spec resource.SecurityGroupSpec) (resource.SecurityGroup, error) {
	return p.Channels.UpdateSecurityGroup(ctx, ref, stack, spec)
}

// DeleteSecurityGroup passes the call to the channel manager.
func (p Plane) DeleteSecurityGroup(ctx context.Context, ref string) error {
	return p.Channels.DeleteSecurityGroup(ctx, ref)
}

// ListInputs passes the call to the channel manager.
func (p Plane) ListInputs(ctx context.Context) ([]resource.Input, error) {
	return p.Channels.ListInputs(ctx)
}

// CreateInput passes the call to the channel manager.
func (p Plane) CreateInput(ctx context.Context, stack string, spec resource.InputSpec) (resource.Input, error) {
	return p.Channels.CreateInput(ctx, stack, spec)
}

// UpdateInput passes the call to the channel manager.
func (p Plane) UpdateInput(ctx context.Context, ref, stack string, spec resource.InputSpec) (resource.Input, error) {
	return p.Channels.UpdateInput(ctx, ref, stack, spec)
}

// DeleteInput passes the call to the channel manager.
func (p Plane) DeleteInput(ctx context.Context, ref string) error {
	return p.Channels.DeleteInput(ctx, ref)
}

// ListChannels passes the call to the channel manager.
func (p Plane) ListChannels(ctx context.Context) ([]resource.Channel, error) {
	return p.Channels.ListChannels(ctx)
}

// GetChannel passes the call to the channel manager.
func (p Plane) GetChannel(ctx context.Context, ref string) (resource.Channel, error) {
	return p.Channels.GetChannel(ctx, ref)
}

// CreateChannel passes the call to the channel manager.
func (p Plane) CreateChannel(ctx context.Context, stack string, spec resource.ChannelSpec) (resource.Channel, error) {
	return p.Channels.CreateChannel(ctx, stack, spec)
}

// UpdateChannel passes the call to the channel manager.
func (p Plane) UpdateChannel(ctx context.Context, ref, stack string, spec resource.ChannelSpec) (resource.Channel, error) {
	return p.Channels.UpdateChannel(ctx, ref, stack, spec)
}

// DeleteChannel passes the call to the channel manager.
func (p Plane) DeleteChannel(ctx context.Context, ref string) (resource.Channel, error) {
	return p.Channels.DeleteChannel(ctx, ref)
}

// ListAlarms passes the call to automation.
func (p Plane) ListAlarms(ctx context.Context) ([]resource.Alarm, error) {
	return p.Automation.ListAlarms(ctx)
}

// CreateAlarm passes the call to automation.
func (p Plane) CreateAlarm(ctx context.Context, stack string, spec resource.AlarmSpec) (resource.Alarm, error) {
	return p.Automation.CreateAlarm(ctx, stack, spec)
}

// UpdateAlarm passes the call to automation.
func (p Plane) UpdateAlarm(ctx context.Context, ref, stack string, spec resource.AlarmSpec) (resource.Alarm, error) {
	return p.Automation.UpdateAlarm(ctx, ref, stack, spec)
}

// DeleteAlarm passes the call to automation.
func (p Plane) DeleteAlarm(ctx context.Context, ref string) error {
	return p.Automation.DeleteAlarm(ctx, ref)
}

// ListRules passes the call to automation.
func (p Plane) ListRules(ctx context.Context) ([]event.RuleStatus, error) {
	return p.Automation.ListRules(ctx)
}

// CreateRule passes the call to automation.
func (p Plane) CreateRule(ctx context.Context, stack string, spec resource.RuleSpec) (resource.Rule, error) {
	return p.Automation.CreateRule(ctx, stack, spec)
}

// UpdateRule passes the call to automation.
func (p Plane) UpdateRule(ctx context.Context, ref, stack string, spec resource.RuleSpec) (resource.Rule, error) {
	return p.Automation.UpdateRule(ctx, ref, stack, spec)
}

// DeleteRule passes the call to automation.
func (p Plane) DeleteRule(ctx context.Context, ref string) error {
	return p.Automation.DeleteRule(ctx, ref)
}

// ListDistributions passes the call to the distributions.
func (p Plane) ListDistributions(ctx context.Context) ([]resource.Distribution, error) {
	return p.Distributions.ListDistributions(ctx)
}

// CreateDistribution passes the call to the distributions.
func (p Plane) CreateDistribution(ctx context.Context, stack string, spec resource.DistributionSpec) (resource.Distribution, error) {
	return p.Distributions.CreateDistribution(ctx, stack, spec)
}

// UpdateDistribution passes the call to the distributions.
func (p Plane) UpdateDistribution(ctx context.Context, ref, stack string, spec resource.DistributionSpec) (resource.Distribution, error) {
	return p.Distributions.UpdateDistribution(ctx, ref, stack, spec)
}

// DeleteDistribution passes the call to the distributions.
func (p Plane) DeleteDistribution(ctx context.Context, ref string) error {
	return p.Distributions.DeleteDistribution(ctx, ref)
}

// OwnedPresets passes the call to on-demand transcoding.
func (p Plane) OwnedPresets(ctx context.Context) ([]resource.Owned[resource.PresetSpec], error) {
	return p.VOD.OwnedPresets(ctx)
}

// CreatePreset passes the call to on-demand transcoding.
func (p Plane) CreatePreset(ctx context.Context, stack string, spec resource.PresetSpec) (resource.PresetSpec, error) {
	return p.VOD.CreatePreset(ctx, stack, spec)
}

// UpdatePreset passes the call to on-demand transcoding.
func (p Plane) UpdatePreset(ctx context.Context, ref, stack string, spec resource.PresetSpec) (resource.PresetSpec, error) {
	return p.VOD.UpdatePreset(ctx, ref, stack, spec)
}

// DeletePreset passes the call to on-demand transcoding.
func (p Plane) DeletePreset(ctx context.Context, name string) error {
	return p.VOD.DeletePreset(ctx, name)
}

// OwnedPipelines passes the call to on-demand transcoding.
func (p Plane) OwnedPipelines(ctx context.Context) ([]resource.Owned[resource.PipelineSpec], error) {
	return p.VOD.OwnedPipelines(ctx)
}

// CreatePipeline passes the call to on-demand transcoding.
func (p Plane) CreatePipeline(ctx context.Context, stack string, spec resource.PipelineSpec) (resource.PipelineSpec, error) {
	return p.VOD.CreatePipeline(ctx, stack, spec)
}

// UpdatePipeline passes the call to on-demand transcoding.
func (p Plane) UpdatePipeline(ctx context.Context, ref, stack string, spec resource.PipelineSpec) (resource.PipelineSpec, error) {
	return p.VOD.UpdatePipeline(ctx, ref, stack, spec)
}

// DeletePipeline passes the call to on-demand transcoding.
func (p Plane) DeletePipeline(ctx context.Context, name string) error {
	return p.VOD.DeletePipeline(ctx, name)
}

// GetInput passes the call to the channel manager.
func (p Plane) GetInput(ctx context.Context, ref string) (resource.Input, error) {
	return p.Channels.GetInput(ctx, ref)
}

// RotateStreamKey passes the call to the channel manager.
func (p Plane) RotateStreamKey(ctx context.Context, ref string) (resource.Input, error) {
	return p.Channels.RotateStreamKey(ctx, ref)
}

// GetSecurityGroup passes the call to the channel manager.
func (p Plane) GetSecurityGroup(ctx context.Context, ref string) (resource.SecurityGroup, error) {
	return p.Channels.GetSecurityGroup(ctx, ref)
}

// StartChannel passes the call to the channel manager.
func (p Plane) StartChannel(ctx context.Context, ref string) (resource.Channel, error) {
	return p.Channels.StartChannel(ctx, ref)
}

// StopChannel passes the call to the channel manager.
func (p Plane) StopChannel(ctx context.Context, ref string) (resource.Channel, error) {
	return p.Channels.StopChannel(ctx, ref)
}

// History passes the call to the channel manager.
func (p Plane) History(ctx context.Context, ref string, limit int) ([]resource.StateChange, error) {
	return p.Channels.History(ctx, ref, limit)
}

// GetAlarm passes the call to automation.
func (p Plane) GetAlarm(ctx context.Context, ref string) (resource.Alarm, error) {
	return p.Automation.GetAlarm(ctx, ref)
}

// AlarmHistory passes the call to automation.
func (p Plane) AlarmHistory(ctx context.Context, ref string, limit int) ([]resource.AlarmChange, error) {
	return p.Automation.AlarmHistory(ctx, ref, limit)
}

// GetRule passes the call to automation.
func (p Plane) GetRule(ctx context.Context, ref string) (event.RuleStatus, error) {
	return p.Automation.GetRule(ctx, ref)
}
