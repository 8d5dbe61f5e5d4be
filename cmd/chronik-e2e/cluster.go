package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/chronik-e2e/chronik-e2e/pkg/cluster"
	"github.com/chronik-e2e/chronik-e2e/pkg/exitcode"
	"github.com/chronik-e2e/chronik-e2e/pkg/profile"
	"github.com/chronik-e2e/chronik-e2e/pkg/report"
	"github.com/chronik-e2e/chronik-e2e/pkg/runner"
	"github.com/chronik-e2e/chronik-e2e/pkg/term"
)

// ClusterUpOptions are what `cluster up` takes from its flags.
type ClusterUpOptions struct {
	Profile  string // --profile: a path or a profile name; empty: the built-in default
	JSONPath string // --json: where to write the nodes and bootstrap addresses once ready
	Keep     bool   // --keep: keep a spawned cluster's work dir after a clean stop
}

// newClusterCmd returns `chronik-e2e cluster`, whose one command is up.
func newClusterCmd(t *term.Terminal, runF func(*ClusterUpOptions) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cluster",
		Short: "Start a profile's cluster and keep it running for other tools (cluster up)",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return exitcode.Usagef("unknown command %q for chronik-e2e cluster (known: up)", args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newClusterUpCmd(t, runF))
	return cmd
}

// newClusterUpCmd returns `chronik-e2e cluster up`; runF replaces the run in flag-parsing tests.
func newClusterUpCmd(t *term.Terminal, runF func(*ClusterUpOptions) error) *cobra.Command {
	o := &ClusterUpOptions{}
	cmd := &cobra.Command{
		Use:   "up --profile PROFILE",
		Short: "Start the profile's cluster (embedded or spawn), print its nodes and bootstrap line, run until Ctrl-C",
		Long: `Starts the profile's cluster (embedded, or the spawned processes of spawn mode),
waits until it is ready, prints a table of its nodes (id, pid, ports, log file)
and then a line "bootstrap: host:port,..." on stdout, and keeps it running until
Ctrl-C or SIGTERM, which stop every node. Point kcat, kafka-console-* or
another "chronik-e2e run --bootstrap ..." at it meanwhile.

Exit status: 0 after Ctrl-C or SIGTERM, 2 bad usage or profile, 3 the cluster
could not be started or a node exited while it ran, 5 an internal error (a bug
in chronik-e2e).`,
		Example: `  chronik-e2e cluster up --profile 3x3
  CHRONIK_BIN=./chronik-server chronik-e2e cluster up --profile chronik-3x3 --keep

  # from a script: start it, wait for the JSON, attach a run to it
  chronik-e2e cluster up --profile 3x3 --json up.json & until [ -f up.json ]; do sleep 0.2; done
  chronik-e2e run --profile 3x3 --bootstrap "$(jq -r '.bootstrap | join(",")' up.json)"`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if runF != nil {
				return runF(o)
			}
			return runClusterUp(cmd.Context(), t, o)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.Profile, "profile", "p", "", "profile: a YAML path, or a name looked up in ./configs and then among the built-in profiles")
	f.StringVar(&o.JSONPath, "json", "", "once the cluster is ready, write its nodes and bootstrap addresses to this file as JSON")
	f.BoolVar(&o.Keep, "keep", false, "spawn mode: keep the nodes' work dir (files, data, logs) after a clean stop")
	return cmd
}

// clusterUpState is what --json writes once the cluster is ready.
type clusterUpState struct {
	Profile   string          `json:"profile"`
	Mode      string          `json:"mode"`
	Bootstrap []string        `json:"bootstrap"`
	Brokers   []report.Broker `json:"brokers"`
	Nodes     []report.Node   `json:"nodes"`
	WorkDir   string          `json:"work_dir,omitempty"`
}

