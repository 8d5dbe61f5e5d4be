package main

import (
	"fmt"
	"time"

	"github.com/IBM/sarama"
	"github.com/spf13/cobra"

	"github.com/chronik-e2e/chronik-e2e/pkg/exitcode"
	"github.com/chronik-e2e/chronik-e2e/pkg/kafka"
	"github.com/chronik-e2e/chronik-e2e/pkg/profile"
	"github.com/chronik-e2e/chronik-e2e/pkg/runner"
	"github.com/chronik-e2e/chronik-e2e/pkg/scenarios"
	"github.com/chronik-e2e/chronik-e2e/pkg/term"
)

// TopicsCleanOptions are what `topics clean` takes from its flags.
type TopicsCleanOptions struct {
	Bootstrap []string
	OlderThan time.Duration
	DryRun    bool
	JSONPath  string
	Security  profile.SecurityOverrides
}

// newTopicsCmd returns `chronik-e2e topics`, the commands on the topics runs leave.
func newTopicsCmd(t *term.Terminal) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "topics",
		Short: "Remove the topics earlier runs left on a cluster",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return exitcode.Usagef("unknown topics command %q (known: clean)", args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newTopicsCleanCmd(t))
	return cmd
}

// newTopicsCleanCmd returns `chronik-e2e topics clean`.
func newTopicsCleanCmd(t *term.Terminal) *cobra.Command {
	o := &TopicsCleanOptions{}
	cmd := &cobra.Command{
		Use:   "clean --bootstrap HOST:PORT",
		Short: "Delete the e2e-* topics earlier runs left behind (only names the runner generates)",
		Long: `clean deletes the topics the runner names itself, e2e-<profile>-<8 hex digits>,
and no other. With --older-than, a topic that holds a record written more
recently is kept, and so is an empty one (its age cannot be known).`,
		Example: `  chronik-e2e topics clean --bootstrap kafka-1:9092 --dry-run
  chronik-e2e topics clean --bootstrap kafka-1:9092 --older-than 24h --tls-ca ca.pem`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(o.Bootstrap) == 0 {
				return exitcode.Usagef("topics clean needs --bootstrap: the cluster to clean")
			}
			if o.OlderThan < 0 {
				return exitcode.Usagef("--older-than must be 0 or more, not %s", o.OlderThan)
			}
			if err := readSecurityFlags(cmd, &o.Security); err != nil {
				return err
			}
			return topicsClean(t, o)
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&o.Bootstrap, profile.FlagBootstrap, nil, "the cluster's host:port addresses")
	f.DurationVar(&o.OlderThan, "older-than", 0, "keep topics with a record written within this long (e.g. 24h)")
	f.BoolVar(&o.DryRun, "dry-run", false, "list what would be deleted, delete nothing")
	f.StringVar(&o.JSONPath, "json", "", "write what was found and done as JSON to this file, or to stdout with --json -")
	addSecurityFlags(cmd, &o.Security)
	return cmd
}

// topicsClean connects as a run would, lists the leftovers, deletes them and says what it did.
func topicsClean(t *term.Terminal, o *TopicsCleanOptions) error {
	p := profile.Default()
	p.Apply(profile.Overrides{Bootstrap: o.Bootstrap, Security: o.Security})
	if err := p.Validate(scenarios.Names()); err != nil {
		return err
	}
	sec, err := p.Cluster.Security()
	if err != nil {
		return err
	}
	cfg, err := kafka.Config(p.Cluster.KafkaVersion)
	if err != nil {
		return exitcode.UsageError(err)
	}
	kafka.Secure(cfg, sec)
	client, err := sarama.NewClient(o.Bootstrap, cfg)
	if err != nil {
		if why := kafka.AuthFailure(err); why != "" {
			err = fmt.Errorf("%s: %w", why, err)
		}
		return exitcode.ClusterError(fmt.Errorf("connect to %v: %w", o.Bootstrap, err), "check --bootstrap and the security flags")
	}
	defer client.Close()
	ls, err := runner.FindLeftovers(client, o.OlderThan, time.Now())
	if err != nil {
		return exitcode.ClusterError(err, "")
	}
	if !o.DryRun {
		admin, err := sarama.NewClusterAdminFromClient(client)
		if err != nil {
			return exitcode.ClusterError(err, "")
		}
		runner.RemoveLeftovers(admin, ls)
	}
	// The text goes to stdout, or to stderr when --json - takes stdout;
	// --quiet keeps the summary line only, and not even that with --json -.
	out := t.Out
	if o.JSONPath == stdoutPath {
		out = t.ErrOut
	}
	quiet := t.Verbosity() == term.Quiet
	var removed, failed int
	for _, l := range ls {
		var line string
		switch {
		case l.Error != "":
			failed++
			line = fmt.Sprintf("could not delete %s: %s", l.Topic, l.Error)
		case l.Kept != "":
			line = fmt.Sprintf("kept     %s: %s", l.Topic, l.Kept)
		case o.DryRun:
			line = fmt.Sprintf("would delete %s (%d records)", l.Topic, l.Records)
		default:
			removed++
			line = fmt.Sprintf("deleted  %s (%d records)", l.Topic, l.Records)
		}
		if !quiet {
			fmt.Fprintln(out, line)
		}
	}
	if !quiet || o.JSONPath != stdoutPath {
		fmt.Fprintf(out, "%d topic(s) the runner generated; %d deleted\n", len(ls), removed)
	}
	if err := writeJSONValue(t, o.JSONPath, ls); err != nil {
		return exitcode.UsageError(err)
	}
	if failed > 0 {
		return exitcode.ClusterError(fmt.Errorf("%d topic(s) could not be deleted", failed), "")
	}
	return nil
}
