package controlplane

import (
	"github.com/sluice-video/sluice/internal/event"
	"github.com/sluice-video/sluice/internal/kinds"
	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/vod"
)

// Kinds binds every resource kind to the service that runs it: the one
// place a kind meets its service. A server runs them all; a plane
// without one of the services (as some tests build) leaves that
// service's kinds out of the table.
func (p Plane) Kinds() kinds.Table {
	c, a, d, v := p.Channels, p.Automation, p.Distributions, p.VOD
	var ks []kinds.Kind
	if c != nil {
		ks = append(ks,
			kinds.Bind(kinds.SecurityGroups(), kinds.Funcs[resource.SecurityGroup, resource.SecurityGroupSpec, resource.SecurityGroup]{
				List: c.ListSecurityGroups, Get: c.GetSecurityGroup,
				Create: c.CreateSecurityGroup, Update: c.UpdateSecurityGroup, Delete: c.DeleteSecurityGroup,
			}),
			kinds.Bind(kinds.Inputs(), kinds.Funcs[resource.Input, resource.InputSpec, resource.Input]{
				List: c.ListInputs, Get: c.GetInput,
				Create: c.CreateInput, Update: c.UpdateInput, Delete: c.DeleteInput,
			}),
			// A channel stops before it goes: its deletion takes time.
			kinds.Bind(kinds.Channels(), kinds.Funcs[resource.Channel, resource.ChannelSpec, resource.Channel]{
				List: c.ListChannels, Get: c.GetChannel,
				Create: c.CreateChannel, Update: c.UpdateChannel, DeleteAsync: c.DeleteChannel,
			}),
		)
	}
	if a != nil {
		ks = append(ks,
			kinds.Bind(kinds.Alarms(), kinds.Funcs[resource.Alarm, resource.AlarmSpec, resource.Alarm]{
				List: a.ListAlarms, Get: a.GetAlarm,
				Create: a.CreateAlarm, Update: a.UpdateAlarm, Delete: a.DeleteAlarm,
			}),
			kinds.Bind(kinds.Rules(), kinds.Funcs[event.RuleStatus, resource.RuleSpec, resource.Rule]{
				List: a.ListRules, Get: a.GetRule,
				Create: a.CreateRule, Update: a.UpdateRule, Delete: a.DeleteRule,
			}),
		)
	}
	if d != nil {
		ks = append(ks, kinds.Bind(kinds.Distributions(), kinds.Funcs[resource.Distribution, resource.DistributionSpec, resource.Distribution]{
			List: d.ListDistributions, Get: d.GetDistribution,
			Create: d.CreateDistribution, Update: d.UpdateDistribution, Delete: d.DeleteDistribution,
		}))
	}
	if v != nil {
		ks = append(ks,
			kinds.Bind(kinds.Presets(), kinds.Funcs[vod.Preset, vod.Preset, vod.Preset]{
				List: v.Presets, Get: v.Preset,
				Create: v.CreatePreset, Update: v.UpdatePreset, Delete: v.DeletePreset,
			}),
			kinds.Bind(kinds.Pipelines(), kinds.Funcs[vod.Pipeline, vod.Pipeline, vod.Pipeline]{
				List: v.Pipelines, Get: v.Pipeline,
				Create: v.CreatePipeline, Update: v.UpdatePipeline, Delete: v.DeletePipeline,
			}),
		)
	}
	return kinds.NewTable(ks...)
}
