package scenarios

// leader-failover produces continuously with acks=all to its own topic,
// kills the node leading the most partitions (faults.target), keeps
// producing, starts the node again and reads everything back.
//
// Measures, per partition: the unavailability window (last acknowledgement
// before the kill, first after), the time until metadata showed a new
// leader, leader changes, produce errors by type during the window; the time
// until the node was back in every in-sync replica set.
// Fails: on any acknowledged message lost, duplicated, reordered or
// misplaced (the producer does not retry, so a duplicate is the cluster's);
// on a partition without a leader faults.election_timeout after the kill;
// on a node not back in every in-sync replica set faults.recovery_timeout
// after it was started.
// Not applicable: without node control (attach mode without faults.hooks),
// with one node, or with replication factor 1.
// Cannot detect: on the embedded cluster, loss or a slow election (one copy
// of the data, immediate elections); a lost message that the new leader
// never exposes in its high watermark is found, one exposed later is not.

import (
	"context"
	"fmt"
	"time"

	"github.com/chronik-e2e/chronik-e2e/pkg/cluster"
)

func init() { Register(leaderFailover{}) }

type leaderFailover struct{}

var _ Scenario = leaderFailover{}

func (leaderFailover) Name() string       { return "leader-failover" }
func (leaderFailover) Requires() []string { return nil }
func (leaderFailover) FaultsNodes()       {}
func (leaderFailover) Summary() string {
	return "kill the node leading the most partitions while producing with acks=all; time the elections, lose nothing acked"
}

func (f leaderFailover) Run(ctx context.Context, env *Env, step *Step) error {
	k, err := newFaultKit(env, step, f.Name(), cluster.OpKill, cluster.OpStart)
	if err != nil {
		return err
	}
	if err := k.requireNodes(2, 2, "a killed leader needs another replica to take over"); err != nil {
		return err
	}
	defer k.done(ctx)
	if err := k.createTopic(ctx, "failover"); err != nil {
		return err
	}
	s, err := k.startStream(streamMode{acks: "all"})
	if err != nil {
		return err
	}
	return k.failover(ctx, s, cluster.OpKill, false, "")
}

// failover takes the target node down with op while s produces (the leader
// of the most partitions, or with follower the one leading the fewest),
// waits for new leaders and acknowledgements, starts it again, waits until
// it is back in every in-sync replica set, then drains, reads back and
// judges s. Its metrics are named with prefix.
func (k *faultKit) failover(ctx context.Context, s *stream, op cluster.Op, follower bool, prefix string) error {
	if err := s.warmup(ctx); err != nil {
		return err
	}
	target, why, err := k.pickTarget(follower)
	if err != nil {
		return err
	}
	led := k.watch.snapshot().ledBy()[target.ID]
	k.step.Notef("%s node %d: it %s; it led partitions %v of %s", op, target.ID, why, led, k.topic)
	at, err := k.do(ctx, op, target)
	if err != nil {
		return err
	}
	elected, err := k.awaitLeaders(ctx, at, target.ID)
	if err != nil {
		return err
	}
	if elected {
		if err := s.awaitAcks(ctx, at, k.cfg.ElectionTimeout.Duration, fmt.Sprintf("after %s node %d", op, target.ID)); err != nil {
			if ctx.Err() != nil {
				return err
			}
			k.step.Notef("%s: %v", s.mode, err)
		}
	}
	if err := k.settle(ctx); err != nil {
		return err
	}
	started, err := k.do(ctx, cluster.OpStart, target)
	if err != nil {
		return err
	}
	if err := k.awaitBack(ctx, target.ID, started); err != nil {
		return err
	}
	if err := k.settle(ctx); err != nil {
		return err
	}
	return k.finish(ctx, s, judged{leaderHit: len(led) > 0, prefix: prefix})
}

// finish drains s, reads its topic back, judges it and records its windows.
func (k *faultKit) finish(ctx context.Context, s *stream, j judged) error {
	s.drain(ctx)
	end := time.Now()
	rb, err := s.verify(ctx)
	if err != nil {
		return err
	}
	k.judge(s, rb, j)
	k.recordWindows(s, end)
	return nil
}
