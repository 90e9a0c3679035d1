package cli

import (
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluice-video/sluice/internal/resource"
)

// newAlarmsSilenceCmd silences an alarm for a duration or until a time.
func newAlarmsSilenceCmd(g *globals) *cobra.Command {
	var (
		forDur  time.Duration
		until   string
		comment string
	)
	cmd := &cobra.Command{
		Use:   "silence ALARM",
		Short: "Silence an alarm: it is still evaluated, but no action runs until the silence ends",
		Long: `Silence an alarm for a duration (--for) or until a time (--until, RFC 3339).
While silenced the alarm is still evaluated, changes state and keeps its
history, but neither its actions nor the rules on its state changes run.
An alarm that went to ALARM while silenced and is still there when the
silence ends runs its alarm actions then, unless it was acknowledged.
'sluice alarm unsilence' ends a silence early.`,
		Example: `  sluice alarm silence encoder-slow --for 1h --comment "encoder maintenance"
  sluice alarm silence encoder-slow --until 2026-12-01T09:00:00Z`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := resource.SilenceRequest{Until: until, Comment: comment}
			switch {
			case forDur != 0 && until != "":
				return errors.New("give --for or --until, not both")
			case forDur < 0 || (forDur > 0 && forDur%time.Second != 0):
				return fmt.Errorf("--for %s: a duration of whole seconds, such as 90m or 2h", forDur)
			case forDur > 0:
				req.DurationSeconds = int64(forDur / time.Second)
			case until == "":
				return errors.New("say how long: --for 1h, or --until 2026-12-01T09:00:00Z")
			}
			return g.alarmNote(cmd, "POST", args[0], "/silence", req)
		},
	}
	cmd.Flags().DurationVar(&forDur, "for", 0, "how long the silence lasts (e.g. 30m, 2h)")
	cmd.Flags().StringVar(&until, "until", "", "when the silence ends (RFC 3339)")
	cmd.Flags().StringVar(&comment, "comment", "", "why (recorded in the alarm's history)")
	return cmd
}

// newAlarmsUnsilenceCmd ends a silence now.
func newAlarmsUnsilenceCmd(g *globals) *cobra.Command {
	var comment string
	cmd := &cobra.Command{
		Use:   "unsilence ALARM",
		Short: "End an alarm's silence now",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.alarmNote(cmd, "DELETE", args[0], "/silence", resource.UnsilenceRequest{Comment: comment})
		},
	}
	cmd.Flags().StringVar(&comment, "comment", "", "why (recorded in the alarm's history)")
	return cmd
}

// newAlarmsAckCmd acknowledges an alarm in ALARM.
func newAlarmsAckCmd(g *globals) *cobra.Command {
	var comment string
	cmd := &cobra.Command{
		Use:     "ack ALARM",
		Aliases: []string{"acknowledge"},
		Short:   "Acknowledge an alarm in ALARM: it does not notify again until it leaves ALARM",
		Example: `  sluice alarm ack encoder-slow --comment "looking at it"`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.alarmNote(cmd, "POST", args[0], "/acknowledge", resource.AcknowledgeRequest{Comment: comment})
		},
	}
	cmd.Flags().StringVar(&comment, "comment", "", "a note (recorded in the alarm's history)")
	return cmd
}

// alarmNote sends a silence, its end or an acknowledgement and says what
// the alarm is now.
func (g *globals) alarmNote(cmd *cobra.Command, method, ref, suffix string, body any) error {
	c, err := g.client()
	if err != nil {
		return err
	}
	var a resource.Alarm
	if err := c.do(cmd.Context(), method, "/api/v1/alarms/"+url.PathEscape(ref)+suffix, body, &a); err != nil {
		return err
	}
	if j, err := g.wantJSON(); err != nil || j {
		if err != nil {
			return err
		}
		return g.printJSON(a)
	}
	_, _ = fmt.Fprintln(g.stdout, alarmStatus(a))
	return nil
}

// alarmStatus says an alarm's state, silence and acknowledgement in a line.
func alarmStatus(a resource.Alarm) string {
	s := fmt.Sprintf("alarm %s: %s", a.Name, a.State)
	if a.Silence != nil {
		s += fmt.Sprintf(", silenced until %s by %s", a.Silence.Until.Local().Format("2006-01-02 15:04:05"), a.Silence.By)
	} else {
		s += ", not silenced"
	}
	if a.Acknowledgement != nil {
		s += ", acknowledged by " + a.Acknowledgement.By
	}
	return s
}
