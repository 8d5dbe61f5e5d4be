package scenarios

// rolling-restart stops and starts the nodes one at a time, in id order,
// while producing with acks=all, waiting after each start until the node is
// back in every in-sync replica set, as an operator upgrading the cluster
// does; then reads everything back.
//
// Measures: per node, elections and the return to the in-sync replica sets;
// the unavailability windows of every partition.
// Fails: on any acknowledged message lost, duplicated, reordered or
// misplaced; on a partition without a leader faults.election_timeout after
// a stop; on a node not back in every in-sync replica set within
// faults.recovery_timeout.
// Not applicable: without node control (stop and start), with one node, or
// with replication factor 1.
// Cannot detect: on the embedded cluster, loss or slow catch-up (one copy of
// the data).

import (
	"context"
	"fmt"

	"github.com/chronik-e2e/chronik-e2e/pkg/cluster"
	"github.com/chronik-e2e/chronik-e2e/pkg/verify"
)

func init() {
	Register(faultScenario{
		name:     "rolling-restart",
		summary:  "restart the nodes one at a time while producing with acks=all; nothing acked is lost",
		ops:      []cluster.Op{cluster.OpStop, cluster.OpStart},
		minNodes: 2, minRF: 2, needs: "a stopped node's partitions need another replica to lead them",
		body: rollingRestart,
	})
}

func rollingRestart(ctx context.Context, k *faultKit) error {
	if err := k.createTopic(ctx, "rolling"); err != nil {
		return err
	}
	s, err := k.startStream(ctx, verify.Mode{Acks: "all"})
	if err != nil {
		return err
	}
	if err := s.warmup(ctx); err != nil {
		return err
	}
	leaderHit := false
	for _, n := range k.nodes {
		leaderHit = leaderHit || len(k.watch.snapshot().ledBy()[n.ID]) > 0
		at, err := k.do(ctx, cluster.OpStop, n)
		if err != nil {
			return err
		}
		elected, err := k.awaitLeaders(ctx, at, n.ID)
		if err != nil {
			return err
		}
		if elected {
			if err := s.awaitAcks(ctx, at, k.cfg.ElectionTimeout.Duration, fmt.Sprintf("after stop node %d", n.ID)); err != nil {
				if ctx.Err() != nil {
					return err
				}
				k.step.Notef("%s: %v", s.mode, err)
			}
		}
		started, err := k.do(ctx, cluster.OpStart, n)
		if err != nil {
			return err
		}
		if err := k.awaitBack(ctx, n.ID, started); err != nil {
			return err
		}
		if k.step.Failed() {
			break // the next node's restart would only pile on
		}
		if err := k.settle(ctx); err != nil {
			return err
		}
	}
	return k.finish(ctx, s, judged{leaderHit: leaderHit})
}
