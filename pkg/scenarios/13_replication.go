package scenarios

// replication checks, in the style of Chronik's regression_replication.sh,
// that what metadata says about replication is true. For acks=0, acks=1
// and acks=all in turn, on a fresh topic each: produce for faults.warmup,
// stop and let the topic settle, ask every node what it physically holds
// (the placement hook), read every partition from every replica where the
// brokers serve followers' fetches (KIP-392) and compare them with the
// leader, kill the node leading the most partitions, require
// its in-sync replica sets to drop it within faults.isr_timeout, read
// everything back from the survivors, start it again, require it back in
// every in-sync replica set and holding everything again.
//
// Measures: per mode, the ISR shrink and restore times (report: faults.isr),
// the time for placement to converge, delivery counts.
// Fails: on a follower that serves fewer or other records than its leader;
// on a replica that holds fewer partitions or records than metadata
// says it replicates (Chronik's #29: acks=1 and acks=all replicated nothing
// while metadata listed isr=[1,2,3]); on a killed node still in sync
// faults.isr_timeout later; on any acknowledged record the survivors cannot
// serve (producing stopped and the topic settled before the kill, so at
// acks=1 too nothing acknowledged may be lost); on a partition without a
// leader after the kill; on the node not back in every ISR in time.
// Not applicable: without node control, with fewer than 2 nodes or
// replication factor below 2. Placement is not applicable without a
// placement hook, ISR honesty on the embedded cluster (its replicas follow
// the live brokers): the report says so.
// Cannot detect: a replica that holds different records when the brokers
// do not serve followers' fetches (the report says the reads came from
// leaders only), or a lag that heals within the settle time.

import (
	"context"
	"fmt"

	"github.com/chronik-e2e/chronik-e2e/pkg/cluster"
	"github.com/chronik-e2e/chronik-e2e/pkg/verify"
)

func init() {
	Register(faultScenario{
		name:     "replication",
		summary:  "for acks 0, 1 and all: every replica holds every partition, the ISR drops a killed leader and takes it back, the survivors serve every record",
		ops:      []cluster.Op{cluster.OpKill, cluster.OpStart},
		minNodes: 2, minRF: 2, needs: "replication needs replicas",
		body: func(ctx context.Context, k *faultKit) error {
			for _, acks := range []string{"0", "1", "all"} {
				if err := k.replicate(ctx, acks); err != nil {
					return err
				}
			}
			return nil
		},
	})
}

// replicate runs the replication checks for one acks mode on its own topic.
func (k *faultKit) replicate(ctx context.Context, acks string) error {
	if err := k.createTopic(ctx, "repl-"+acks); err != nil {
		return err
	}
	s, err := k.startStream(ctx, verify.Mode{Acks: acks})
	if err != nil {
		return err
	}
	defer s.close()
	if err := s.warmup(ctx); err != nil {
		return err
	}
	s.drain(ctx)
	if err := k.settle(ctx); err != nil {
		return err
	}
	mode := "acks=" + acks
	if err := k.checkPlacement(ctx, mode+", after producing"); err != nil {
		return err
	}
	if err := k.readReplicas(ctx, mode+", after producing"); err != nil {
		return err
	}
	target, why, err := k.pickTarget(false)
	if err != nil {
		return err
	}
	led := k.watch.snapshot().ledBy()[target.ID]
	k.step.Notef("%s: kill node %d: it %s; it led partitions %v of %s", mode, target.ID, why, led, k.topic)
	at, err := k.do(ctx, cluster.OpKill, target)
	if err != nil {
		return err
	}
	if _, err := k.awaitLeaders(ctx, at, target.ID); err != nil {
		return err
	}
	if err := k.awaitISRShrink(ctx, target.ID); err != nil {
		return err
	}
	// Producing stopped and the topic settled before the kill: every
	// acknowledged record had time to reach every replica, so none may be
	// lost, at acks=1 too.
	if err := k.finish(ctx, s, judged{leaderHit: false, prefix: "acks_" + acks + "_", label: mode + ", survivors"}); err != nil {
		return err
	}
	started, err := k.do(ctx, cluster.OpStart, target)
	if err != nil {
		return err
	}
	if err := k.awaitBack(ctx, target.ID, started); err != nil {
		return err
	}
	return k.checkPlacement(ctx, fmt.Sprintf("%s, after node %d restarted", mode, target.ID))
}
