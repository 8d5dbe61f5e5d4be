package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/chronik-e2e/chronik-e2e/pkg/exitcode"
	"github.com/chronik-e2e/chronik-e2e/pkg/profile"
	"github.com/chronik-e2e/chronik-e2e/pkg/runner"
	"github.com/chronik-e2e/chronik-e2e/pkg/scenarios"
	"github.com/chronik-e2e/chronik-e2e/pkg/term"
)

// RunOptions are what run and scenario take from their flags.
type RunOptions struct {
	Profile   string   // --profile: a path or a profile name; empty: the built-in default
	Scenarios []string // scenarios to run; empty: the profile's
	Overrides profile.Overrides
	JSONPath  string            // --json: a file, or "-" for stdout
	Overwrite bool              // --overwrite: reuse a non-empty --artifacts directory
	TagArgs   []string          // --tag key=value, as given
	Tags      map[string]string // --tag, parsed
	Keep      bool              // --keep: keep a spawned cluster's work dir after a pass
	ShardSpec string            // --shard I/N: one of N runners sharing one topic
	RunGroup  string            // --run-group: the id the shards of one run share
	// Gate holds --baseline, --junit, --markdown, --repeat and --artifacts (gate.go).
	Gate GateOptions
	// Profiling holds --cpuprofile and --memprofile (profiling.go).
	Profiling ProfilingOptions
}

// addRunFlags registers the flags run and scenario share.
func addRunFlags(cmd *cobra.Command, o *RunOptions) {
	f := cmd.Flags()
	f.StringVarP(&o.Profile, "profile", "p", o.Profile, "profile: a path (a name with a slash is only read as that file), or a name looked up here, in ./configs, then among the built-in profiles (builtin:NAME names a built-in one; chronik-e2e profiles lists them)")
	f.StringSliceVar(&o.Overrides.Bootstrap, profile.FlagBootstrap, nil, "attach to the cluster at these host:port addresses instead of the profile's")
	f.Int(profile.FlagNodes, 0, "brokers the cluster must have (e.g. --nodes 1 --replication-factor 1 to attach to a single broker)")
	f.StringVar(&o.Overrides.Acks, profile.FlagAcks, "", "acks mode: 0, 1 or all")
	f.Int(profile.FlagMessages, 0, "messages to produce")
	f.Int(profile.FlagPartitions, 0, "topic partitions")
	f.Int(profile.FlagReplicationFactor, 0, "topic replication factor")
	f.StringVar(&o.Overrides.Topic, profile.FlagTopic, "", "topic name (default: a fresh name per run)")
	f.StringVar(&o.Overrides.TopicDelete, profile.FlagTopicDelete, "", "when to delete the run's topic: on-pass, always or never (default: on-pass in attach and spawn mode)")
	f.StringVar(&o.Overrides.ExistingTopic, profile.FlagExistingTopic, "", "run against this existing topic: check its partitions and RF, read from its end offsets, never delete it")
	f.StringVar(&o.Overrides.FaultTarget, profile.FlagFaultTarget, "", "node the fault scenarios hit: leader-of-most, node:<id> or random")
	f.Int(profile.FlagFaultSeed, 0, "seed of the fault scenarios' random choices, to replay a run (the report prints it)")
	f.BoolVar(&o.Overrides.AllowNotApplicable, profile.FlagAllowNA, false, "a listed scenario that cannot run on this cluster leaves its guarantee untested instead of failing the run")
	f.StringVar(&o.JSONPath, "json", "", "write the JSON report to this file, or to stdout with --json - (the terminal report then goes to stderr)")
	f.BoolVar(&o.Overwrite, "overwrite", false, "let --artifacts write into a directory that holds an earlier run's files")
	f.BoolVar(&o.Keep, "keep", false, "spawn mode: keep the nodes' work dir (files, data, logs) after a pass too; a failed run always keeps it")
	f.StringVar(&o.ShardSpec, "shard", "", "run as shard I of N (e.g. 0/3) that share one topic, each producing and verifying its own part of the workload; needs --run-group and an attached cluster; merge the reports with report merge")
	f.StringVar(&o.RunGroup, "run-group", "", "the id every shard of one run shares (e.g. a CI job's id): it names their topic and tells their records from other runs'")
	addWorkloadFlags(cmd, o)
	addSecurityFlags(cmd, &o.Overrides.Security)
	addGateFlags(cmd, &o.Gate)
	addProfilingFlags(cmd, &o.Profiling)
	registerRunCompletions(cmd)
}

// readIntFlags fills the overrides of the int flags the user set, and
// marks --bootstrap given even when its value was empty.
func readIntFlags(cmd *cobra.Command, o *RunOptions) {
	if cmd.Flags().Changed(profile.FlagBootstrap) && o.Overrides.Bootstrap == nil {
		// --bootstrap "" (an unset variable): an error, not the embedded cluster.
		o.Overrides.Bootstrap = []string{}
	}
	for name, dst := range map[string]**int{
		profile.FlagNodes:             &o.Overrides.Nodes,
		profile.FlagMessages:          &o.Overrides.Messages,
		profile.FlagPartitions:        &o.Overrides.Partitions,
		profile.FlagReplicationFactor: &o.Overrides.ReplicationFactor,
		profile.FlagFaultSeed:         &o.Overrides.FaultSeed,
	} {
		if cmd.Flags().Changed(name) {
			v, _ := cmd.Flags().GetInt(name)
			*dst = &v
		}
	}
}

