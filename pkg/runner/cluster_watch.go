package runner

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/IBM/sarama"

	"github.com/chronik-e2e/chronik-e2e/pkg/cluster"
	"github.com/chronik-e2e/chronik-e2e/pkg/report"
	"github.com/chronik-e2e/chronik-e2e/pkg/safe"
	"github.com/chronik-e2e/chronik-e2e/pkg/scenarios"
)

// waitReady waits with the cluster's own readiness check when it has one
// (spawn mode), else by polling metadata from its bootstrap addresses.
func waitReady(ctx context.Context, c cluster.Cluster, nodes int, wait time.Duration, cfg *sarama.Config, status func(string, ...any)) ([]report.Broker, error) {
	if rw, ok := c.(cluster.ReadyWaiter); ok {
		return rw.WaitReady(ctx, wait, cfg, status)
	}
	return cluster.WaitReady(ctx, c.Bootstrap(), nodes, wait, cfg, status)
}

// describe adds what the cluster knows of its nodes to the report.
func describe(c cluster.Cluster, rep *report.Report) {
	if d, ok := c.(cluster.Describer); ok {
		d.Describe(&rep.Cluster)
	}
}

// clusterFailure is the cause of a run stopped because the cluster failed
// (a node exited).
type clusterFailure struct{ err error }

func (f *clusterFailure) Error() string { return f.err.Error() }

// internalFailure is the cause of a run stopped by a panic in chronik-e2e.
type internalFailure struct{ p *safe.PanicError }

func (f *internalFailure) Error() string { return f.p.Error() }

// watchCluster stops the run with stop when the cluster reports a failure;
// the returned func ends the watch. Its goroutine runs under rec.
func watchCluster(c cluster.Cluster, stop context.CancelCauseFunc, rec *safe.Recorder) func() {
	w, ok := c.(cluster.Watcher)
	if !ok {
		return func() {}
	}
	done := make(chan struct{})
	rec.Go("cluster watch", func() {
		select {
		case err := <-w.Failed():
			stop(&clusterFailure{err})
		case <-done:
		}
	})
	return func() { close(done) }
}

// clusterFailed returns why the cluster stopped the run, or nil.
func clusterFailed(ctx context.Context) error {
	var f *clusterFailure
	if errors.As(context.Cause(ctx), &f) {
		return f.err
	}
	return nil
}

// notRun records the scenarios a cluster failure or an internal error kept
// from running, as skipped.
func notRun(ctx context.Context, rep *report.Report, rest []scenarios.Scenario) {
	why := "the run was stopped"
	var f *internalFailure
	if err := clusterFailed(ctx); err != nil {
		why = err.Error()
	} else if errors.As(context.Cause(ctx), &f) {
		why = "an internal error stopped the run"
	} else if ctx.Err() != nil {
		why = "the run was interrupted"
	}
	for _, s := range rest {
		rep.Scenarios = append(rep.Scenarios, &report.Scenario{
			Name: s.Name(), Skipped: true, NotRun: true, Findings: []string{},
			Error: fmt.Sprintf("not run: %s", strings.TrimSpace(why)),
		})
	}
}

// recordPanics adds to rep the panics of all it does not hold yet, as
// internal errors of scenario ("": of none), and returns them.
func recordPanics(rep *report.Report, all []*safe.PanicError, scenario string) []*safe.PanicError {
	added := all[min(len(rep.InternalErrors), len(all)):]
	for _, p := range added {
		rep.InternalErrors = append(rep.InternalErrors, report.InternalError{
			Scenario: scenario, Where: p.Where, Value: fmt.Sprint(p.Value), Stack: p.Stack,
		})
	}
	return added
}
