package scenarios

// Steps the fault scenarios share: a failover (take a node down while a
// stream produces, wait for new leaders, start it again, wait until it is
// back in sync, judge), and waiting for elections and for the cluster to be
// whole again.

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/IBM/sarama"

	"github.com/chronik-e2e/chronik-e2e/pkg/cluster"
	"github.com/chronik-e2e/chronik-e2e/pkg/report"
)

// failover takes the target node down with op while s produces (the leader
// of the most partitions, or with follower the one leading the fewest),
// waits for new leaders and acknowledgements, starts it again (resumes it
// after OpPause), waits until it is back in every in-sync replica set, then
// drains, reads back and judges s. Its metrics are named with prefix.
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
	if err := k.awaitISRShrink(ctx, target.ID); err != nil {
		return err
	}
	back := cluster.OpStart
	if op == cluster.OpPause {
		back = cluster.OpResume
	}
	started, err := k.do(ctx, back, target)
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

// awaitLeaders waits, up to faults.election_timeout, until every partition
// has a leader other than the nodes in gone. It fails the scenario, naming
// them, for the partitions that had none, and returns false.
func (k *faultKit) awaitLeaders(ctx context.Context, since time.Time, gone ...int32) (bool, error) {
	timeout := k.cfg.ElectionTimeout.Duration
	k.env.status("  %s: waiting up to %s for every partition to have a leader after %s …", k.name, timeout, k.lastMark())
	snap, err := k.watch.waitFor(ctx, timeout, func(s snapshot) bool {
		if !s.at.After(since) {
			return false
		}
		for _, p := range s.parts {
			if p.leader < 0 || slices.Contains(gone, p.leader) {
				return false
			}
		}
		return true
	})
	if err == nil {
		k.step.Metric("election_s", snap.at.Sub(since).Seconds())
		return true, nil
	}
	if ctx.Err() != nil {
		return false, err
	}
	var without []string
	for _, p := range snap.parts {
		if p.leader < 0 || slices.Contains(gone, p.leader) {
			leader := "no leader"
			if p.leader >= 0 {
				leader = fmt.Sprintf("leader still node %d", p.leader)
			}
			without = append(without, fmt.Sprintf("partition %d (%s)", p.id, leader))
		}
	}
	k.step.Failf("no leader elected within faults.election_timeout (%s) after %s: %s", timeout, k.lastMark(), strings.Join(without, ", "))
	return false, nil
}

// awaitBack waits, up to faults.recovery_timeout, until metadata lists node
// again and every partition has its full in-sync replica set with it, and
// records the time on the timeline. It fails the scenario when that does not happen.
func (k *faultKit) awaitBack(ctx context.Context, id int32, since time.Time) error {
	rf := k.env.Profile.Topic.ReplicationFactor
	timeout := k.cfg.RecoveryTimeout.Duration
	listed := false
	k.env.status("  %s: waiting up to %s for node %d to be back in every in-sync replica set …", k.name, timeout, id)
	snap, err := k.watch.waitFor(ctx, timeout, func(s snapshot) bool {
		in := s.at.After(since) && slices.Contains(s.brokers, id)
		listed = listed || in
		return in && s.fullISR(rf, id)
	})
	if err == nil {
		took := snap.at.Sub(since)
		k.event(snap.at, report.EventISR, id, -1, "every partition's in-sync replicas are complete again with node %d, %s after %s", id, took.Round(time.Millisecond), k.lastMark())
		k.step.Metric("isr_restored_s", took.Seconds())
		return nil
	}
	if ctx.Err() != nil {
		return err
	}
	if !listed {
		k.step.Failf("node %d was started but metadata did not list it within faults.recovery_timeout (%s); brokers listed: %v", id, timeout, snap.brokers)
		return nil
	}
	var behind []string
	for _, p := range snap.parts {
		if len(p.isr) < rf || !slices.Contains(p.isr, id) && slices.Contains(p.replicas, id) {
			behind = append(behind, fmt.Sprintf("partition %d (replicas %v, in sync %v)", p.id, p.replicas, p.isr))
		}
	}
	k.step.Failf("node %d was not back in every in-sync replica set within faults.recovery_timeout (%s): %s", id, timeout, strings.Join(behind, ", "))
	return nil
}

// settle keeps the scenario going (and its producers producing) for faults.settle.
func (k *faultKit) settle(ctx context.Context) error {
	k.env.status("  %s: producing for %s more (faults.settle) …", k.name, k.cfg.Settle.Duration)
	return sleepCtx(ctx, k.cfg.Settle.Duration)
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

// highWatermarks returns the end offset of each partition of the kit's topic.
func (k *faultKit) highWatermarks(ctx context.Context) (map[int32]int64, error) {
	client, err := within(ctx, func() (sarama.Client, error) { return sarama.NewClient(k.env.Cluster.Bootstrap(), k.env.Config()) })
	if err != nil {
		return nil, fmt.Errorf("connect for the high watermarks of %s: %w", k.topic, err)
	}
	defer closeWithin(ctx, 5*time.Second, func() { _ = client.Close() })
	ids := make([]int32, k.env.Profile.Topic.Partitions)
	for i := range ids {
		ids[i] = int32(i)
	}
	ends, err := offsetsOf(ctx, client, k.topic, ids, sarama.OffsetNewest)
	if err != nil {
		return nil, err
	}
	hwms := map[int32]int64{}
	for i, p := range ids {
		hwms[p] = ends[i]
	}
	return hwms, nil
}

// ctxOr returns ctx's reason to stop, or nil when the scenario merely failed a check.
func ctxOr(ctx context.Context) error {
	if ctx.Err() != nil {
		return fmt.Errorf("stopped by %s", stopped(ctx))
	}
	return nil
}
