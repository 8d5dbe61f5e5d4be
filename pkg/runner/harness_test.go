package runner_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kversion"

	"github.com/chronik-e2e/chronik-e2e/pkg/cluster"
	"github.com/chronik-e2e/chronik-e2e/pkg/profile"
	"github.com/chronik-e2e/chronik-e2e/pkg/report"
	"github.com/chronik-e2e/chronik-e2e/pkg/runner"
	"github.com/chronik-e2e/chronik-e2e/pkg/scenarios"
)

// runBound is the most any one run may take before the test calls it hung.
// Generous on purpose: the tests must pass on a busy two-core machine.
const runBound = 60 * time.Second

// hookName is the test-only scenario that lets a test make the cluster
// misbehave between two real scenarios: list it in the profile's scenarios
// where the misbehaviour should happen.
const hookName = "test-hook"

// hookFunc is what test-hook does to the cluster of one test.
type hookFunc func(ctx context.Context, env *scenarios.Env) error

// hooks maps each test's cluster to its hookFunc, so tests may run in parallel.
var hooks sync.Map // cluster.Cluster -> hookFunc

func init() { scenarios.Register(hookScenario{}) }

type hookScenario struct{}

var _ scenarios.Scenario = hookScenario{}

func (hookScenario) Name() string       { return hookName }
func (hookScenario) Requires() []string { return []string{"topic-create"} }
func (hookScenario) Summary() string {
	return "test only: make the cluster misbehave between scenarios"
}

// RunsSharded lets test-hook run in a shard's plan too.
func (hookScenario) RunsSharded() {}

func (hookScenario) Run(ctx context.Context, env *scenarios.Env, _ *scenarios.Step) error {
	fn, ok := hooks.Load(env.Cluster)
	if !ok {
		return fmt.Errorf("no hook installed for cluster %v", env.Cluster.Bootstrap())
	}
	return fn.(hookFunc)(ctx, env)
}

// onHook makes test-hook run fn against c for the rest of the test.
func onHook(t *testing.T, c cluster.Cluster, fn hookFunc) {
	t.Helper()
	hooks.Store(c, fn)
	t.Cleanup(func() { hooks.Delete(c) })
}

// startEmbedded starts an embedded cluster of n brokers, closed when the test ends.
func startEmbedded(t *testing.T, n int) *cluster.Embedded {
	t.Helper()
	c, err := cluster.StartEmbedded(n)
	if err != nil {
		t.Fatalf("start embedded cluster: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// smallProfile returns a validated profile small enough for a unit test:
// nodes brokers, partitions partitions of replication factor rf, 600
// messages over 60 keys, short timeouts; edit changes it before validation.
func smallProfile(t *testing.T, nodes, partitions, rf int, edit func(*profile.Profile)) *profile.Profile {
	t.Helper()
	p := profile.Default()
	p.Name = t.Name()
	p.Cluster.Nodes = nodes
	p.Topic.Partitions, p.Topic.ReplicationFactor = partitions, rf
	p.Workload.Messages, p.Workload.Keys = 600, 60
	p.Timeouts.ClusterReady.Duration = 10 * time.Second
	p.Timeouts.Scenario.Duration = 30 * time.Second
	p.Timeouts.Settle.Duration = 200 * time.Millisecond
	if edit != nil {
		edit(p)
	}
	if err := p.Validate(scenarios.Names()); err != nil {
		t.Fatalf("profile: %v", err)
	}
	return p
}

// run runs p against c (nil: the profile's own cluster) and returns the
// report; a run that returns an error or does not end within runBound fails
// the test.
func run(t *testing.T, p *profile.Profile, c cluster.Cluster) *report.Report {
	t.Helper()
	rep, err := runErr(t, p, c)
	if err != nil {
		t.Fatalf("runner.Run: %v", err)
	}
	return rep
}

// runErr is run for a run that may fail to start.
func runErr(t *testing.T, p *profile.Profile, c cluster.Cluster) (*report.Report, error) {
	t.Helper()
	return runOpts(t, runner.Options{Profile: p, Cluster: c})
}

// runOpts is runErr with every option of the run.
func runOpts(t *testing.T, opts runner.Options) (*report.Report, error) {
	t.Helper()
	type result struct {
		rep *report.Report
		err error
	}
	done := make(chan result, 1)
	go func() {
		rep, err := runner.Run(context.Background(), opts)
		done <- result{rep, err}
	}()
	select {
	case r := <-done:
		if r.rep != nil {
			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("report of the failed test:\n%s", describe(r.rep))
				}
			})
		}
		return r.rep, r.err
	case <-time.After(runBound):
		t.Fatalf("runner.Run did not return within %s: it hangs", runBound)
		return nil, nil
	}
}

