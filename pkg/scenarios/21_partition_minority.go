package scenarios

// partition-minority produces continuously with acks=all to its own topic
// and splits the cluster in two: a minority of ⌊(n-1)/2⌋ nodes (those
// leading the fewest partitions, or faults.target's node first) is cut off
// from the majority, both ways. The majority must keep (or elect) a leader
// for every partition and keep acknowledging; the minority must lead
// nothing; after the heal the minority must be back in every in-sync
// replica set and every replica must hold the same log.
//
// Measures: elections (of the partitions the minority led), unavailability
// windows, produce errors, the minority's return to the in-sync replicas.
// Fails: on any acknowledged message lost, duplicated, reordered or
// misplaced; on a partition led by a minority node
// faults.election_timeout after the split; on a minority node not back in
// every in-sync replica set faults.recovery_timeout after the heal; on a
// follower serving other records than its leader.
// Not applicable: without a network controller, with fewer than 3 nodes
// or replication factor below 3.
// Cannot detect: what only the minority's own metadata shows.

import (
	"context"
	"fmt"
	"slices"
	"sort"

	"github.com/chronik-e2e/chronik-e2e/pkg/profile"
)

func init() {
	Register(faultScenario{
		name:     "partition-minority",
		summary:  "split a minority of the nodes off from the majority while producing with acks=all: the majority leads and acknowledges, nothing acked lost",
		network:  true,
		minNodes: 3, minRF: 3, needs: "a minority needs a majority to split from",
		body: func(ctx context.Context, k *faultKit) error {
			s, err := k.warmStream(ctx, "partition-minority")
			if err != nil {
				return err
			}
			minority, majority := minoritySplit(k.minorityFirst())
			led := k.watch.snapshot().ledBy()
			var ledByMinority []int32
			for _, id := range minority {
				ledByMinority = append(ledByMinority, led[id]...)
			}
			slices.Sort(ledByMinority)
			k.step.Notef("split nodes %s (leading partitions %v of %s) from nodes %s", ints(minority), ledByMinority, k.topic, ints(majority))
			return k.netFailover(ctx, s, fmt.Sprintf("split %s|%s", ints(minority), ints(majority)),
				splitCuts(k.links(), minority, majority), minority)
		},
	})
}

// minorityFirst orders the nodes for minoritySplit: faults.target's node
// first when it names one, then by partitions led, fewest first (ties by id).
func (k *faultKit) minorityFirst() []int32 {
	led := k.watch.snapshot().ledBy()
	ids := k.nodeIDs()
	slices.Sort(ids)
	sort.SliceStable(ids, func(i, j int) bool { return len(led[ids[i]]) < len(led[ids[j]]) })
	if t, err := profile.ParseTarget(k.cfg.Target); err == nil && t.Kind == "node" && slices.Contains(ids, t.Node) {
		ids = append([]int32{t.Node}, others(ids, t.Node)...)
	}
	return ids
}
