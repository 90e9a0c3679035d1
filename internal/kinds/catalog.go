package kinds

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-video/sluice/internal/event"
	"github.com/sluice-video/sluice/internal/resource"
)

// The kinds' names in plans.
const (
	SecurityGroup = "securityGroup"
	Input         = "input"
	Channel       = "channel"
	Alarm         = "alarm"
	Rule          = "rule"
	Distribution  = "distribution"
	Preset        = "preset"
	Pipeline      = "pipeline"
)

// The ranks, in the order apply creates the kinds: presets before the
// pipelines that name them, security groups before inputs, inputs before
// channels; alarms and rules before the channels they watch, so that a
// rule on channel.created sees this stack's channels; distributions,
// which front everything, last.
const (
	rankPreset = iota
	rankPipeline
	rankSecurityGroup
	rankInput
	rankAlarm
	rankRule
	rankChannel
	rankDistribution
)

// onDemandAbsent is the answer for presets and pipelines on a server
// without on-demand transcoding.
const onDemandAbsent = "on-demand transcoding is not enabled on this server"

// Infos describes every kind, without a server, in the order stack files
// list them.
func Infos() []Info {
	return []Info{
		SecurityGroups().Info, Inputs().Info, Channels().Info, Alarms().Info,
		Rules().Info, Distributions().Info, Presets().Info, Pipelines().Info,
	}
}

// Runs tells, as an error, of the first kind the stack declares that the
// table does not hold: a server that does not run it cannot apply it.
func (t Table) Runs(st resource.Stack) error {
	for _, d := range []declaration{
		declarationOf(SecurityGroups()), declarationOf(Inputs()), declarationOf(Channels()), declarationOf(Alarms()),
		declarationOf(Rules()), declarationOf(Distributions()), declarationOf(Presets()), declarationOf(Pipelines()),
	} {
		if _, ok := t.Kind(d.info.Name); !ok && d.count(st) > 0 {
			return errors.New(d.info.Absent)
		}
	}
	return nil
}

// declaration is how many resources of a kind a stack declares.
type declaration struct {
	info  Info
	count func(resource.Stack) int
}

func declarationOf[R, S, W any](d Desc[R, S, W]) declaration {
	return declaration{d.Info, func(st resource.Stack) int { return len(d.Declared(st)) }}
}

// SecurityGroups describes input security groups: CIDR allow lists for
// push inputs.
func SecurityGroups() Desc[resource.SecurityGroup, resource.SecurityGroupSpec, resource.SecurityGroup] {
	return Desc[resource.SecurityGroup, resource.SecurityGroupSpec, resource.SecurityGroup]{
		Info: Info{
			Name: SecurityGroup, Label: "security group", Path: "security-groups", Param: "ref",
			StackKey: "securityGroups", Rank: rankSecurityGroup, Referenced: true,
			Absent: "this server does not run security groups",
		},
		Declared: func(st resource.Stack) []resource.SecurityGroupSpec { return st.SecurityGroups },
		Name:     func(s resource.SecurityGroupSpec) string { return s.Name },
		Spec:     func(g resource.SecurityGroup) resource.SecurityGroupSpec { return g.SecurityGroupSpec },
		Stack:    func(g resource.SecurityGroup) string { return g.Stack },
		Location: func(g resource.SecurityGroup) string { return g.ID },
		View: View[resource.SecurityGroup]{
			Arg:      "GROUP",
			ListHelp: "List security groups, their allow lists and the inputs they guard",
			GetHelp:  "Show a security group",
			Columns: []Column[resource.SecurityGroup]{
				{"NAME", func(g resource.SecurityGroup) string { return g.Name }},
				{"ALLOW", func(g resource.SecurityGroup) string { return strings.Join(g.Allow, ",") }},
				{"INPUTS", func(g resource.SecurityGroup) string { return dash(strings.Join(g.Inputs, ",")) }},
				{"STACK", func(g resource.SecurityGroup) string { return dash(g.Stack) }},
			},
			Detail: func(g resource.SecurityGroup, _ string) []Field {
				var f fields
				f.add("Name", g.Name)
				f.add("ID", g.ID)
				f.add("Stack", dash(g.Stack))
				for _, a := range g.Allow {
					f.add("Allow", a)
				}
				f.add("Inputs", dash(strings.Join(g.Inputs, ", ")))
				f.add("Updated", ago(g.UpdatedAt))
				return f
			},
		},
	}
}

