package scenarios

// exactly-once-failover is the exactly-once scenario with the cluster
// failing under it. Two faults, one after the other, each in the middle of
// a processor's transaction (its output records written, its input offsets
// not yet added, nothing committed): in the second transaction of all, the
// node leading the most partitions of the topics (or faults.target) is
// killed; in the sixth, the node coordinating that processor's
// transactions (FindCoordinator tells which). After each kill the scenario
// waits for every partition to have a leader again, lets the processor
// commit (or fail to, and abort), then starts the node again and waits
// until it is back in every in-sync replica set; the other processors keep
// working throughout, and the processor killed in the third transaction is
// still killed and replaced as in exactly-once. The judgement is
// exactly-once's: faults change no rule, so a transaction open when its
// processor or the coordinator died ends committed (its records in the
// output once) or aborted (reprocessed, so again once), never partly;
// nothing uncommitted may become visible after the restart.
//
// Measures: election_s, isr_restored_s, and what exactly-once measures.
// Fails: as exactly-once; on a partition without a leader
// faults.election_timeout after a kill or a node not back in every ISR
// within faults.recovery_timeout; when the processors ended before the
// second fault (raise transactions.count).
// Not applicable: without node control, with one node, or with
// replication factor 1.
// Cannot detect: what a kill at another moment of a transaction (between
// produce requests, while the markers are written) would show.

import (
	"context"
	"fmt"
	"sync"

	"github.com/chronik-e2e/chronik-e2e/pkg/cluster"
)

func init() {
	Register(faultScenario{
		name:     "exactly-once-failover",
		summary:  "exactly-once with the partition leader and the transaction coordinator killed mid-transaction: every input record in the output once, in order",
		ops:      []cluster.Op{cluster.OpKill, cluster.OpStart},
		minNodes: 2, minRF: 2, needs: "a killed node's partitions need another replica to take over",
		body: exactlyOnceFailover,
	})
}

// eosFaultAt are the transactions (counted over every processor's) in
// which exactly-once-failover kills a node: the leader of the most
// partitions, then the transaction coordinator.
var eosFaultAt = [2]int{2, 6}

// eosFailoverSuffix names the scenario's topics, group and transactional ids.
const eosFailoverSuffix = "eos-failover"

func exactlyOnceFailover(ctx context.Context, k *faultKit) error {
	var (
		mu       sync.Mutex
		faultErr error
		injected int
		killed   = map[int]cluster.Node{} // by transaction
		one      sync.Mutex               // held from a kill until its node is back: one node down at a time
	)
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if faultErr == nil {
			faultErr = err
		}
	}
	hooks := txnHooks{
		beforeEnd: func(ctx context.Context, slot, n int) {
			if n != eosFaultAt[0] && n != eosFaultAt[1] {
				return
			}
			one.Lock()
			var (
				node cluster.Node
				why  string
				err  error
			)
			if n == eosFaultAt[0] {
				node, why, err = k.pickTarget(false)
			} else {
				id := fmt.Sprintf("%s-%d", eosTxnIDs(k.env, eosFailoverSuffix), slot)
				node, err = k.txnCoordinator(ctx, id)
				why = "it coordinates " + id + "'s transactions"
			}
			if err != nil {
				one.Unlock()
				fail(err)
				return
			}
			k.step.Notef("transaction %d (processor %d's): its records written, node %d killed before it committed: %s", n, slot, node.ID, why)
			at, err := k.do(ctx, cluster.OpKill, node)
			if err != nil {
				one.Unlock()
				fail(err)
				return
			}
			mu.Lock()
			killed[n] = node
			injected++
			mu.Unlock()
			if _, err := k.awaitLeaders(ctx, at, node.ID); err != nil {
				fail(err)
			}
		},
		afterEnd: func(ctx context.Context, _, n int) {
			mu.Lock()
			node, ok := killed[n]
			delete(killed, n)
			mu.Unlock()
			if !ok {
				return
			}
			defer one.Unlock()
			at, err := k.do(ctx, cluster.OpStart, node)
			if err != nil {
				fail(err)
				return
			}
			if err := k.awaitBack(ctx, node.ID, at); err != nil {
				fail(err)
			}
		},
	}
	if err := runEOS(ctx, k, eosFailoverSuffix, hooks); err != nil {
		return err
	}
	mu.Lock()
	defer mu.Unlock()
	if faultErr == nil && injected < len(eosFaultAt) {
		k.step.Failf("%d of %d faults injected: the processors wrote fewer than %d transactions; raise transactions.count (%d)",
			injected, len(eosFaultAt), eosFaultAt[1], k.env.Profile.Transactions.Count)
	}
	return faultErr
}