// describe renders the verdicts, findings, notes and delivery counters of
// rep, for the log of a failed test.
func describe(rep *report.Report) string {
	var b strings.Builder
	fmt.Fprintf(&b, "passed=%v delivery=%+v leaders=%v\n", rep.Passed, rep.Delivery, rep.Leaders)
	for _, s := range rep.Scenarios {
		fmt.Fprintf(&b, "  %s passed=%v skipped=%v %.1fs error=%q\n", s.Name, s.Passed, s.Skipped, s.DurationS, s.Error)
		for _, f := range s.Findings {
			fmt.Fprintf(&b, "    finding: %s\n", f)
		}
		for _, n := range s.Notes {
			fmt.Fprintf(&b, "    note: %s\n", n)
		}
	}
	return b.String()
}

// verdicts asserts which scenarios of rep passed, and that rep failed
// unless every one of them passed. want maps a scenario name to whether it
// must pass; every scenario in the report must be named.
func verdicts(t *testing.T, rep *report.Report, want map[string]bool) {
	t.Helper()
	all := true
	for _, s := range rep.Scenarios {
		w, ok := want[s.Name]
		if !ok {
			t.Errorf("scenario %s ran, but the test does not expect it", s.Name)
			continue
		}
		if s.Passed != w {
			t.Errorf("scenario %s passed = %v, want %v (error %q, findings %q)", s.Name, s.Passed, w, s.Error, s.Findings)
		}
		all = all && w
	}
	for name := range want {
		if rep.Scenario(name) == nil {
			t.Errorf("scenario %s did not run", name)
		}
	}
	if rep.Passed != all {
		t.Errorf("report passed = %v, want %v", rep.Passed, all)
	}
}

// section returns the named scenario's section, failing the test if it did not run.
func section(t *testing.T, rep *report.Report, name string) *report.Scenario {
	t.Helper()
	s := rep.Scenario(name)
	if s == nil {
		t.Fatalf("scenario %s did not run", name)
	}
	return s
}

// findingsWith returns the findings of s that contain every one of parts.
func findingsWith(s *report.Scenario, parts ...string) []string {
	return linesWith(s.Findings, parts...)
}

// notesWith returns the notes of s that contain every one of parts.
func notesWith(s *report.Scenario, parts ...string) []string { return linesWith(s.Notes, parts...) }

// linesWith returns the lines that contain every one of parts.
func linesWith(lines []string, parts ...string) []string {
	var out []string
	for _, l := range lines {
		if containsAll(l, parts...) {
			out = append(out, l)
		}
	}
	return out
}

// wantFinding fails the test unless a finding of s contains every one of parts.
func wantFinding(t *testing.T, s *report.Scenario, parts ...string) {
	t.Helper()
	if len(findingsWith(s, parts...)) == 0 {
		t.Errorf("scenario %s: no finding contains %q; findings:\n  %s", s.Name, parts, strings.Join(s.Findings, "\n  "))
	}
}

// wantError fails the test unless the error of s contains every one of parts.
func wantError(t *testing.T, s *report.Scenario, parts ...string) {
	t.Helper()
	if !containsAll(s.Error, parts...) {
		t.Errorf("scenario %s: error %q does not contain %q", s.Name, s.Error, parts)
	}
}

func containsAll(s string, parts ...string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

// secondClient returns an independent franz-go client of the cluster under
// test, speaking the profile's protocol version, for hooks that write or read
// behind the runner's back.
func secondClient(env *scenarios.Env, opts ...kgo.Opt) (*kgo.Client, error) {
	opts = append([]kgo.Opt{
		kgo.SeedBrokers(env.Cluster.Bootstrap()...),
		kgo.MaxVersions(kversion.V3_6_0()),
		kgo.DefaultProduceTopic(env.Topic),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
	}, opts...)
	return kgo.NewClient(opts...)
}

// readCopies reads the first n records of partition p with a second client
// and returns copies of them, byte for byte, to be written again.
func readCopies(ctx context.Context, env *scenarios.Env, p int32, n int) ([]*kgo.Record, error) {
	cl, err := secondClient(env, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{
		env.Topic: {p: kgo.NewOffset().AtStart()},
	}))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	var recs []*kgo.Record
	for len(recs) < n {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("read %d of %d records of partition %d: %w", len(recs), n, p, err)
		}
		if errs := fs.Errors(); len(errs) > 0 {
			return nil, fmt.Errorf("read partition %d: %v", p, errs[0].Err)
		}
		recs = append(recs, fs.Records()...)
	}
	again := make([]*kgo.Record, n)
	for i, r := range recs[:n] {
		again[i] = &kgo.Record{Key: r.Key, Value: r.Value, Partition: r.Partition}
	}
	return again, nil
}

// writeBehind produces recs with a second client and waits for every acknowledgement.
func writeBehind(ctx context.Context, env *scenarios.Env, recs ...*kgo.Record) error {
	cl, err := secondClient(env)
	if err != nil {
		return err
	}
	defer cl.Close()
	return cl.ProduceSync(ctx, recs...).FirstErr()
}
