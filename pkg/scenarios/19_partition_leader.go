package scenarios

// partition-leader produces continuously with acks=all to its own topic and
// cuts the node leading the most partitions (faults.target) off from its
// peers, both ways, every port: the runner still reaches it, so the
// producer keeps writing to it until it learns of a new leader. A new
// leader must be elected on the majority side; acks=all writes to the old
// leader must fail or time out (none may be acknowledged and then lost);
// after the heal the old leader must rejoin, back in every in-sync replica
// set, and every replica must hold the same log.
//
// Measures: the time until metadata showed new leaders, the unavailability
// windows and produce errors, the time until the node was back in every
// in-sync replica set after the heal.
// Fails: on any acknowledged message lost, duplicated, reordered or
// misplaced; on a partition still led by the cut-off node
// faults.election_timeout after the cut (a split brain keeps it); on the
// node not back in every in-sync replica set faults.recovery_timeout after
// the heal; on a follower serving other records than its leader.
// Not applicable: without a network controller (cluster.Network says why:
// spawn mode without faults.network, attach mode without
// faults.hooks.partition, the embedded cluster), with fewer than 3 nodes
// or replication factor below 3.
// Cannot detect: a stale leadership only the cut-off node's own metadata
// shows (the runner's metadata comes from whichever node answers), or a
// split brain shorter than a metadata poll.

import (
	"context"
	"fmt"
)

func init() {
	Register(faultScenario{
		name:     "partition-leader",
		summary:  "cut the leader of the most partitions off from its peers while producing with acks=all: a new leader on the majority side, nothing acked lost, the old one rejoins",
		network:  true,
		minNodes: 3, minRF: 3, needs: "the leader's peers must keep a majority",
		body: func(ctx context.Context, k *faultKit) error {
			return k.cutLeader(ctx, "partition-leader", func(target int32, _ []int32) (string, string, []netCut) {
				return fmt.Sprintf("partition node %d", target), fmt.Sprintf("partition node %d from its peers", target),
					[]netCut{{target, isolateLinks(k.links(), target)}}
			})
		},
	})
}
