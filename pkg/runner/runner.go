// Package runner runs a profile: it starts or attaches to the cluster, waits
// until it is ready, runs the scenarios in order, each under its deadline,
// and returns the report.
package runner

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"regexp"
	"runtime/debug"
	"strings"
	"time"

	"github.com/chronik-e2e/chronik-e2e/pkg/cluster"
	"github.com/chronik-e2e/chronik-e2e/pkg/exitcode"
	"github.com/chronik-e2e/chronik-e2e/pkg/kafka"
	"github.com/chronik-e2e/chronik-e2e/pkg/profile"
	"github.com/chronik-e2e/chronik-e2e/pkg/report"
	"github.com/chronik-e2e/chronik-e2e/pkg/scenarios"
)

// Options say what to run.
type Options struct {
	// Profile is the validated profile.
	Profile *profile.Profile
	// Scenarios overrides the profile's scenario list; their requirements run first.
	Scenarios []string
	// Cluster, when set, is used instead of starting or attaching to the
	// profile's cluster; the runner does not close it.
	Cluster cluster.Cluster
	// Progress shows progress of long phases; nil shows none.
	Progress scenarios.ProgressFunc
	// Status, when set, receives one-line status messages ("cluster ready").
	Status func(format string, args ...any)
	// Records, when set, receives every lost, duplicated, misplaced and
	// unacknowledged record the consume scenario finds.
	Records scenarios.RecordSink
	// BeforeClose, when set, is called with the cluster once the scenarios
	// are done (or the cluster never became ready), before the runner closes
	// or leaves it: the moment to collect node logs.
	BeforeClose func(cluster.Cluster)
	// KeepWorkDir keeps a spawned cluster's work dir after a pass too (--keep).
	KeepWorkDir bool
}

// Run runs the profile and returns its report. The error is non-nil only when
// the run could not start (exit 2 or 3); failed scenarios are in the report.
// When the cluster could not be started or reached (exit 3) the report so
// far comes with the error, its Error saying why, for --json.
// When ctx is cancelled (Ctrl-C) the report so far is returned, marked interrupted.
func Run(ctx context.Context, opts Options) (*report.Report, error) {
	p := opts.Profile
	names := opts.Scenarios
	if len(names) == 0 {
		names = p.Scenarios
	}
	plan, err := scenarios.Plan(names)
	if err != nil {
		return nil, exitcode.UsageError(err)
	}
	if _, err := kafka.Config(p.Cluster.KafkaVersion); err != nil {
		return nil, exitcode.UsageError(err)
	}
	status := opts.Status
	if status == nil {
		status = func(string, ...any) {}
	}

	runID := newRunID()
	rep := report.New(p.Name, fmt.Sprintf("%016x", runID), time.Now())
	rep.AllowNotApplicable = p.AllowNotApplicable
	topic := p.Topic.Name
	if topic == "" {
		topic = fmt.Sprintf("e2e-%s-%08x", topicSafe(p.Name), uint32(runID))
	}
	rep.Config = report.Config{
		Nodes: p.Cluster.Nodes, Topic: topic, Partitions: p.Topic.Partitions,
		ReplicationFactor: p.Topic.ReplicationFactor, Messages: p.Workload.Messages,
		Keys: p.Workload.Keys, ValueBytes: p.Workload.ValueBytes, Acks: p.Workload.Acks,
		ScenarioTimeout: p.Timeouts.Scenario.String(),
		Producers:       p.Workload.Producers, Rate: p.Workload.Rate, ConcurrentConsume: p.Workload.ConcurrentConsume,
	}

	c := opts.Cluster
	if c == nil {
		if c, err = start(ctx, p, plan, rep, status); err != nil {
			if ctx.Err() != nil {
				return interrupted(ctx, rep, plan), nil
			}
			return notStarted(rep, err)
		}
		defer closeStarted(c, rep, opts.KeepWorkDir)
	}
	if opts.BeforeClose != nil {
		defer opts.BeforeClose(c) // deferred last, so it runs before Close
	}
	rep.Cluster = report.Cluster{Mode: c.Mode(), Bootstrap: c.Bootstrap()}
	describe(c, rep)

	cfg, _ := kafka.Config(p.Cluster.KafkaVersion)
	readyCtx, cancel := context.WithTimeout(ctx, p.Timeouts.ClusterReady.Duration)
	brokers, err := waitReady(readyCtx, c, p.Cluster.Nodes, cfg, status)
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return interrupted(ctx, rep, plan), nil
		}
		return notStarted(rep, err)
	}
	rep.Cluster.Brokers = brokers
	status("cluster ready: %d broker(s) at %s", len(brokers), strings.Join(c.Bootstrap(), ","))

	env, err := scenarios.NewEnv(p, c, rep, topic, runID)
	if err != nil {
		return notStarted(rep, exitcode.ClusterError(err, "the cluster answered metadata but a client could not connect"))
	}
	defer env.Close()
	env.Progress = opts.Progress
	env.Records = opts.Records

	// A node that exits stops the run at once: runCtx ends with the cause.
	runCtx, stopRun := context.WithCancelCause(ctx)
	defer stopRun(nil)
	defer watchCluster(c, stopRun)()
	for i, s := range plan {
		if ctx.Err() != nil {
			rep.Interrupted = true
			notRun(ctx, rep, plan[i:])
			break
		}
		if runCtx.Err() != nil {
			notRun(runCtx, rep, plan[i:])
			break
		}
		status("scenario %s …", s.Name())
		runOne(runCtx, env, s, p.Timeouts.Scenario.Duration)
	}
	if ctx.Err() != nil {
		rep.Interrupted = true
	}
	describe(c, rep)
	rep.Finish(time.Now())
	return rep, nil
}

