package scenarios

// cluster-restart produces with acks=all, stops every node, starts them all
// and reads everything back; then does it again with every node killed
// instead of stopped: the durability claim "zero message loss across
// unexpected shutdowns".
//
// Measures: the time until every node was listed and every partition had a
// leader and its full in-sync replica set again, per variant.
// Fails: on any acknowledged message lost (after either restart, the second
// read covers what was produced before the first), duplicated, reordered
// or misplaced; on a cluster not whole again within faults.recovery_timeout.
// Not applicable: without node control.
// Cannot detect: on the embedded cluster, loss at a hard kill (kfake saves
// its data when it shuts down, so a kill of every node is a clean stop);
// loss of writes that were acknowledged but never flushed needs a real
// cluster (spawn or attach mode).

import (
	"context"
	"fmt"
	"time"

	"github.com/chronik-e2e/chronik-e2e/pkg/cluster"
	"github.com/chronik-e2e/chronik-e2e/pkg/report"
)

func init() { Register(clusterRestart{}) }

type clusterRestart struct{}

var _ Scenario = clusterRestart{}

func (clusterRestart) Name() string       { return "cluster-restart" }
func (clusterRestart) Requires() []string { return nil }
func (clusterRestart) FaultsNodes()       {}
func (clusterRestart) Summary() string {
	return "stop every node, then kill every node, start them all again: every acked message is still there, in order"
}

func (c clusterRestart) Run(ctx context.Context, env *Env, step *Step) error {
	k, err := newFaultKit(env, step, c.Name(), cluster.OpStop, cluster.OpKill, cluster.OpStart)
	if err != nil {
		return err
	}
	defer k.done(ctx)
	if err := k.createTopic(ctx, "cluster-restart"); err != nil {
		return err
	}
	s, err := k.startStream(streamMode{acks: "all"})
	if err != nil {
		return err
	}
	for i, op := range []cluster.Op{cluster.OpStop, cluster.OpKill} {
		if i == 0 {
			err = s.warmup(ctx)
		} else {
			s.resume()
			err = k.settle(ctx)
		}
		if err != nil {
			return err
		}
		s.drain(ctx)
		variant := fmt.Sprintf("%s every node", op)
		for _, n := range k.nodes {
			if _, err := k.do(ctx, op, n); err != nil {
				return err
			}
		}
		started := time.Now()
		for _, n := range k.nodes {
			if _, err := k.do(ctx, cluster.OpStart, n); err != nil {
				return err
			}
		}
		if whole, err := k.awaitWhole(ctx, started, variant, string(op)+"_recovered_s"); !whole {
			return err
		}
		rb, err := s.verify(ctx)
		if err != nil {
			return fmt.Errorf("after %s: %w", variant, err)
		}
		k.judge(s, rb, judged{prefix: string(op) + "_", label: fmt.Sprintf("acks=all, %s all", op)})
	}
	return nil
}

// awaitWhole waits, up to faults.recovery_timeout, until metadata lists
// every node and every partition has a leader and its full in-sync replica
// set, and records the time as metric; it fails the scenario and returns
// false when that does not happen (with ctx's error when ctx ended first).
func (k *faultKit) awaitWhole(ctx context.Context, since time.Time, after, metric string) (bool, error) {
	rf := k.env.Profile.Topic.ReplicationFactor
	timeout := k.cfg.RecoveryTimeout.Duration
	snap, err := k.watch.waitFor(ctx, timeout, func(s snapshot) bool {
		return s.at.After(since) && len(s.brokers) >= len(k.nodes) && s.fullISR(rf, -1)
	})
	if err != nil && ctx.Err() != nil {
		return false, err
	}
	if err != nil {
		k.step.Failf("after %s the cluster was not whole again within faults.recovery_timeout (%s): brokers listed %v of %v, partitions without a leader %v",
			after, timeout, snap.brokers, k.nodeIDs(), snap.leaderless())
		return false, nil
	}
	took := snap.at.Sub(since)
	k.event(snap.at, report.EventISR, -1, -1, "after %s: every node listed, every partition led and fully in sync, %s after the first start", after, took.Round(time.Millisecond))
	k.step.Metric(metric, took.Seconds())
	return true, nil
}
