package scenarios

// cluster-restart produces with acks=all, stops every node, starts them all
// and reads everything back; then does it again with every node killed
// instead of stopped: the durability claim "zero message loss across
// unexpected shutdowns".
//
// Measures: the time until every node was listed and every partition had a
// leader and its full in-sync replica set again, per variant.
// Fails: on any acknowledged message lost (after either restart, the second
// read covers what was produced before the first), duplicated, reordered
// or misplaced; on a cluster not whole again within faults.recovery_timeout.
// Not applicable: without node control.
// Cannot detect: on the embedded cluster, loss at a hard kill (kfake saves
// its data when it shuts down, so a kill of every node is a clean stop);
// loss of writes that were acknowledged but never flushed needs a real
// cluster (spawn or attach mode).

import (
	"context"
	"fmt"
	"time"

	"github.com/chronik-e2e/chronik-e2e/pkg/cluster"
	"github.com/chronik-e2e/chronik-e2e/pkg/verify"
)

func init() {
	Register(faultScenario{
		name:    "cluster-restart",
		summary: "stop every node, then kill every node, start them all again: every acked message is still there, in order",
		ops:     []cluster.Op{cluster.OpStop, cluster.OpKill, cluster.OpStart},
		body:    clusterRestart,
	})
}

func clusterRestart(ctx context.Context, k *faultKit) error {
	if err := k.createTopic(ctx, "cluster-restart"); err != nil {
		return err
	}
	s, err := k.startStream(ctx, verify.Mode{Acks: "all"})
	if err != nil {
		return err
	}
	for i, op := range []cluster.Op{cluster.OpStop, cluster.OpKill} {
		if i == 0 {
			err = s.warmup(ctx)
		} else {
			s.resume()
			err = k.settle(ctx)
		}
		if err != nil {
			return err
		}
		s.drain(ctx)
		variant := fmt.Sprintf("%s every node", op)
		for _, n := range k.nodes {
			if _, err := k.do(ctx, op, n); err != nil {
				return err
			}
		}
		started := time.Now()
		for _, n := range k.nodes {
			if _, err := k.do(ctx, cluster.OpStart, n); err != nil {
				return err
			}
		}
		if whole, err := k.awaitWhole(ctx, started, variant, string(op)+"_recovered_s"); !whole {
			return err
		}
		rb, err := s.readBack(ctx)
		if err != nil {
			return fmt.Errorf("after %s: %w", variant, err)
		}
		k.judge(s, rb, judged{prefix: string(op) + "_", label: fmt.Sprintf("acks=all, %s all", op)})
	}
	return nil
}