// runClusterUp starts the cluster, prints it, and runs it until ctx ends
// (Ctrl-C, SIGTERM) or a node exits.
func runClusterUp(ctx context.Context, t *term.Terminal, o *ClusterUpOptions) error {
	p, err := loadProfile(ctx, &RunOptions{Profile: o.Profile})
	if err != nil {
		return err
	}
	if p.Cluster.Mode == profile.ModeAttach {
		return exitcode.Usagef("cluster up starts a cluster, but profile %s attaches to one (cluster.mode: attach): use an embedded or spawn profile", p.Name)
	}
	if err := checkJSONPath(o.JSONPath); err != nil {
		return err
	}
	status := func(format string, args ...any) {
		if t.IsErrTTY() {
			fmt.Fprintf(t.ErrOut, format+"\n", args...)
		}
	}
	status("profile %s (%s): starting %s %s cluster of %d node(s)", p.Name, p.Source, article(p.Cluster.Mode), p.Cluster.Mode, p.Cluster.Nodes)

	lc, err := runner.StartCluster(ctx, p, runner.ClusterOptions{Name: p.Name + "-up", Status: status})
	if err != nil {
		if ctx.Err() != nil {
			return interruptedBeforeReady(ctx, "while its nodes were starting")
		}
		return err
	}
	failed := false
	defer func() {
		status("stopping the cluster …")
		if !lc.Close(failed || o.Keep) && lc.WorkDir() != "" {
			status("the nodes' work dir is kept: %s", lc.WorkDir())
		}
		status("stopped")
	}()

	brokers, err := lc.WaitReady(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return interruptedBeforeReady(ctx, fmt.Sprintf("while waiting for %d node(s) to be ready", p.Cluster.Nodes))
		}
		failed = true
		return err
	}

	c := lc.Cluster
	state := clusterUpState{Profile: p.Name, Mode: c.Mode(), Bootstrap: c.Bootstrap(), Brokers: brokers, Nodes: upNodes(c), WorkDir: lc.WorkDir()}
	printNodes(t, state)
	if o.JSONPath != "" {
		if err := writeJSONAtomic(o.JSONPath, state); err != nil {
			failed = true
			return exitcode.UsageError(err)
		}
	}
	status("cluster up: %d node(s) ready; Ctrl-C stops it", len(state.Nodes))

	var nodeFailed <-chan error
	if w, ok := c.(cluster.Watcher); ok {
		nodeFailed = w.Failed()
	}
	select {
	case <-ctx.Done():
		return nil
	case err := <-nodeFailed:
		failed = true
		return exitcode.ClusterError(errors.New(cluster.FailureText(err)), "the cluster is stopped; the node logs are kept in "+state.WorkDir)
	}
}

// upNodes lists the cluster's nodes: the spawned processes, or the
// embedded brokers, which all live in this process.
func upNodes(c cluster.Cluster) []report.Node {
	if s, ok := c.(*cluster.Spawned); ok {
		return s.Nodes()
	}
	var nodes []report.Node
	for i, addr := range c.Bootstrap() {
		port := 0
		if _, ps, ok := strings.Cut(addr, ":"); ok {
			port, _ = strconv.Atoi(ps)
		}
		nodes = append(nodes, report.Node{ID: i, PID: os.Getpid(), Addr: addr, Ports: map[string]int{"kafka": port}})
	}
	return nodes
}

// printNodes writes the nodes table and then the bootstrap line on stdout.
func printNodes(t *term.Terminal, s clusterUpState) {
	tw := tabwriter.NewWriter(t.Out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "node\tpid\tkafka\tports\tlog")
	for _, n := range s.Nodes {
		names := make([]string, 0, len(n.Ports))
		for name := range n.Ports {
			names = append(names, name)
		}
		slices.Sort(names)
		ports := make([]string, len(names))
		for i, name := range names {
			ports[i] = fmt.Sprintf("%s=%d", name, n.Ports[name])
		}
		log := n.LogFile
		if log == "" {
			log = "-"
		}
		fmt.Fprintf(tw, "%d\t%d\t%s\t%s\t%s\n", n.ID, n.PID, n.Addr, strings.Join(ports, " "), log)
	}
	_ = tw.Flush()
	fmt.Fprintf(t.Out, "bootstrap: %s\n", strings.Join(s.Bootstrap, ","))
}

// writeJSONAtomic writes v as JSON to path through a temporary file, so a
// script polling for path never reads half of it.
func writeJSONAtomic(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	_, err = tmp.Write(append(b, '\n'))
	if err = errors.Join(err, tmp.Close()); err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// article is "an" before a word that starts with a vowel ("an embedded
// cluster", "an attach"), else "a" ("a spawn cluster").
func article(word string) string {
	if word != "" && strings.ContainsRune("aeiouAEIOU", rune(word[0])) {
		return "an"
	}
	return "a"
}