// Inputs describes inputs: where a channel's media comes from.
func Inputs() Desc[resource.Input, resource.InputSpec, resource.Input] {
	return Desc[resource.Input, resource.InputSpec, resource.Input]{
		Info: Info{
			Name: Input, Label: "input", Path: "inputs", Param: "ref",
			StackKey: "inputs", Rank: rankInput, Referenced: true,
			Absent: "this server does not run inputs",
		},
		Declared: func(st resource.Stack) []resource.InputSpec { return st.Inputs },
		Name:     func(s resource.InputSpec) string { return s.Name },
		Spec:     func(in resource.Input) resource.InputSpec { return in.InputSpec },
		Stack:    func(in resource.Input) string { return in.Stack },
		Location: func(in resource.Input) string { return in.ID },
		View: View[resource.Input]{
			Arg:      "INPUT",
			ListHelp: "List inputs and the channels they are attached to",
			GetHelp:  "Show an input",
			Columns: []Column[resource.Input]{
				{"NAME", func(in resource.Input) string { return in.Name }},
				{"TYPE", func(in resource.Input) string { return string(in.Type) }},
				{"STATE", func(in resource.Input) string { return string(in.State) }},
				{"SOURCE", source},
				{"CHANNELS", func(in resource.Input) string { return dash(strings.Join(in.AttachedChannels, ",")) }},
				{"STACK", func(in resource.Input) string { return dash(in.Stack) }},
			},
			Detail: inputDetail,
		},
	}
}

func inputDetail(in resource.Input, _ string) []Field {
	var f fields
	f.add("Name", in.Name)
	f.add("ID", in.ID)
	f.add("Type", string(in.Type))
	f.add("Source", source(in))
	f.add("State", string(in.State))
	f.add("Channels", dash(strings.Join(in.AttachedChannels, ", ")))
	f.add("Stack", dash(in.Stack))
	if len(in.SecurityGroups) > 0 {
		f.add("Security groups", strings.Join(in.SecurityGroups, ", "))
	}
	if in.StreamKey != "" {
		f.add("Stream key", in.StreamKey)
	}
	for _, e := range in.Endpoints {
		f.add("Publish to", e)
	}
	if l := in.Live; l != nil {
		f.add("Publisher", describeLive(*l))
		f.add("Received", fmt.Sprintf("%d frames, %d bytes, %s in; %d connections refused", l.FramesReceived, l.BytesReceived, resource.Bitrate(l.BitrateIn), l.Refused))
		if l.LastPublisher != "" {
			f.add("Last publisher", l.LastPublisher+" ("+l.LastEndReason+")")
		}
	}
	return f
}

// Channels describes channels. Deleting one takes time (a running channel
// stops first): its delete is asynchronous.
func Channels() Desc[resource.Channel, resource.ChannelSpec, resource.Channel] {
	return Desc[resource.Channel, resource.ChannelSpec, resource.Channel]{
		Info: Info{
			Name: Channel, Label: "channel", Path: "channels", Param: "ref",
			StackKey: "channels", Rank: rankChannel,
			Absent: "this server does not run channels",
		},
		Declared: func(st resource.Stack) []resource.ChannelSpec { return st.Channels },
		Name:     func(s resource.ChannelSpec) string { return s.Name },
		Spec:     func(ch resource.Channel) resource.ChannelSpec { return ch.ChannelSpec },
		Stack:    func(ch resource.Channel) string { return ch.Stack },
		Location: func(ch resource.Channel) string { return ch.ID },
		View: View[resource.Channel]{
			Arg:      "CHANNEL",
			ListHelp: "List channels with their state",
			GetHelp:  "Show a channel: settings, state, encoder status and endpoint URLs",
			Columns: []Column[resource.Channel]{
				{"NAME", func(ch resource.Channel) string { return ch.Name }},
				{"STATE", func(ch resource.Channel) string { return string(ch.State) }},
				{"INPUT", attachment},
				{"LADDER", ladder},
				{"STACK", func(ch resource.Channel) string { return dash(ch.Stack) }},
				{"SINCE", func(ch resource.Channel) string { return ago(ch.StateChangedAt) }},
			},
			Detail: channelDetail,
		},
	}
}

