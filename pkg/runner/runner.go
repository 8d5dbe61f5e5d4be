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
	"strings"
	"time"

	"github.com/IBM/sarama"

	"github.com/chronik-e2e/chronik-e2e/pkg/cluster"
	"github.com/chronik-e2e/chronik-e2e/pkg/exitcode"
	"github.com/chronik-e2e/chronik-e2e/pkg/kafka"
	"github.com/chronik-e2e/chronik-e2e/pkg/profile"
	"github.com/chronik-e2e/chronik-e2e/pkg/report"
	"github.com/chronik-e2e/chronik-e2e/pkg/safe"
	"github.com/chronik-e2e/chronik-e2e/pkg/scenarios"
	"github.com/chronik-e2e/chronik-e2e/pkg/verify"
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
	// Finished, when set, is called with each scenario's result as it
	// finishes (the live view on a terminal).
	Finished func(*report.Scenario)
	// ToolVersion and Tags are recorded in the report as they are.
	ToolVersion string
	Tags        map[string]string
	// KeepWorkDir keeps a spawned cluster's work dir after a pass too (--keep).
	KeepWorkDir bool
	// Shard, when set, makes the run one shard of a run group (--shard).
	Shard *Shard
}

// Run runs the profile and returns its report. The error is non-nil only when
// the run could not start (exit 2 or 3); failed scenarios are in the report.
// When ctx is cancelled (Ctrl-C) the report so far is returned, marked
// interrupted. A panic in the run (a bug in chronik-e2e) stops it: the
// report so far is returned with verdict ERROR and the stack.
func Run(ctx context.Context, opts Options) (res *report.Report, err error) {
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
	sec, err := p.Cluster.Security() // reads the certificates and the password before anything starts
	if err != nil {
		return nil, err
	}
	status := opts.Status
	if status == nil {
		status = func(string, ...any) {}
	}

	runID := newRunID()
	var shard *verify.Shard
	if opts.Shard != nil {
		if shard, err = opts.Shard.check(p, plan, opts.Cluster != nil); err != nil {
			return nil, err
		}
		runID = opts.Shard.RunID()
	}
	rep := report.New(p.Name, fmt.Sprintf("%016x", runID), time.Now())
	if shard != nil {
		rep.Shard = shardReport(opts.Shard, shard)
	}
	rep.ProfileSource, rep.ProfileDigest = p.Source, p.Digest
	rep.AllowNotApplicable = p.AllowNotApplicable
	rep.ToolVersion, rep.Tags = opts.ToolVersion, opts.Tags
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
		TopicExisting: p.Topic.Existing,
	}

	// A node that exits, or a panic in any goroutine of the run, stops the
	// run at once: runCtx ends with the cause.
	runCtx, stopRun := context.WithCancelCause(ctx)
	defer stopRun(nil)
	panics := safe.NewRecorder(func(p *safe.PanicError) { stopRun(&internalFailure{p}) })
	defer func() {
		// A panic of the runner's own code, recovered below once every
		// deferred close has run: the report so far, with verdict ERROR.
		if len(recordPanics(rep, panics.Panics(), "")) > 0 {
			rep.Finish(time.Now())
			res, err = rep, nil
		}
	}()
	defer panics.Recover("runner")

	// An embedded cluster keeps its data on disk only when a scenario of
	// the plan faults nodes (and may so restart the whole cluster).
	co := ClusterOptions{Name: spawnName(p, rep), Durable: scenarios.FaultsNodes(plan), Status: status, BeforeClose: opts.BeforeClose}
	var lc *Lifecycle
	if opts.Cluster != nil {
		lc = borrowed(opts.Cluster, p, co)
	} else if lc, err = StartCluster(ctx, p, co); err != nil {
		if ctx.Err() != nil {
			return interrupted(ctx, rep, plan), nil
		}
		return notStarted(rep, err)
	}
	// A failed run keeps a spawned cluster's work dir; a pass too with --keep.
	defer func() { rep.Cluster.WorkDirRemoved = lc.Close(opts.KeepWorkDir || !rep.Passed) }()
	c := lc.Cluster
	rep.Cluster = report.Cluster{Mode: c.Mode(), Bootstrap: c.Bootstrap()}
	if sec.TLS != nil || sec.SASL != nil {
		rep.Cluster.Security = sec.Describe() // never the password
	}
	describe(c, rep)

	brokers, err := lc.WaitReady(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return interrupted(ctx, rep, plan), nil
		}
		return notStarted(rep, err)
	}
	rep.Cluster.Brokers = brokers
	status("cluster ready: %d broker(s) at %s", len(brokers), strings.Join(c.Bootstrap(), ","))

	cfg, _ := kafka.Config(p.Cluster.KafkaVersion) // checked above
	kafka.Secure(cfg, sec)
	version, err := resolveVersion(ctx, p, brokers, cfg)
	if err != nil {
		if ctx.Err() != nil {
			return interrupted(ctx, rep, plan), nil
		}
		return notStarted(rep, err)
	}
	rep.Cluster.KafkaVersion, rep.Cluster.KafkaVersionWhy = version.Version.String(), version.Why
	status("protocol %s (%s)", version.Version, version.Why)

	env, err := scenarios.NewEnv(p, c, rep, topic, runID, version.Version)
	if err != nil {
		return notStarted(rep, exitcode.ClusterError(err, "the cluster answered metadata but a client could not connect"))
	}
	defer env.Close()
	env.Shard = shard
	env.Progress = opts.Progress
	env.Records = opts.Records
	env.Status = opts.Status

	env.Panics = panics
	defer watchCluster(c, stopRun, panics)()
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
		if opts.Finished != nil {
			opts.Finished(rep.Scenarios[len(rep.Scenarios)-1])
		}
	}
	if ctx.Err() != nil {
		rep.Interrupted = true
	}
	recordPanics(rep, panics.Panics(), "") // those no scenario saw
	describe(c, rep)
	rep.Finish(time.Now())
	cleanUpTopic(ctx, env, p, rep, ranTopicCreate(rep)) // topic.go
	return rep, nil
}

