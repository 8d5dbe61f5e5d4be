package scenarios

// node-restart kills the node leading the fewest partitions of its topic (a
// follower of the most; or faults.target when that names a node or random)
// while producing with acks=all, keeps producing, starts it again, waits
// until it is back in every in-sync replica set and reads everything back.
// With as many partitions as nodes or more, that node still leads some
// partitions: the report names them.
//
// Measures: the time until the restarted node was back in every in-sync
// replica set; unavailability windows and produce errors of the partitions
// it led, if any.
// Fails: on any acknowledged message lost, duplicated, reordered or
// misplaced; on a node not back in every in-sync replica set
// faults.recovery_timeout after it was started.
// Not applicable: without node control, with one node, or with replication
// factor 1.
// Cannot detect: on the embedded cluster, a slow catch-up (one copy of the
// data: a restarted node is in sync at once).

import (
	"context"

	"github.com/chronik-e2e/chronik-e2e/pkg/cluster"
	"github.com/chronik-e2e/chronik-e2e/pkg/verify"
)

func init() {
	Register(faultScenario{
		name:     "node-restart",
		summary:  "kill the node leading the fewest partitions while producing, start it again, time its return to every in-sync replica set",
		ops:      []cluster.Op{cluster.OpKill, cluster.OpStart},
		minNodes: 2, minRF: 2, needs: "a follower must have a leader to catch up from",
		body: func(ctx context.Context, k *faultKit) error {
			if err := k.createTopic(ctx, "restart"); err != nil {
				return err
			}
			s, err := k.startStream(ctx, verify.Mode{Acks: "all"})
			if err != nil {
				return err
			}
			return k.failover(ctx, s, cluster.OpKill, true, "")
		},
	})
}