func channelDetail(ch resource.Channel, server string) []Field {
	var f fields
	f.add("Name", ch.Name)
	f.add("ID", ch.ID)
	f.add("Stack", dash(ch.Stack))
	f.add("State", fmt.Sprintf("%s since %s (%s)", ch.State, ago(ch.StateChangedAt), ch.StateReason))
	if ch.LastError != "" {
		f.add("Last error", ch.LastError)
	}
	f.add("Class", string(ch.Class()))
	if ch.Node != "" {
		f.add("Node", ch.Node)
	}
	f.add("Input", attachment(ch))
	f.add("Ladder", ladder(ch))
	f.add("Segment", ch.Segment().String())
	f.add("Auto start", fmt.Sprint(ch.AutoStart))
	if st := ch.Pipeline; st != nil {
		f.add("Encoder", fmt.Sprintf("speed %.2fx, %.1f fps, %d frames, %d dropped, %d duplicated, %d segments, %d restarts",
			st.Speed, st.FPS, st.Frames, st.DroppedFrames, st.DupFrames, st.Segments, st.Restarts))
	}
	for _, p := range ch.Pipelines {
		f.add(fmt.Sprintf("Pipeline %d", p.Index), pipelineLine(p))
		for _, u := range p.InputEndpoints {
			f.add(fmt.Sprintf("Pipeline %d push to", p.Index), u)
		}
	}
	if l := ch.PipelineLag; l != nil {
		f.add("Pipeline lag", fmt.Sprintf("pipeline %d is %d segments (%s s) behind", l.Behind, l.Segments, strconv.FormatFloat(l.Seconds, 'f', -1, 64)))
	}
	if ch.Degraded != "" {
		f.add("Degraded", ch.Degraded)
	}
	for _, w := range ch.Warnings {
		f.add("Warning", w)
	}
	base := strings.TrimRight(server, "/")
	for _, e := range ch.Endpoints {
		f.add("Endpoint "+e.Name, fmt.Sprintf("%s %s", e.Type, base+e.URL))
	}
	f.add("Player", base+"/play/"+ch.Name)
	return f
}

// pipelineLine is one pipeline of a STANDARD channel in a line: "RUNNING
// on node a, speed 1.01x, last segment 123, 0 restarts".
func pipelineLine(p resource.PipelineReport) string {
	var b strings.Builder
	b.WriteString(string(p.State))
	if p.Node != "" {
		b.WriteString(" on node " + p.Node)
	}
	if p.State != resource.PipelineIdle && p.State != resource.PipelineWaiting {
		fmt.Fprintf(&b, ", speed %.2fx", p.Speed)
		if p.LastSegment != nil {
			fmt.Fprintf(&b, ", last segment %d", *p.LastSegment)
		}
		fmt.Fprintf(&b, ", %d restarts", p.Restarts)
		if !p.InputActive {
			b.WriteString(", showing fill")
		}
	}
	if p.Reason != "" {
		b.WriteString(" (" + p.Reason + ")")
	}
	return b.String()
}

// Alarms describes alarms: a metric's condition over periods, and actions.
func Alarms() Desc[resource.Alarm, resource.AlarmSpec, resource.Alarm] {
	return Desc[resource.Alarm, resource.AlarmSpec, resource.Alarm]{
		Info: Info{
			Name: Alarm, Label: "alarm", Path: "alarms", Param: "ref",
			StackKey: "alarms", Rank: rankAlarm,
			Absent: "this server does not run alarms",
		},
		Declared: func(st resource.Stack) []resource.AlarmSpec { return st.Alarms },
		Name:     func(s resource.AlarmSpec) string { return s.Name },
		Spec:     func(a resource.Alarm) resource.AlarmSpec { return a.AlarmSpec },
		Stack:    func(a resource.Alarm) string { return a.Stack },
		Location: func(a resource.Alarm) string { return a.ID },
		View: View[resource.Alarm]{
			Arg:      "ALARM",
			ListHelp: "List alarms with their state and condition",
			GetHelp:  "Show an alarm: condition, state and reason, actions",
			Columns: []Column[resource.Alarm]{
				{"NAME", func(a resource.Alarm) string { return a.Name }},
				{"STATE", func(a resource.Alarm) string { return string(a.State) }},
				{"CONDITION", func(a resource.Alarm) string { return condition(a.AlarmSpec) }},
				{"SINCE", func(a resource.Alarm) string { return ago(a.StateChangedAt) }},
				{"SILENCED", func(a resource.Alarm) string { return silencedUntil(a.Silence) }},
				{"ACKNOWLEDGED", func(a resource.Alarm) string { return acknowledgedBy(a.Acknowledgement) }},
				{"STACK", func(a resource.Alarm) string { return dash(a.Stack) }},
			},
			Detail: alarmDetail,
		},
	}
}

