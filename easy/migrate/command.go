package migrate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"text/tabwriter"
)

// App is what the migrate command needs of a program's App: its Schema.
// *easy.App is one.
type App interface {
	Schema() (*Schema, error)
}

// usage is the command line's help.
const usage = `usage: migrate COMMAND

  status       list the migrations, and whether the database has each
  up           apply the pending migrations
  down         roll back the last migration applied
  create NAME  write a new, empty migration file
  plan         print the SQL AutoMigrate would run for the models, without running it
`

// Main runs the migrate command when args, the program's arguments
// (os.Args[1:], or flag.Args()), start with "migrate", and reports
// whether they did:
//
//	if migrate.Main(app, os.Args[1:]) {
//		return
//	}
//	log.Fatal(app.Run(":8000"))
//
// It writes what it did to standard output. On failure it prints the
// error to standard error and exits with status 1, or 2 for a command
// line it does not understand. An interrupt stops a wait for the lock.
func Main(app App, args []string) bool {
	if len(args) == 0 || args[0] != "migrate" {
		return false
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := Run(ctx, app, os.Stdout, args[1:]...)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		var u usageError
		if errors.As(err, &u) {
			fmt.Fprint(os.Stderr, usage)
			os.Exit(2)
		}
		os.Exit(1)
	}
	return true
}

// usageError is a command line Run does not understand.
type usageError string

func (e usageError) Error() string { return "migrate: " + string(e) }

// Run runs one command of the migrate command line (args without
// "migrate") on app's Schema, writing what it did to w.
func Run(ctx context.Context, app App, w io.Writer, args ...string) error {
	if len(args) == 0 {
		return usageError("no command")
	}
	cmd, args := args[0], args[1:]
	want := 0
	switch cmd {
	case "help", "-h", "-help", "--help":
		_, err := io.WriteString(w, usage)
		return err
	case "create":
		want = 1
	case "status", "up", "down", "plan":
	default:
		return usageError(fmt.Sprintf("unknown command %q", cmd))
	}
	if len(args) != want {
		return usageError(fmt.Sprintf("%s takes %d argument(s), not %d", cmd, want, len(args)))
	}
	s, err := app.Schema()
	if err != nil {
		return err
	}
	switch cmd {
	case "status":
		return status(ctx, s, w)
	case "up":
		applied, err := s.Up(ctx)
		for _, m := range applied {
			fmt.Fprintf(w, "applied %s\n", m.Name)
		}
		if err == nil && len(applied) == 0 {
			fmt.Fprintln(w, "no migration is pending")
		}
		return err
	case "down":
		m, err := s.Down(ctx)
		if err == nil {
			fmt.Fprintf(w, "rolled back %s\n", m.Name)
		}
		return err
	case "create":
		path, err := s.Create(args[0])
		if err == nil {
			fmt.Fprintf(w, "created %s\n", path)
		}
		return err
	default: // plan
		stmts, err := s.Plan(ctx)
		if err != nil {
			return err
		}
		if len(stmts) == 0 {
			fmt.Fprintln(w, "-- AutoMigrate has nothing to do: the tables match the models")
		}
		for _, stmt := range stmts {
			fmt.Fprintf(w, "%s;\n", stmt)
		}
		return nil
	}
}

// status writes the migrations as a table.
func status(ctx context.Context, s *Schema, w io.Writer) error {
	list, err := s.Status(ctx)
	if err != nil {
		return err
	}
	if len(list) == 0 {
		_, err := fmt.Fprintln(w, "there are no versioned migrations")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tSTATE\tAPPLIED AT (UTC)\tMIGRATION")
	for _, m := range list {
		state, at := "pending", ""
		if m.Applied {
			state, at = "applied", m.AppliedAt.UTC().Format("2006-01-02 15:04:05")
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", m.Version, state, at, m.Name)
	}
	return tw.Flush()
}
