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
// of the data, immediate elections).

import (
	"context"

	"github.com/chronik-e2e/chronik-e2e/pkg/cluster"
	"github.com/chronik-e2e/chronik-e2e/pkg/verify"
)

func init() {
	Register(faultScenario{
		name:     "leader-failover",
		summary:  "kill the node leading the most partitions while producing with acks=all; time the elections, lose nothing acked",
		ops:      []cluster.Op{cluster.OpKill, cluster.OpStart},
		minNodes: 2, minRF: 2, needs: "a killed leader needs another replica to take over",
		body: func(ctx context.Context, k *faultKit) error {
			if err := k.createTopic(ctx, "failover"); err != nil {
				return err
			}
			s, err := k.startStream(ctx, verify.Mode{Acks: "all"})
			if err != nil {
				return err
			}
			return k.failover(ctx, s, cluster.OpKill, false, "")
		},
	})
}
