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

	"github.com/chronik-e2e/chronik-e2e/pkg/verify"
)

func init() {
	Register(faultScenario{
		name:     "one-way",
		summary:  "cut the links from the leader of the most partitions to its peers, one way, while producing with acks=all: they elect new leaders, nothing acked lost",
		network:  true,
		minNodes: 3, minRF: 3, needs: "the peers must keep a majority without the leader",
		body: func(ctx context.Context, k *faultKit) error {
			if err := k.createTopic(ctx, "one-way"); err != nil {
				return err
			}
			s, err := k.startStream(ctx, verify.Mode{Acks: "all"})
			if err != nil {
				return err
			}
			if err := s.warmup(ctx); err != nil {
				return err
			}
			target, why, err := k.pickTarget(false)
			if err != nil {
				return err
			}
			peers := others(k.nodeIDs(), target.ID)
			led := k.watch.snapshot().ledBy()[target.ID]
			k.step.Notef("cut node %d → nodes %s, one way: it %s; it led partitions %v of %s", target.ID, ints(peers), why, led, k.topic)
			return k.netFailover(ctx, s, fmt.Sprintf("one-way %d→%s", target.ID, ints(peers)),
				[]netCut{{target.ID, oneWayLinks(k.links(), target.ID, peers...)}}, []int32{target.ID})
		},
	})
}