// loadProfile reads, overrides and validates the profile; ctx ending stops
// the validation's rendering of spawn templates.
func loadProfile(ctx context.Context, o *RunOptions) (*profile.Profile, error) {
	var p *profile.Profile
	if o.Profile == "" {
		p = profile.Default()
	} else {
		var err error
		if p, err = profile.Load(o.Profile); p == nil {
			return nil, err
		}
		// With err set, p is decoded as far as it could be: Validate
		// reports err's problems together with every other one.
	}
	p.Apply(o.Overrides)
	if err := p.ValidateContext(ctx, scenarios.Names()); err != nil {
		return nil, err
	}
	return p, nil
}

// runProfile runs the profile and renders its report: the common body of run and scenario.
func runProfile(ctx context.Context, t *term.Terminal, o *RunOptions) error {
	p, err := loadProfile(ctx, o)
	if err != nil {
		return err
	}
	if err := checkResources(p); err != nil {
		return err
	}
	shard, err := runner.ParseShard(o.ShardSpec, o.RunGroup)
	if err != nil {
		return err
	}
	if shard != nil && o.Gate.Repeat > 1 {
		return exitcode.Usagef("--shard with --repeat: a run group runs once; repeat the whole group instead")
	}
	if p.Shadows != "" && t.Verbosity() != term.Quiet {
		fmt.Fprintf(t.ErrOut, "chronik-e2e: note: profile %s is read from %s, which shadows the built-in %s (--profile %s runs that one)\n",
			o.Profile, p.Source, p.Shadows, strings.TrimSuffix(p.Shadows, ".yaml"))
	}
	tuneGC(p.Workload.Messages)
	clientLog(t)
	if err := checkOutputs(o); err != nil {
		return err
	}
	stopProfiling, err := startProfiling(o.Profiling, t.ErrOut)
	if err != nil {
		return err
	}
	defer stopProfiling()
	g, err := newGateRun(t, o.Gate, p)
	if err != nil {
		return err
	}
	status := statusFunc(t)
	status("profile %s (%s): %s cluster, %d node(s), %d partition(s), RF %d, %d messages, acks=%s",
		p.Name, p.Source, p.Cluster.Mode, p.Cluster.Nodes, p.Topic.Partitions, p.Topic.ReplicationFactor, p.Workload.Messages, p.Workload.Acks)
	runOpts := runner.Options{
		Profile:   p,
		Scenarios: o.Scenarios,
		Progress:  progressFunc(t),
		Status:    status,
		Finished:  liveVerdicts(t),
		// The report records the tool's version and the run's tags.
		ToolVersion: versionString(),
		Tags:        o.Tags,
		// A spawned cluster's work dir is kept after a failure, and after a pass with --keep.
		KeepWorkDir: o.Keep,
		Shard:       shard,
	}
	if o.Gate.Repeat > 1 {
		return g.repeat(ctx, t, o, runOpts)
	}
	rep, err := g.run(ctx, runOpts, g.dir, g.plan)
	if err != nil {
		writeNotStarted(t, rep, o.JSONPath)
		return err
	}
	// The files are written even when the terminal report cannot be
	// (SIGHUP: the terminal is gone, but CI reads the JSON).
	renderErr := renderRun(t, o, rep)
	if err := writeJSON(t, o.JSONPath, rep); err != nil {
		return exitcode.UsageError(err)
	}
	if err := g.write(rep); err != nil {
		return err
	}
	if renderErr != nil {
		return renderErr
	}
	if rep.Errored() {
		return internalFailed()
	}
	return verdictError(rep.Passed, rep.GateFailed())
}

// checkJSONPath fails, as bad usage, when --json names a path the report
// clearly cannot be written to: better now than after a long run.
func checkJSONPath(path string) error {
	if path == "" {
		return nil
	}
	if isDir(path) {
		return exitcode.Usagef("--json %s is a directory: give a file name for the JSON report", path)
	}
	if dir := filepath.Dir(path); !isDir(dir) {
		return exitcode.Usagef("--json %s: there is no directory %s to write the JSON report in", path, dir)
	}
	return nil
}

func isDir(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}

// progressFunc returns progress bars on stderr when it is a terminal, else
// none; none with --quiet either.
func progressFunc(t *term.Terminal) scenarios.ProgressFunc {
	if !t.IsErrTTY() || t.Verbosity() == term.Quiet {
		return nil
	}
	return func(label string, total int64) scenarios.Progress {
		bar := progressbar.NewOptions64(total,
			progressbar.OptionSetWriter(t.ErrOut),
			progressbar.OptionSetDescription(fmt.Sprintf("%-8s", label)),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("msg"),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish(),
			progressbar.OptionSetWidth(30),
		)
		return &bar64{bar}
	}
}

type bar64 struct{ b *progressbar.ProgressBar }

func (p *bar64) Add(n int) { _ = p.b.Add(n) }
func (p *bar64) Done()     { _ = p.b.Finish() }

// joinNames renders names for help texts.
func joinNames(names []string) string { return strings.Join(names, ", ") }