// runOne runs one scenario under its deadline and records its verdict.
func runOne(ctx context.Context, env *scenarios.Env, s scenarios.Scenario, timeout time.Duration) {
	sec := &report.Scenario{Name: s.Name(), Findings: []string{}}
	env.Report.Scenarios = append(env.Report.Scenarios, sec)
	step := scenarios.NewStep(sec)
	sctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	err := runGuarded(sctx, env, s, step)
	sec.DurationS = time.Since(start).Seconds()
	switch {
	case scenarios.IsNotApplicable(err): // fails the run unless the profile allows it
		sec.Skipped, sec.NotApplicable = true, true
		sec.Error = err.Error()
		if !env.Report.AllowNotApplicable {
			sec.Error += ", or give --allow-not-applicable to leave it untested"
		}
		env.Report.Untested = append(env.Report.Untested, s.Name()+": "+s.Summary())
	case scenarios.IsSkip(err):
		sec.Skipped = true
		sec.Error = err.Error()
	case err != nil && clusterFailed(ctx) != nil:
		sec.Error = fmt.Sprintf("stopped: %v (%v)", clusterFailed(ctx), err)
	case err != nil && ctx.Err() != nil:
		sec.Error = err.Error()
		if !strings.Contains(sec.Error, "interrupted") {
			sec.Error = "interrupted: " + sec.Error
		}
	case err != nil && errors.Is(sctx.Err(), context.DeadlineExceeded):
		sec.Error = fmt.Sprintf("timed out after %s: %v", timeout, err)
	case err != nil:
		sec.Error = err.Error()
	}
	sec.Passed = err == nil && !step.Failed()
}

// runGuarded turns a panicking scenario into a failed one.
func runGuarded(ctx context.Context, env *scenarios.Env, s scenarios.Scenario, step *scenarios.Step) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("scenario %s panicked: %v\n%s", s.Name(), r, debug.Stack())
		}
	}()
	return s.Run(ctx, env, step)
}

// start starts the profile's cluster, or attaches to it. An embedded
// cluster keeps its data on disk only when a scenario of the plan faults
// nodes (and may so restart the whole cluster); otherwise in memory.
func start(ctx context.Context, p *profile.Profile, plan []scenarios.Scenario, rep *report.Report, status func(string, ...any)) (cluster.Cluster, error) {
	switch p.Cluster.Mode {
	case profile.ModeAttach:
		return attach(p)
	case profile.ModeSpawn:
		return startSpawn(ctx, p, rep, status)
	case profile.ModeEmbedded:
		durable := scenarios.FaultsNodes(plan)
		if len(p.Cluster.Ports) > 0 {
			return cluster.StartEmbeddedPorts(p.Cluster.Ports, durable)
		}
		startEmbedded := cluster.StartEmbedded
		if durable {
			startEmbedded = cluster.StartEmbeddedDurable
		}
		e, err := startEmbedded(p.Cluster.Nodes)
		if err != nil {
			return nil, exitcode.ClusterError(err, "")
		}
		return e, nil
	}
	return nil, exitcode.Usagef("cluster.mode %q is not supported", p.Cluster.Mode)
}

// notStarted returns rep, finished with err as its Error, when err is the
// cluster's (exit 3), so that the JSON report says why nothing ran; other
// errors come without a report.
func notStarted(rep *report.Report, err error) (*report.Report, error) {
	if exitcode.Code(err) != exitcode.Unreachable {
		return nil, err
	}
	rep.Error = err.Error()
	rep.Finish(time.Now())
	return rep, err
}

// interrupted finishes the report of a run interrupted before its
// scenarios started: each is listed as not run.
func interrupted(ctx context.Context, rep *report.Report, plan []scenarios.Scenario) *report.Report {
	rep.Interrupted = true
	notRun(ctx, rep, plan)
	rep.Finish(time.Now())
	return rep
}

func newRunID() uint64 {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return binary.BigEndian.Uint64(b[:])
}

var unsafeTopicChars = regexp.MustCompile(`[^a-zA-Z0-9._-]+`)

// topicSafe turns a profile name into something a topic name may contain.
func topicSafe(name string) string {
	s := unsafeTopicChars.ReplaceAllString(name, "-")
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}
