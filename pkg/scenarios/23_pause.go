package scenarios

// pause produces continuously with acks=all to its own topic and freezes
// the node leading the most partitions (faults.target) with SIGSTOP until
// new leaders are elected (past the cluster's election timeout), keeps
// producing, then thaws it with SIGCONT: a leader waking up must not accept
// writes it then loses, and must rejoin as every partition's in-sync
// replica.
//
// Measures: the time until metadata showed new leaders, unavailability
// windows, produce errors, the ISR shrink while it was frozen and the time
// until it was back in every in-sync replica set after SIGCONT.
// Fails: on any acknowledged message lost, duplicated, reordered or
// misplaced; on a partition without a leader other than the frozen node
// faults.election_timeout after the pause; on the frozen node still listed
// in sync faults.isr_timeout after the pause; on it not back in every
// in-sync replica set faults.recovery_timeout after SIGCONT; on a follower
// serving other records than its leader.
// Not applicable: without node control that can pause and resume nodes,
// on the embedded cluster (no failure detector: a frozen node keeps its
// leadership), with fewer than 3 nodes or replication factor below 3.
// Cannot detect: a leader that accepts writes while frozen past
// faults.election_timeout and loses none of them.

import (
	"context"

	"github.com/chronik-e2e/chronik-e2e/pkg/cluster"
	"github.com/chronik-e2e/chronik-e2e/pkg/verify"
)

func init() {
	Register(faultScenario{
		name:     "pause",
		summary:  "SIGSTOP the leader of the most partitions past the election, SIGCONT it while producing with acks=all: the woken leader loses nothing acked",
		ops:      []cluster.Op{cluster.OpPause, cluster.OpResume},
		minNodes: 3, minRF: 3, needs: "the frozen leader's peers must keep a majority",
		body: func(ctx context.Context, k *faultKit) error {
			if _, ok := k.env.Cluster.(*cluster.Embedded); ok {
				return NotApplicable("the embedded cluster has no failure detector: a frozen node keeps its leadership, so no election follows a pause")
			}
			if err := k.createTopic(ctx, "pause"); err != nil {
				return err
			}
			s, err := k.startStream(ctx, verify.Mode{Acks: "all"})
			if err != nil {
				return err
			}
			if err := k.failover(ctx, s, cluster.OpPause, false, ""); err != nil {
				return err
			}
			return k.readReplicas(ctx, "after SIGCONT")
		},
	})
}