func alarmDetail(a resource.Alarm, _ string) []Field {
	var f fields
	f.add("Name", a.Name)
	f.add("ID", a.ID)
	f.add("Stack", dash(a.Stack))
	f.add("State", fmt.Sprintf("%s since %s", a.State, ago(a.StateChangedAt)))
	f.add("Reason", dash(a.StateReason))
	if s := a.Silence; s != nil {
		f.add("Silenced", withNote("until "+at(s.Until)+" by "+s.By+" at "+at(s.At), s.Comment))
	}
	if k := a.Acknowledgement; k != nil {
		f.add("Acknowledged", withNote("by "+k.By+" at "+at(k.At), k.Comment))
	}
	f.add("Condition", condition(a.AlarmSpec))
	f.add("Missing data", string(orMissing(a.TreatMissingData)))
	if d := a.Renotify(); d > 0 {
		f.add("Renotify", "every "+d.String()+" while in ALARM, unless acknowledged")
	}
	for _, x := range []struct {
		state   string
		actions []resource.Action
	}{{"ALARM", a.AlarmActions}, {"OK", a.OKActions}, {"INSUFFICIENT_DATA", a.InsufficientDataActions}} {
		for _, act := range x.actions {
			f.add("On "+x.state, describeAction(act))
		}
	}
	return f
}

// Rules describes event rules: an event pattern and actions. Their list
// and get say how often each fired; a create or an update answers the
// rule alone.
func Rules() Desc[event.RuleStatus, resource.RuleSpec, resource.Rule] {
	return Desc[event.RuleStatus, resource.RuleSpec, resource.Rule]{
		Info: Info{
			Name: Rule, Label: "rule", Path: "rules", Param: "ref",
			StackKey: "rules", Rank: rankRule,
			Absent: "this server does not run rules",
		},
		Declared: func(st resource.Stack) []resource.RuleSpec { return st.Rules },
		Name:     func(s resource.RuleSpec) string { return s.Name },
		Spec:     func(r event.RuleStatus) resource.RuleSpec { return r.RuleSpec },
		Stack:    func(r event.RuleStatus) string { return r.Stack },
		Location: func(r resource.Rule) string { return r.ID },
		View: View[event.RuleStatus]{
			Arg:      "RULE",
			ListHelp: "List rules with what they match and how often they fired",
			GetHelp:  "Show a rule, its actions and its last firing",
			Columns: []Column[event.RuleStatus]{
				{"NAME", func(r event.RuleStatus) string { return r.Name }},
				{"EVENT", func(r event.RuleStatus) string { return pattern(r.RuleSpec) }},
				{"ACTIONS", func(r event.RuleStatus) string {
					var acts []string
					for _, a := range r.Actions {
						acts = append(acts, describeAction(a))
					}
					return strings.Join(acts, "; ")
				}},
				{"FIRED", func(r event.RuleStatus) string { return fmt.Sprint(r.Fired) }},
				{"STACK", func(r event.RuleStatus) string { return dash(r.Stack) }},
			},
			Detail: func(r event.RuleStatus, _ string) []Field {
				var f fields
				f.add("Name", r.Name)
				f.add("ID", r.ID)
				f.add("Stack", dash(r.Stack))
				f.add("Event", pattern(r.RuleSpec))
				for _, a := range r.Actions {
					f.add("Action", describeAction(a))
				}
				f.add("Fired", fmt.Sprintf("%d times, last %s; %d suppressed by the rate limit", r.Fired, ago(r.LastFired), r.Suppressed))
				if r.LastError != "" {
					f.add("Last error", r.LastError)
				}
				return f
			},
		},
	}
}

// Distributions describes distributions: the caching edges a server runs.
func Distributions() Desc[resource.Distribution, resource.DistributionSpec, resource.Distribution] {
	return Desc[resource.Distribution, resource.DistributionSpec, resource.Distribution]{
		Info: Info{
			Name: Distribution, Label: "distribution", Path: "distributions", Param: "ref",
			StackKey: "distributions", Rank: rankDistribution,
			Absent: "this server does not run distributions",
		},
		Declared: func(st resource.Stack) []resource.DistributionSpec { return st.Distributions },
		Name:     func(s resource.DistributionSpec) string { return s.Name },
		Spec:     func(d resource.Distribution) resource.DistributionSpec { return d.DistributionSpec },
		Stack:    func(d resource.Distribution) string { return d.Stack },
		Location: func(d resource.Distribution) string { return d.Name },
		View: View[resource.Distribution]{
			Arg:      "DISTRIBUTION",
			ListHelp: "List distributions and whether their edges serve",
			GetHelp:  "Show a distribution",
			Columns: []Column[resource.Distribution]{
				{"NAME", func(d resource.Distribution) string { return d.Name }},
				{"LISTEN", func(d resource.Distribution) string { return d.Listen }},
				{"STATE", func(d resource.Distribution) string { return string(d.State) }},
				{"ORIGINS", func(d resource.Distribution) string { return strings.Join(d.Origins, ",") }},
				{"SIGNED", func(d resource.Distribution) string { return yesNo(d.RequireSignedURLs) }},
				{"STACK", func(d resource.Distribution) string { return dash(d.Stack) }},
			},
			Detail: distributionDetail,
		},
	}
}

