package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluice-video/sluice/internal/auth"
)

const backendHelp = `With --data (the server's data directory, for SQLite) or --database
(PostgreSQL), the command works on the state store directly: it needs no
running server and no token, so it makes the first admin of a new server or
one whose admins are all locked out; whoever may read the data directory or
the database may do so anyway. Without them it goes through the API of
--server and needs an admin's token (--token, SLUICE_TOKEN).`

func newUserCmd(g *globals) *cobra.Command {
	var sf storeFlags
	cmd := &cobra.Command{
		Use:     "user",
		Aliases: []string{"users"},
		Short:   "Add, list, change and remove the people who log in, with their roles",
		Long: `user manages the people who log in to the console and the API, each with a
role: viewer (reads, secrets hidden), operator (also starts and stops
channels, submits and cancels jobs, harvests) or admin (everything).

Passwords are never flag values: --password-file names a file that holds
the password, or - for standard input.

` + backendHelp,
	}
	sf.add(cmd)
	var role, passwordFile string
	add := &cobra.Command{
		Use:   "add NAME --role admin|operator|viewer --password-file FILE",
		Short: "Add a user",
		Example: `  sluice user add ana --role operator --password-file - <<< "$PASSWORD"
  sluice user add root --role admin --password-file pw.txt --data /var/lib/sluice`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := auth.ParseRole(role)
			if err != nil {
				return fmt.Errorf("--role: %w", err)
			}
			pw, err := readPassword(passwordFile, cmd.InOrStdin())
			if err != nil {
				return err
			}
			b, err := sf.backend(cmd.Context(), g, "sluice user add")
			if err != nil {
				return err
			}
			defer b.close()
			u, err := b.addUser(cmd.Context(), args[0], r, pw)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(g.stdout, "user %s added with the role %s\n", u.Name, u.Role)
			return err
		},
	}
	add.Flags().StringVar(&role, "role", "", "admin, operator or viewer")
	add.Flags().StringVar(&passwordFile, "password-file", "", "file holding the password (- for standard input)")

	setRoleCmd := &cobra.Command{
		Use:   "set-role NAME ROLE",
		Short: "Give a user another role (their logins have it at once)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := auth.ParseRole(args[1])
			if err != nil {
				return err
			}
			b, err := sf.backend(cmd.Context(), g, "sluice user set-role")
			if err != nil {
				return err
			}
			defer b.close()
			u, err := b.setRole(cmd.Context(), args[0], r)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(g.stdout, "user %s has the role %s\n", u.Name, u.Role)
			return err
		},
	}
	var pwFile string
	setPassword := &cobra.Command{
		Use:   "set-password NAME --password-file FILE",
		Short: "Set a user's password (their logins end)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pw, err := readPassword(pwFile, cmd.InOrStdin())
			if err != nil {
				return err
			}
			b, err := sf.backend(cmd.Context(), g, "sluice user set-password")
			if err != nil {
				return err
			}
			defer b.close()
			if err := b.setPassword(cmd.Context(), args[0], pw); err != nil {
				return err
			}
			_, err = fmt.Fprintf(g.stdout, "the password of %s is set; their logins have ended\n", args[0])
			return err
		},
	}
	setPassword.Flags().StringVar(&pwFile, "password-file", "", "file holding the password (- for standard input)")
	remove := &cobra.Command{
		Use:   "remove NAME",
		Short: "Remove a user (their logins end; the last admin stays)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := sf.backend(cmd.Context(), g, "sluice user remove")
			if err != nil {
				return err
			}
			defer b.close()
			if err := b.removeUser(cmd.Context(), args[0]); err != nil {
				return err
			}
			_, err = fmt.Fprintf(g.stdout, "user %s removed\n", args[0])
			return err
		},
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "List the users and their roles",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, err := sf.backend(cmd.Context(), g, "sluice user list")
			if err != nil {
				return err
			}
			defer b.close()
			users, err := b.users(cmd.Context())
			if err != nil {
				return err
			}
			if j, err := g.wantJSON(); err != nil || j {
				return orJSON(g, err, users)
			}
			tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
			_, _ = fmt.Fprintln(tw, "NAME\tROLE\tCREATED\tCHANGED")
			for _, u := range users {
				_, _ = fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", u.Name, u.Role, localTime(u.CreatedAt), localTime(u.UpdatedAt))
			}
			return tw.Flush()
		},
	}
	cmd.AddCommand(add, list, setRoleCmd, setPassword, remove)
	return cmd
}

// readPassword reads a password from a file, or standard input for "-":
// its first line, without the line end. A password is never a flag's
// value, which the process list and shell histories would show.
func readPassword(file string, stdin io.Reader) (string, error) {
	if file == "" {
		return "", errors.New("give the password with --password-file FILE, or --password-file - to read it from standard input")
	}
	rd := stdin
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return "", fmt.Errorf("--password-file: %w", err)
		}
		defer func() { _ = f.Close() }()
		rd = f
	}
	line, err := bufio.NewReader(io.LimitReader(rd, auth.MaxPasswordBytes+2)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("reading the password: %w", err)
	}
	pw := strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if pw == "" {
		return "", errors.New("the password is empty")
	}
	return pw, nil
}

func localTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04:05")
}

