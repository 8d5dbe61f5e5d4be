package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/chronik-e2e/chronik-e2e/pkg/exitcode"
	"github.com/chronik-e2e/chronik-e2e/pkg/term"
	"github.com/chronik-e2e/chronik-e2e/pkg/testbroker"
)

// newInternalCmd returns `chronik-e2e internal`, hidden from help: the
// project's own small broker program for testing spawn mode with real
// processes (see pkg/testbroker).
func newInternalCmd(t *term.Terminal) *cobra.Command {
	cmd := &cobra.Command{
		Use:    "internal",
		Short:  "Programs for the project's own tests",
		Hidden: true,
		Args:   noArgs,
		RunE:   func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	broker := &cobra.Command{
		Use:                "broker --listen HOST:PORT [flags]",
		Short:              "Serve one test broker node until SIGTERM (" + testbroker.Usage + ")",
		DisableFlagParsing: true,
		RunE: func(_ *cobra.Command, args []string) error {
			return exitStatus(testbroker.Main(args, t.Out, t.ErrOut))
		},
	}
	placement := &cobra.Command{
		Use:                "placement --backend URL --index I --topic TOPIC",
		Short:              "Print what one test broker node holds of a topic (" + testbroker.PlacementUsage + ")",
		DisableFlagParsing: true,
		RunE: func(_ *cobra.Command, args []string) error {
			return exitStatus(testbroker.Placement(args, t.Out, t.ErrOut))
		},
	}
	var nodes int
	var replication string
	backend := &cobra.Command{
		Use:   "backend --nodes N [--replication MODE]",
		Short: "Serve the cluster behind N proxy-mode test brokers until Ctrl-C; print its URL and what it does as nodes come and go",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			mode, err := testbroker.ParseReplication(replication)
			if err != nil {
				return exitcode.Usagef("--replication: %v", err)
			}
			b, err := testbroker.StartBackend(nodes, testbroker.WithReplication(mode))
			if err != nil {
				return exitcode.ClusterError(err, "")
			}
			defer b.Close()
			fmt.Fprintf(t.Out, "backend: %s\n", b.URL())
			b.SetLog(t.Out)
			<-cmd.Context().Done()
			return nil
		},
	}
	backend.Flags().IntVar(&nodes, "nodes", 3, "brokers of the backend cluster")
	backend.Flags().StringVar(&replication, "replication", "kfake",
		"how metadata shows replication and what each node holds: kfake (replicas and ISR are the brokers up), healthy, isr-lies, leader-only (Chronik #29)")
	cmd.AddCommand(broker, backend, placement)
	return cmd
}

// exitStatus turns a program's exit status into an error carrying it,
// which the root does not print again (the program has said why).
func exitStatus(code int) error {
	if code == 0 {
		return nil
	}
	return &exitcode.Error{Code: code, Err: &runFailedError{}}
}