func distributionDetail(d resource.Distribution, _ string) []Field {
	var f fields
	f.add("Name", d.Name)
	f.add("ID", d.ID)
	f.add("Listen", d.Listen)
	f.add("State", string(d.State)+" ("+d.StateReason+")")
	for i, o := range d.Origins {
		role := "primary"
		if i > 0 {
			role = "secondary"
		}
		f.add("Origin", o+" ("+role+")")
	}
	f.add("Memory tier", fmt.Sprintf("%d MiB", orDefault(d.MemoryMB, resource.DefaultEdgeMemoryMB)))
	if d.DiskMB > 0 {
		f.add("Disk tier", fmt.Sprintf("%d MiB in %s", d.DiskMB, d.DiskDir))
	}
	f.add("Stale if error", fmt.Sprintf("%d s", int(d.StaleIfError()/time.Second)))
	f.add("Signed URLs", yesNo(d.RequireSignedURLs))
	f.add("Stack", dash(d.Stack))
	return f
}

// Presets describes transcoding presets: what an on-demand job makes. The
// system presets are built in.
func Presets() Desc[resource.PresetSpec, resource.PresetSpec, resource.PresetSpec] {
	return Desc[resource.PresetSpec, resource.PresetSpec, resource.PresetSpec]{
		Info: Info{
			Name: Preset, Label: "preset", Path: "presets", Param: "name",
			StackKey: "presets", Rank: rankPreset, Referenced: true,
			Absent: onDemandAbsent,
		},
		Declared: func(st resource.Stack) []resource.PresetSpec { return st.Presets },
		Name:     func(s resource.PresetSpec) string { return s.Name },
		Spec:     func(p resource.PresetSpec) resource.PresetSpec { return p },
		Stack:    func(p resource.PresetSpec) string { return p.Stack },
		Builtin:  func(p resource.PresetSpec) bool { return p.System },
		View: View[resource.PresetSpec]{
			Arg:      "PRESET",
			ListHelp: "List the system and custom presets",
			GetHelp:  "Show a preset",
			Columns: []Column[resource.PresetSpec]{
				{"NAME", func(p resource.PresetSpec) string { return p.Name }},
				{"KIND", func(p resource.PresetSpec) string { return p.Kind }},
				{"SYSTEM", func(p resource.PresetSpec) string { return fmt.Sprint(p.System) }},
				{"RUNGS", func(p resource.PresetSpec) string {
					var rungs []string
					for _, r := range p.Rungs {
						rungs = append(rungs, fmt.Sprintf("%s@%dk", r.Name, r.Bitrate/1000))
					}
					return dash(strings.Join(rungs, ","))
				}},
				{"DESCRIPTION", func(p resource.PresetSpec) string { return p.Description }},
			},
		},
	}
}

// Pipelines describes transcoding pipelines: where on-demand jobs read and
// write. The default pipeline is built in until one is stored in its name.
func Pipelines() Desc[resource.PipelineSpec, resource.PipelineSpec, resource.PipelineSpec] {
	return Desc[resource.PipelineSpec, resource.PipelineSpec, resource.PipelineSpec]{
		Info: Info{
			Name: Pipeline, Label: "pipeline", Path: "pipelines", Param: "name",
			StackKey: "pipelines", Rank: rankPipeline,
			Absent: onDemandAbsent,
		},
		Declared: func(st resource.Stack) []resource.PipelineSpec { return st.Pipelines },
		Name:     func(s resource.PipelineSpec) string { return s.Name },
		Spec:     func(p resource.PipelineSpec) resource.PipelineSpec { return p },
		Stack:    func(p resource.PipelineSpec) string { return p.Stack },
		Builtin:  func(p resource.PipelineSpec) bool { return p.Builtin },
		View: View[resource.PipelineSpec]{
			Arg:      "PIPELINE",
			ListHelp: "List pipelines: where files come from and where outputs go",
			GetHelp:  "Show a pipeline",
			Columns: []Column[resource.PipelineSpec]{
				{"NAME", func(p resource.PipelineSpec) string { return p.Name }},
				{"INPUT", func(p resource.PipelineSpec) string { return p.Input }},
				{"WATCH", func(p resource.PipelineSpec) string { return fmt.Sprint(p.Watch) }},
				{"OUTPUT", func(p resource.PipelineSpec) string { return p.Output }},
				{"PRESETS", func(p resource.PipelineSpec) string { return strings.Join(p.Presets, ",") }},
			},
		},
	}
}
