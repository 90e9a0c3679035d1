package resource

// Stack is a named set of resources that apply, plan and destroy manage
// together. A resource created by a stack carries the stack's name.
type Stack struct {
	Name     string        `json:"name"`
	Inputs   []InputSpec   `json:"inputs,omitempty"`
	Channels []ChannelSpec `json:"channels,omitempty"`
}

// Validate checks every resource of the stack and that names are unique and
// references resolve within the stack or among known inputs.
func (s *Stack) Validate(knownInputs func(name string) bool) error {
	var errs FieldErrors
	errs.CheckName("name", s.Name)
	inputs := map[string]bool{}
	for i := range s.Inputs {
		p := Index("inputs", i)
		errs.Merge(p, s.Inputs[i].Validate())
		if n := s.Inputs[i].Name; n != "" {
			if inputs[n] {
				errs.Add(JoinPath(p, "name"), "input "+quote(n)+" is declared twice")
			}
			inputs[n] = true
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
			if a.Input == "" || inputs[a.Input] || (knownInputs != nil && knownInputs(a.Input)) {
				continue
			}
			errs.Add(JoinPath(Index(JoinPath(p, "inputAttachments"), j), "input"), "input "+quote(a.Input)+" is not declared in this stack")
		}
	}
	return errs.Err()
}
