package scenarios

// one-way produces continuously with acks=all to its own topic and cuts
// the links from the node leading the most partitions (faults.target) to
// every peer, one way only: its peers no longer hear it, while it still
// hears them (and the runner still reaches it). Its peers must elect new
// leaders; it must not keep acknowledging writes it cannot replicate; after
// the heal it must be back in every in-sync replica set and every replica
// must hold the same log.
//
// Measures: elections, unavailability windows, produce errors, the node's
// return to the in-sync replicas.
// Fails: on any acknowledged message lost, duplicated, reordered or
// misplaced; on a partition still led by the node
// faults.election_timeout after the cut; on the node not back in every
// in-sync replica set faults.recovery_timeout after the heal; on a follower
// serving other records than its leader.
// Not applicable: without a network controller, with fewer than 3 nodes or
// replication factor below 3.
// Cannot detect: a broker whose peers need the reverse direction to notice
// (it would keep its leadership: that fails here, by name, as a partition
// still led by the node).

import (
	"context"
	"fmt"
)

func init() {
	Register(faultScenario{
		name:     "one-way",
		summary:  "cut the links from the leader of the most partitions to its peers, one way, while producing with acks=all: they elect new leaders, nothing acked lost",
		network:  true,
		minNodes: 3, minRF: 3, needs: "the peers must keep a majority without the leader",
		body: func(ctx context.Context, k *faultKit) error {
			return k.cutLeader(ctx, "one-way", func(target int32, peers []int32) (string, string, []netCut) {
				return fmt.Sprintf("one-way %d→%s", target, ints(peers)), fmt.Sprintf("cut node %d → nodes %s, one way", target, ints(peers)),
					[]netCut{{target, oneWayLinks(k.links(), target, peers...)}}
			})
		},
	})
}
