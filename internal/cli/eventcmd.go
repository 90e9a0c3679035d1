package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sluice-video/sluice/internal/resource"
)

// eventPage mirrors the API's page of the event history.
type eventPage struct {
	Events []resource.Event `json:"events"`
	Next   uint64           `json:"next"`
}

func newEventsCmd(g *globals) *cobra.Command {
	var (
		limit  int
		after  uint64
		typ    string
		follow bool
	)
	cmd := &cobra.Command{
		Use:   "events",
		Short: "Show recent events (channel states, input loss and switches, alarms); --follow streams new ones",
		Long: `Show the most recent events the server keeps, oldest first: channel state
changes, input loss, restore and switch, alarm transitions, segment gaps.

With --follow the command keeps running and prints every new event as the
server publishes it (a server-sent event stream), until interrupted.
--type filters by event type; "channel.*" matches every channel event.
--after N starts after event number N (the "#N" of each line), so that a
follower misses nothing published since it last looked.`,
		Example: `  sluice events --limit 20
  sluice events --type channel.state_changed --follow
  sluice events -o json --follow | jq .`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if limit < 0 || limit > 10000 {
				return fmt.Errorf("--limit %d: use 0 to 10000", limit)
			}
			asJSON, err := g.wantJSON()
			if err != nil {
				return err
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			recent, last, err := recentEvents(cmd.Context(), c, after, typ, limit)
			if err != nil {
				return err
			}
			for _, e := range recent {
				if err := g.printEvent(e, asJSON); err != nil {
					return err
				}
			}
			if !follow {
				return nil
			}
			err = c.stream(cmd.Context(), "/api/v1/events/stream?after="+strconv.FormatUint(last, 10)+"&type="+url.QueryEscape(typ), func(e resource.Event) error {
				return g.printEvent(e, asJSON)
			})
			if errors.Is(err, context.Canceled) {
				return nil
			}
			return err
		},
	}
	f := cmd.Flags()
	f.IntVar(&limit, "limit", 50, "how many of the most recent events to show (0: none, only follow)")
	f.Uint64Var(&after, "after", 0, "show only events after this event number")
	f.StringVar(&typ, "type", "", `event type to show, e.g. channel.state_changed or "channel.*"`)
	f.BoolVarP(&follow, "follow", "f", false, "keep printing new events as they happen")
	return cmd
}

// recentEvents pages through the kept history and returns its last limit
// matching events and the Seq of the newest match: following from there
// misses no matching event, even one published meanwhile.
func recentEvents(ctx context.Context, c *client, after uint64, typ string, limit int) ([]resource.Event, uint64, error) {
	var keep []resource.Event
	for {
		var p eventPage
		q := "/api/v1/events?limit=1000&after=" + strconv.FormatUint(after, 10)
		if typ != "" {
			q += "&type=" + url.QueryEscape(typ)
		}
		if err := c.do(ctx, "GET", q, nil, &p); err != nil {
			return nil, 0, err
		}
		keep = append(keep, p.Events...)
		if len(keep) > limit {
			keep = keep[len(keep)-limit:]
		}
		if len(p.Events) == 0 || p.Next <= after {
			break
		}
		after = p.Next
	}
	sort.Slice(keep, func(i, j int) bool { return keep[i].Seq < keep[j].Seq })
	return keep, after, nil
}

func (g *globals) printEvent(e resource.Event, asJSON bool) error {
	if asJSON {
		data, err := json.Marshal(e)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(g.stdout, string(data))
		return err
	}
	_, err := fmt.Fprintf(g.stdout, "%s  #%d  %-22s %-24s %s\n",
		e.At.Local().Format("2006-01-02 15:04:05.000"), e.Seq, e.Type, dash(e.Resource), e.Message)
	return err
}

// stream reads a server-sent event stream and hands each event to fn
// until the context ends, the server closes the stream or fn fails.
func (c *client) stream(ctx context.Context, path string, fn func(resource.Event) error) error {
	req, err := http.NewRequestWithContext(ctx, "GET", c.base+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "text/event-stream")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	// No overall timeout: the stream lasts as long as the caller wants.
	resp, err := (&http.Client{Transport: c.http.Transport}).Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("cannot reach the Sluice server at %s: %w", c.base, err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("GET %s: %s: %s", path, resp.Status, strings.TrimSpace(string(body)))
	}
	return readSSE(resp.Body, fn)
}

// readSSE parses a text/event-stream body: each event's data lines are
// joined and decoded as one event; comments and other fields are skipped.
func readSSE(r io.Reader, fn func(resource.Event) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	var data strings.Builder
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if data.Len() == 0 {
				continue
			}
			var e resource.Event
			if err := json.Unmarshal([]byte(data.String()), &e); err != nil {
				return fmt.Errorf("unreadable event from the server: %w", err)
			}
			data.Reset()
			if err := fn(e); err != nil {
				return err
			}
		case strings.HasPrefix(line, "data:"):
			if data.Len() > 0 {
				data.WriteByte('\n')
			}
			data.WriteString(strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " "))
		}
	}
	return sc.Err()
}
