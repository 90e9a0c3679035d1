package redundancy

import (
	"fmt"
	"strconv"

	"github.com/sluice-video/sluice/internal/resource"
)

// EventSwitched is the type of the event a Switch becomes.
const EventSwitched = "channel.pipeline.switched"

// Switch says the merged timeline of a channel takes its segments from
// another pipeline, from segment Segment on.
type Switch struct {
	Channel string
	// From and To are the pipelines' indexes.
	From, To int
	Segment  uint64
	// Reason says why, in words; Discontinuity says the switch starts a
	// new run (players see a discontinuity), and Reason then says why.
	Reason        string
	Discontinuity bool
}

// Message says what happened in words.
func (s Switch) Message() string {
	msg := fmt.Sprintf("channel %s: segment %d comes from pipeline %d instead of pipeline %d", s.Channel, s.Segment, s.To, s.From)
	if s.Reason != "" {
		msg += ": " + s.Reason
	}
	return msg
}

// Event returns the switch as an event of the channel.
func (s Switch) Event() resource.Event {
	return resource.Event{
		Type:     EventSwitched,
		Resource: "channel/" + s.Channel,
		Detail: map[string]string{
			"channel":       s.Channel,
			"from":          strconv.Itoa(s.From),
			"to":            strconv.Itoa(s.To),
			"segment":       strconv.FormatUint(s.Segment, 10),
			"reason":        s.Reason,
			"discontinuity": strconv.FormatBool(s.Discontinuity),
		},
		Message: s.Message(),
	}
}
