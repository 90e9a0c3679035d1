package resource

// Stack is a named set of resources that apply, plan and destroy manage
// together. A resource created by a stack carries the stack's name.
type Stack struct {
	Name           string              `json:"name"`
	SecurityGroups []SecurityGroupSpec `json:"securityGroups,omitempty"`
	Inputs         []InputSpec         `json:"inputs,omitempty"`
	Channels       []ChannelSpec       `json:"channels,omitempty"`
	Alarms         []AlarmSpec         `json:"alarms,omitempty"`
	Rules          []RuleSpec          `json:"rules,omitempty"`
	Distributions  []DistributionSpec  `json:"distributions,omitempty"`
	Presets        []PresetSpec        `json:"presets,omitempty"`
	Pipelines      []PipelineSpec      `json:"pipelines,omitempty"`
}

// Known tells a stack's validation which resources exist outside the stack
// (on the server); nil funcs know of none.
type Known struct {
	Inputs         func(name string) bool
	SecurityGroups func(name string) bool
}

func (k Known) input(name string) bool { return k.Inputs != nil && k.Inputs(name) }
func (k Known) group(name string) bool { return k.SecurityGroups != nil && k.SecurityGroups(name) }

// Validate checks every resource of the stack, that names are unique and
// that references resolve within the stack or among known resources.
func (s *Stack) Validate(known Known) error {
	var errs FieldErrors
	errs.CheckName("name", s.Name)
	groups := map[string]bool{}
	for i := range s.SecurityGroups {
		p := Index("securityGroups", i)
		errs.Merge(p, s.SecurityGroups[i].Validate())
		if n := s.SecurityGroups[i].Name; n != "" {
			if groups[n] {
				errs.Add(JoinPath(p, "name"), "security group "+quote(n)+" is declared twice")
			}
			groups[n] = true
		}
	}
	inputs := map[string]bool{}
	for i := range s.Inputs {
		p := Index("inputs", i)
		in := &s.Inputs[i]
		errs.Merge(p, in.Validate())
		if n := in.Name; n != "" {
			if inputs[n] {
				errs.Add(JoinPath(p, "name"), "input "+quote(n)+" is declared twice")
			}
			inputs[n] = true
		}
		for j, g := range in.SecurityGroups {
			if g != "" && !groups[g] && !known.group(g) {
				errs.Add(Index(JoinPath(p, "securityGroups"), j), "security group "+quote(g)+" is not declared in this stack")
			}
		}
	}
	channels := map[string]bool{}
	for i := range s.Channels {
		p := Index("channels", i)
		c := &s.Channels[i]
		errs.Merge(p, c.Validate())
		if channels[c.Name] && c.Name != "" {
			errs.Add(JoinPath(p, "name"), "channel "+quote(c.Name)+" is declared twice")
		}
		channels[c.Name] = true
		for j, a := range c.InputAttachments {
			ap := Index(JoinPath(p, "inputAttachments"), j)
			for key, ref := range map[string]string{"input": a.Input, "secondaryInput": a.SecondaryInput} {
				if ref == "" || inputs[ref] || known.input(ref) {
					continue
				}
				errs.Add(JoinPath(ap, key), "input "+quote(ref)+" is not declared in this stack")
			}
		}
	}
	alarms := map[string]bool{}
	for i := range s.Alarms {
		p := Index("alarms", i)
		errs.Merge(p, s.Alarms[i].Validate())
		if n := s.Alarms[i].Name; n != "" && alarms[n] {
			errs.Add(JoinPath(p, "name"), "alarm "+quote(n)+" is declared twice")
		}
		alarms[s.Alarms[i].Name] = true
	}
	rules := map[string]bool{}
	for i := range s.Rules {
		p := Index("rules", i)
		errs.Merge(p, s.Rules[i].Validate())
		if n := s.Rules[i].Name; n != "" && rules[n] {
			errs.Add(JoinPath(p, "name"), "rule "+quote(n)+" is declared twice")
		}
		rules[s.Rules[i].Name] = true
	}
	dists, listens := map[string]bool{}, map[string]string{}
	for i := range s.Distributions {
		p := Index("distributions", i)
		d := &s.Distributions[i]
		errs.Merge(p, d.Validate())
		if d.Name != "" && dists[d.Name] {
			errs.Add(JoinPath(p, "name"), "distribution "+quote(d.Name)+" is declared twice")
		}
		dists[d.Name] = true
		if other, ok := listens[d.Listen]; ok && d.Listen != "" {
			errs.Add(JoinPath(p, "listen"), "distribution "+quote(other)+" already listens on "+d.Listen)
		}
		listens[d.Listen] = d.Name
	}
	presets := map[string]bool{}
	for i := range s.Presets {
		p := Index("presets", i)
		errs.Merge(p, s.Presets[i].Validate())
		if n := s.Presets[i].Name; n != "" && presets[n] {
			errs.Add(JoinPath(p, "name"), "preset "+quote(n)+" is declared twice")
		}
		presets[s.Presets[i].Name] = true
	}
	pipelines := map[string]bool{}
	for i := range s.Pipelines {
		p := Index("pipelines", i)
		errs.Merge(p, s.Pipelines[i].Validate())
		if n := s.Pipelines[i].Name; n != "" && pipelines[n] {
			errs.Add(JoinPath(p, "name"), "pipeline "+quote(n)+" is declared twice")
		}
		pipelines[s.Pipelines[i].Name] = true
	}
	return errs.Err()
}
