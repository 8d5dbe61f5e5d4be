package scenarios

// acks-matrix runs the leader kill of leader-failover three times, with
// acks=0, acks=1 and acks=all, each on its own topic, and tables
// sent/acked/failed/lost/duplicated per mode. What each mode may lose
// follows from the guarantee table: acks=0 acknowledges nothing, so what
// does not come back is counted, not failed; acks=1 may lose what the killed
// leader had not passed on, reported; acks=all with replication factor 2 or
// more may lose nothing, ever.
//
// Measures: per mode, delivery counts and unavailability windows.
// Fails: on a loss the mode does not allow, on any duplicate (the producer
// does not retry), reordering or misplaced record; on a partition without a
// leader faults.election_timeout after a kill.
// Not applicable: without node control, with one node, or with replication
// factor 1.
// Cannot detect: on the embedded cluster, the acks=1 and acks=0 losses a
// real cluster may show (one copy of the data).

import (
	"context"

	"github.com/chronik-e2e/chronik-e2e/pkg/cluster"
	"github.com/chronik-e2e/chronik-e2e/pkg/verify"
)

func init() {
	Register(faultScenario{
		name:     "acks-matrix",
		summary:  "kill a leader under acks 0, 1 and all; table what each lost or duplicated against what its mode allows",
		ops:      []cluster.Op{cluster.OpKill, cluster.OpStart},
		minNodes: 2, minRF: 2, needs: "a killed leader needs another replica to take over",
		body: func(ctx context.Context, k *faultKit) error {
			for _, acks := range []string{"0", "1", "all"} {
				if err := k.createTopic(ctx, "acks-"+acks); err != nil {
					return err
				}
				s, err := k.startStream(ctx, verify.Mode{Acks: acks})
				if err != nil {
					return err
				}
				if err := k.failover(ctx, s, cluster.OpKill, false, "acks_"+acks+"_"); err != nil {
					return err
				}
				s.close()
			}
			return nil
		},
	})
}
