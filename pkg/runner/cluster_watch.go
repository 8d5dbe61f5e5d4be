package runner

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/IBM/sarama"

	"github.com/chronik-e2e/chronik-e2e/pkg/cluster"
	"github.com/chronik-e2e/chronik-e2e/pkg/profile"
	"github.com/chronik-e2e/chronik-e2e/pkg/report"
	"github.com/chronik-e2e/chronik-e2e/pkg/scenarios"
)

// startSpawn starts the profile's broker processes; their work dir is named
// after the profile and the run.
func startSpawn(ctx context.Context, p *profile.Profile, rep *report.Report, status func(string, ...any)) (cluster.Cluster, error) {
	name := p.Name
	if len(rep.RunID) >= 8 {
		name += "-" + rep.RunID[len(rep.RunID)-8:]
	}
	return cluster.StartSpawn(ctx, p.Cluster.Nodes, p.Cluster.Spawn, cluster.SpawnOptions{Name: name, Status: status})
}

// waitReady waits with the cluster's own readiness check when it has one
// (spawn mode), else by polling metadata from its bootstrap addresses.
func waitReady(ctx context.Context, c cluster.Cluster, nodes int, cfg *sarama.Config, status func(string, ...any)) ([]report.Broker, error) {
	if rw, ok := c.(cluster.ReadyWaiter); ok {
		return rw.WaitReady(ctx, cfg, status)
	}
	return cluster.WaitReady(ctx, c.Bootstrap(), nodes, cfg, status)
}

// describe adds what the cluster knows of its nodes to the report.
func describe(c cluster.Cluster, rep *report.Report) {
	if d, ok := c.(cluster.Describer); ok {
		d.Describe(&rep.Cluster)
	}
}

// closeStarted stops a cluster the runner started and removes its work
// dir when the run passed and keep is not set; a failed run keeps it.
func closeStarted(c cluster.Cluster, rep *report.Report, keep bool) {
	_ = c.Close()
	w, ok := c.(cluster.WorkDirOwner)
	if !ok || !rep.Passed || keep {
		return
	}
	if err := w.RemoveWorkDir(); err == nil {
		rep.Cluster.WorkDirRemoved = true
	}
}

// clusterFailure is the cause of a run stopped because the cluster failed
// (a node exited).
type clusterFailure struct{ err error }

func (f *clusterFailure) Error() string { return f.err.Error() }

// watchCluster stops the run with stop when the cluster reports a failure;
// the returned func ends the watch.
func watchCluster(c cluster.Cluster, stop context.CancelCauseFunc) func() {
	w, ok := c.(cluster.Watcher)
	if !ok {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		select {
		case err := <-w.Failed():
			stop(&clusterFailure{err})
		case <-done:
		}
	}()
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

// notRun records the scenarios a cluster failure kept from running, as skipped.
func notRun(ctx context.Context, rep *report.Report, rest []scenarios.Scenario) {
	why := "the run was stopped"
	if err := clusterFailed(ctx); err != nil {
		why = err.Error()
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
