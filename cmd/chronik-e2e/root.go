package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/chronik-e2e/chronik-e2e/pkg/exitcode"
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
	cmd := newRootCmd(t)
	cmd.SetArgs(os.Args[1:])
	err := cmd.ExecuteContext(ctx)
	code := reportError(t, err)
	if sig, ok := sigs.received(); ok && err != nil {
		return exitCode(sig)
	}
	return code
}

// reportError prints err once, in our words, and returns its exit code.
func reportError(t *term.Terminal, err error) int {
	if err == nil {
		return exitcode.OK
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
threshold or the baseline comparison failed.`,
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
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		// `chronik-e2e rn --profile 3x3`: the root does not know --profile,
		// but the unknown command is the mistake to report.
		if !cmd.HasParent() && cmd.Flags().NArg() > 0 {
			return unknownCommand(cmd, cmd.Flags().Arg(0))
		}
		return exitcode.UsageError(err)
	})
	root.AddCommand(newRunCmd(t, nil), newScenarioCmd(t, nil), newScenariosCmd(t), newVersionCmd(t))
	root.AddCommand(newReportCmd(t), newMetricsCmd(t))
	root.AddCommand(newClusterCmd(t, nil), newInternalCmd(t))
	return root
}
