package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/chronik-e2e/chronik-e2e/pkg/exitcode"
	"github.com/chronik-e2e/chronik-e2e/pkg/report"
	"github.com/chronik-e2e/chronik-e2e/pkg/safe"
	"github.com/chronik-e2e/chronik-e2e/pkg/term"
)

// run executes the command line and maps its outcome to an exit code; it is
// the one place errors are printed. A run a stop signal ended exits with
// 128+signal, as a shell reports a process the signal killed, once it has
// stopped what it started and written its reports.
func run() int {
	ctx, sigs := catchSignals(context.Background())
	defer sigs.stop()
	t := term.System()
	code := execute(ctx, t, newRootCmd(t), os.Args[1:])
	if sig, ok := sigs.received(); ok && code != exitcode.OK {
		return exitCode(sig)
	}
	return code
}

// execute runs the command line args with root and returns the exit code.
// A panic in a command is an internal error: exit 5, said in a few lines.
func execute(ctx context.Context, t *term.Terminal, root *cobra.Command, args []string) int {
	root.SetArgs(args)
	var rec *safe.Recorder // recovers without recording: the error says it all
	err := rec.Call(strings.TrimSpace("chronik-e2e "+strings.Join(args, " ")), func() error {
		return root.ExecuteContext(ctx)
	})
	return reportError(t, err)
}

// reportError prints err once, in our words, and returns its exit code.
func reportError(t *term.Terminal, err error) int {
	if err == nil {
		return exitcode.OK
	}
	var p *safe.PanicError
	if errors.As(err, &p) {
		reportPanic(t, p)
		return exitcode.Internal
	}
	var failed *runFailedError
	if !errors.As(err, &failed) {
		fmt.Fprintf(t.ErrOut, "chronik-e2e: %v\n", err)
		if hint := exitcode.Hint(err); hint != "" {
			fmt.Fprintf(t.ErrOut, "hint: %s\n", hint)
		}
	}
	return exitcode.Code(err)
}

// reportPanic says what panicked and where, with the top of its stack, and
// writes the full stack to a file to attach to a bug report: never a
// goroutine dump on stderr.
func reportPanic(t *term.Terminal, p *safe.PanicError) {
	fmt.Fprintf(t.ErrOut, "chronik-e2e: %v\n", p)
	for i, l := range report.StackTop(p.Stack, 3) {
		fmt.Fprintf(t.ErrOut, "    %s%s\n", strings.Repeat("    ", i%2), l)
	}
	hint := "please report it with the lines above"
	if f, err := os.CreateTemp("", "chronik-e2e-panic-*.txt"); err == nil {
		_, err = fmt.Fprintf(f, "%v\n\n%s", p, p.Stack)
		if err = errors.Join(err, f.Close()); err == nil {
			hint = "please report it with the full stack, written to " + f.Name()
		}
	}
	fmt.Fprintf(t.ErrOut, "hint: %s\n", hint)
}

// runFailedError is a run whose report says FAILED: the report already told
// the user why, so nothing more is printed.
type runFailedError struct{}

func (*runFailedError) Error() string { return "the run failed" }

// unknownCommand is bad usage (exit 2): root has no command name; the
// commands close to it are suggested.
func unknownCommand(root *cobra.Command, name string) error {
	msg := fmt.Sprintf("unknown command %q", name)
	if s := root.SuggestionsFor(name); len(s) > 0 {
		msg += fmt.Sprintf(" (did you mean %s?)", strings.Join(s, " or "))
	}
	return exitcode.Usagef("%s; run chronik-e2e --help for the commands", msg)
}

// noArgs rejects arguments, as bad usage (exit 2).
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return exitcode.Usagef("%s takes no arguments, not %q", cmd.Name(), strings.Join(args, " "))
	}
	return nil
}

func newRootCmd(t *term.Terminal) *cobra.Command {
	root := &cobra.Command{
		Use:   "chronik-e2e",
		Short: "End-to-end test runner for Kafka-compatible clusters",
		Long: `chronik-e2e starts (or attaches to) a Kafka-compatible cluster, runs scenarios
against it (topic creation, keyed produce, verified consume, partition
metadata), and reports a verdict that never lies: PASSED means every
acknowledged message was read back exactly once, in order, from a cluster
shaped as the profile says.

Exit status: 0 passed, 1 a scenario failed, 2 bad usage or profile,
3 the cluster could not be started or reached, 4 every check passed but a
threshold or the baseline comparison failed, 5 internal error: this is a bug
in chronik-e2e (the report shows the stack).`,
		// Without Args, cobra reports an unknown command as a plain error
		// (exit 1); with Args but no RunE, it prints the help and exits 0.
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return unknownCommand(cmd, args[0])
			}
			return nil
		},
		RunE:                       func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
		SuggestionsMinimumDistance: 2,
		SilenceErrors:              true,
		SilenceUsage:               true,
	}
	root.SetOut(t.Out)
	root.SetErr(t.ErrOut)
	root.Version = versionString()
	root.SetVersionTemplate(versionLine() + "\n")
	addGlobalFlags(root, t)
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		// `chronik-e2e rn --profile 3x3`: the root does not know --profile,
		// but the unknown command is the mistake to report.
		if !cmd.HasParent() && cmd.Flags().NArg() > 0 {
			return unknownCommand(cmd, cmd.Flags().Arg(0))
		}
		return flagError(cmd, err)
	})
	root.AddCommand(newRunCmd(t, nil), newScenarioCmd(t, nil), newScenariosCmd(t), newVersionCmd(t))
	root.AddCommand(newReportCmd(t), newMetricsCmd(t))
	root.AddCommand(newClusterCmd(t, nil), newInternalCmd(t))
	root.AddCommand(newTopicsCmd(t), newProfilesCmd(t), newProfileCmd(t), newBenchCmd(t, nil))
	return root
}