func newTokenCmd(g *globals) *cobra.Command {
	var sf storeFlags
	cmd := &cobra.Command{
		Use:     "token",
		Aliases: []string{"tokens"},
		Short:   "Make, list and revoke named API tokens for machines, each with a role",
		Long: `token manages named API tokens: each has a role (viewer, operator or admin)
and is sent as Authorization: Bearer <token>. A token is printed once, when
it is made; the server keeps only its SHA-256. The server's --token stays an
admin token.

` + backendHelp,
	}
	sf.add(cmd)
	var role string
	add := &cobra.Command{
		Use:     "add NAME --role admin|operator|viewer",
		Short:   "Make a token and print it (the only time it is shown)",
		Example: `  sluice token add ci --role operator`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := auth.ParseRole(role)
			if err != nil {
				return fmt.Errorf("--role: %w", err)
			}
			b, err := sf.backend(cmd.Context(), g, "sluice token add")
			if err != nil {
				return err
			}
			defer b.close()
			secret, t, err := b.addToken(cmd.Context(), args[0], r)
			if err != nil {
				return err
			}
			_, _ = fmt.Fprintf(g.stderr, "token %s made with the role %s; it is shown this once:\n", t.Name, t.Role)
			_, err = fmt.Fprintln(g.stdout, secret)
			return err
		},
	}
	add.Flags().StringVar(&role, "role", "", "admin, operator or viewer")
	list := &cobra.Command{
		Use:   "list",
		Short: "List the named tokens and their roles (never the tokens)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			b, err := sf.backend(cmd.Context(), g, "sluice token list")
			if err != nil {
				return err
			}
			defer b.close()
			tokens, err := b.tokens(cmd.Context())
			if err != nil {
				return err
			}
			if j, err := g.wantJSON(); err != nil || j {
				return orJSON(g, err, tokens)
			}
			tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
			_, _ = fmt.Fprintln(tw, "NAME\tROLE\tCREATED")
			for _, t := range tokens {
				_, _ = fmt.Fprintf(tw, "%s\t%s\t%s\n", t.Name, t.Role, localTime(t.CreatedAt))
			}
			return tw.Flush()
		},
	}
	remove := &cobra.Command{
		Use:   "remove NAME",
		Short: "Revoke a token",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := sf.backend(cmd.Context(), g, "sluice token remove")
			if err != nil {
				return err
			}
			defer b.close()
			if err := b.removeToken(cmd.Context(), args[0]); err != nil {
				return err
			}
			_, err = fmt.Fprintf(g.stdout, "token %s revoked\n", args[0])
			return err
		},
	}
	cmd.AddCommand(add, list, remove)
	return cmd
}

func newAuditCmd(g *globals) *cobra.Command {
	var sf storeFlags
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Read the audit log of changes and logins",
		Long: `audit reads the audit log: every change made through the API, the console or
the command line, every refused attempt at one and every login, with who,
what, when and from where, newest first.

` + backendHelp,
	}
	sf.add(cmd)
	var q auth.AuditQuery
	var since, until string
	list := &cobra.Command{
		Use:     "list",
		Short:   "List audit entries, newest first",
		Example: `  sluice audit list --actor ana --kind channels --since 2026-12-01T00:00:00Z`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if q.Since, err = parseFlagTime("--since", since); err != nil {
				return err
			}
			if q.Until, err = parseFlagTime("--until", until); err != nil {
				return err
			}
			if q.Limit < 1 || q.Limit > 1000 {
				return fmt.Errorf("--limit %d: from 1 to 1000", q.Limit)
			}
			b, err := sf.backend(cmd.Context(), g, "sluice audit list")
			if err != nil {
				return err
			}
			defer b.close()
			entries, next, err := b.audit(cmd.Context(), q)
			if err != nil {
				return err
			}
			if j, err := g.wantJSON(); err != nil || j {
				return orJSON(g, err, map[string]any{"entries": entries, "next": next})
			}
			tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
			_, _ = fmt.Fprintln(tw, "TIME\tACTOR\tFROM\tMETHOD\tROUTE\tKIND\tNAME\tSTATUS")
			for _, e := range entries {
				_, _ = fmt.Fprintf(tw, "%s\t%s (%s)\t%s\t%s\t%s\t%s\t%s\t%d\n", e.At.Local().Format("2006-01-02 15:04:05.000"),
					e.Actor, e.ActorKind, e.Address, e.Method, e.Route, dash(e.Kind), dash(e.Name), e.Status)
			}
			if next != 0 {
				_, _ = fmt.Fprintf(tw, "(more: --before %d)\n", next)
			}
			return tw.Flush()
		},
	}
	f := list.Flags()
	f.StringVar(&q.Actor, "actor", "", "only entries of this user or token (or local, anonymous, cli:<user>)")
	f.StringVar(&q.Kind, "kind", "", "only entries about this collection: channels, inputs, users, session, …")
	f.StringVar(&since, "since", "", "only entries at or after this RFC 3339 time")
	f.StringVar(&until, "until", "", "only entries before this RFC 3339 time")
	f.Int64Var(&q.Before, "before", 0, "the page before this sequence number (printed after a full page)")
	f.IntVar(&q.Limit, "limit", 100, "entries at most, from 1 to 1000")
	cmd.AddCommand(list)
	return cmd
}

func parseFlagTime(flag, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return t, fmt.Errorf("%s %q: an RFC 3339 time such as 2026-12-01T09:00:00Z", flag, s)
	}
	return t, nil
}
