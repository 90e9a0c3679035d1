package stack

import (
	"github.com/sluice-video/sluice/internal/automation"
	"github.com/sluice-video/sluice/internal/channel"
	"github.com/sluice-video/sluice/internal/distribution"
	"github.com/sluice-video/sluice/internal/event"
	"github.com/sluice-video/sluice/internal/kinds"
	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/vod"
)

// The tests bind the kinds of the services they run, as the server does.

func controlPlaneKinds(c *channel.Manager, a *automation.Service) []kinds.Kind {
	return []kinds.Kind{
		kinds.Bind(kinds.SecurityGroups(), kinds.Funcs[resource.SecurityGroup, resource.SecurityGroupSpec, resource.SecurityGroup]{
			List: c.ListSecurityGroups, Get: c.GetSecurityGroup, Create: c.CreateSecurityGroup, Update: c.UpdateSecurityGroup, Delete: c.DeleteSecurityGroup,
		}),
		kinds.Bind(kinds.Inputs(), kinds.Funcs[resource.Input, resource.InputSpec, resource.Input]{
			List: c.ListInputs, Get: c.GetInput, Create: c.CreateInput, Update: c.UpdateInput, Delete: c.DeleteInput,
		}),
		kinds.Bind(kinds.Channels(), kinds.Funcs[resource.Channel, resource.ChannelSpec, resource.Channel]{
			List: c.ListChannels, Get: c.GetChannel, Create: c.CreateChannel, Update: c.UpdateChannel, DeleteAsync: c.DeleteChannel,
		}),
		kinds.Bind(kinds.Alarms(), kinds.Funcs[resource.Alarm, resource.AlarmSpec, resource.Alarm]{
			List: a.ListAlarms, Get: a.GetAlarm, Create: a.CreateAlarm, Update: a.UpdateAlarm, Delete: a.DeleteAlarm,
		}),
		kinds.Bind(kinds.Rules(), kinds.Funcs[event.RuleStatus, resource.RuleSpec, resource.Rule]{
			List: a.ListRules, Get: a.GetRule, Create: a.CreateRule, Update: a.UpdateRule, Delete: a.DeleteRule,
		}),
	}
}

func distributionKind(d *distribution.Service) kinds.Kind {
	return kinds.Bind(kinds.Distributions(), kinds.Funcs[resource.Distribution, resource.DistributionSpec, resource.Distribution]{
		List: d.ListDistributions, Get: d.GetDistribution, Create: d.CreateDistribution, Update: d.UpdateDistribution, Delete: d.DeleteDistribution,
	})
}

func vodKinds(v *vod.Service) []kinds.Kind {
	return []kinds.Kind{
		kinds.Bind(kinds.Presets(), kinds.Funcs[vod.Preset, vod.Preset, vod.Preset]{
			List: v.Presets, Get: v.Preset, Create: v.CreatePreset, Update: v.UpdatePreset, Delete: v.DeletePreset,
		}),
		kinds.Bind(kinds.Pipelines(), kinds.Funcs[vod.Pipeline, vod.Pipeline, vod.Pipeline]{
			List: v.Pipelines, Get: v.Pipeline, Create: v.CreatePipeline, Update: v.UpdatePipeline, Delete: v.DeletePipeline,
		}),
	}
}
