package main

import (
	"fmt"
	"time"

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
	var replication, membership string
	var memberTimeout, electionDelay time.Duration
	backend := &cobra.Command{
		Use:   "backend --nodes N [--replication MODE] [--membership MODE]",
		Short: "Serve the cluster behind N proxy-mode test brokers until Ctrl-C; print its URL and what it does as nodes come and go",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			mode, err := testbroker.ParseReplication(replication)
			if err != nil {
				return exitcode.Usagef("--replication: %v", err)
			}
			member, err := testbroker.ParseMembership(membership)
			if err != nil {
				return exitcode.Usagef("--membership: %v", err)
			}
			if memberTimeout <= 0 || electionDelay < 0 {
				return exitcode.Usagef("--membership-timeout must be positive and --election-delay not negative")
			}
			b, err := testbroker.StartBackend(nodes, testbroker.WithReplication(mode),
				testbroker.WithMembership(member, memberTimeout, electionDelay))
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
	backend.Flags().StringVar(&membership, "membership", "off",
		"who may lead, from the nodes' heartbeats through their peer links (nodes need --raft-listen and --peers): off; healthy (Raft-like: "+
			"a node leads only while it and a majority hear each other; an isolated leader's acks=all writes time out, its acks=1 writes are "+
			"orphaned, discarded once its leadership moved); split-brain (a partitioned node keeps its leadership and its writes); ack-drop (an isolated leader "+
			"acknowledges acks=all writes and drops them). It stages the runner's network faults and verdicts; it is no real broker's behaviour")
	backend.Flags().DurationVar(&memberTimeout, "membership-timeout", testbroker.DefaultMembershipTimeout,
		"a node that does not hear a majority, both ways, for this long loses its majority")
	backend.Flags().DurationVar(&electionDelay, "election-delay", testbroker.DefaultElectionDelay,
		"how long a node that lost its majority keeps its leadership, its writes held, before it moves")
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