// resolveVersion decides the protocol version of the run from
// cluster.kafka_version, asking the ready brokers for auto; a cluster whose
// brokers do not answer, or whose requests no version fits, is exit 3.
func resolveVersion(ctx context.Context, p *profile.Profile, brokers []report.Broker, cfg *sarama.Config) (kafka.Choice, error) {
	addrs := make(map[int32]string, len(brokers))
	for _, b := range brokers {
		addrs[b.ID] = b.Addr
	}
	rctx, cancel := context.WithTimeout(ctx, p.Timeouts.ClusterReady.Duration)
	defer cancel()
	choice, err := kafka.Resolve(rctx, p.Cluster.KafkaVersion, addrs, cfg)
	if err != nil {
		return choice, exitcode.ClusterError(err, "set cluster.kafka_version to the Kafka release the cluster implements")
	}
	return choice, nil
}

// runOne runs one scenario under its deadline and records its verdict.
func runOne(ctx context.Context, env *scenarios.Env, s scenarios.Scenario, timeout time.Duration) {
	sec := &report.Scenario{Name: s.Name(), Findings: []string{}}
	env.Report.Scenarios = append(env.Report.Scenarios, sec)
	step := scenarios.NewStep(sec)
	sctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	sctx = safe.WithRecorder(sctx, env.Panics) // for helpers that start goroutines with only a context
	start := time.Now()
	err := env.Panics.Call("scenario "+s.Name(), func() error { return s.Run(sctx, env, step) })
	healLeft(ctx, env, step)
	sec.DurationS = time.Since(start).Seconds()
	if panics := recordPanics(env.Report, env.Panics.Panics(), s.Name()); len(panics) > 0 {
		// A bug in chronik-e2e, not a finding about the cluster: ERROR.
		sec.InternalError, sec.Passed = true, false
		sec.Error = panics[0].Error()
		return
	}
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

// healTimeout bounds the heal of what a scenario left faulted.
const healTimeout = 2 * time.Minute

// healLeft heals the network faults a scenario left on (it panicked, ran
// out of time or was interrupted before its own heal), under a context of
// its own: the scenario's, and on Ctrl-C the run's, have ended, and a
// cluster left partitioned outlives the run.
func healLeft(ctx context.Context, env *scenarios.Env, step *scenarios.Step) {
	hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), healTimeout)
	defer cancel()
	what, err := cluster.HealLeft(hctx, env.Cluster)
	switch {
	case err != nil:
		step.Failf("the network faults left by the scenario could not be healed: %v (%s): heal the cluster by hand", err, what)
	case what != "":
		step.Notef("network faults left by the scenario, healed: %s", what)
	}
}

// spawnName names the work dir of a spawned cluster after the profile and the run.
func spawnName(p *profile.Profile, rep *report.Report) string {
	if len(rep.RunID) >= 8 {
		return p.Name + "-" + rep.RunID[len(rep.RunID)-8:]
	}
	return p.Name
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
