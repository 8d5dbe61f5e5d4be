package scenarios

// transactions-failover is the transactions scenario with the cluster
// failing under it: when producer 0's middle transaction has its records
// acknowledged and is about to commit or abort, the scenario kills the node
// that coordinates the producer's transactions (FindCoordinator tells
// which), waits for every partition to have a leader again, lets the
// producer end the transaction (or fail to), then starts the node again and
// waits until it is back in every in-sync replica set. The other producers
// keep writing throughout. The reads and verdicts are the transactions
// scenario's: faults change no rule, so a transaction the producer saw end
// must be visible as it ended, one whose ending failed (unknown) whole or
// not at all, and after the restart nothing aborted may be visible.
//
// Measures: election_s, isr_restored_s, and what transactions measures.
// Fails: as transactions, and on a partition without a leader
// faults.election_timeout after the kill or a node not back in every ISR
// within faults.recovery_timeout.
// Not applicable: without node control, with one node, or with
// replication factor 1.
// Cannot detect: what a kill at another moment of the transaction (between
// the produce requests, during the markers) would show; the moment is fixed.

import (
	"context"
	"fmt"
	"sync"

	"github.com/IBM/sarama"

	"github.com/chronik-e2e/chronik-e2e/pkg/cluster"
)

func init() {
	Register(faultScenario{
		name:     "transactions-failover",
		summary:  "kill the transaction coordinator mid-transaction: every transaction visible as its producer was told, whole or not at all",
		ops:      []cluster.Op{cluster.OpKill, cluster.OpStart},
		minNodes: 2, minRF: 2, needs: "a killed node's partitions need another replica to take over",
		body: transactionsFailover,
	})
}

func transactionsFailover(ctx context.Context, k *faultKit) error {
	mid := k.env.Profile.Transactions.Count / 2
	var (
		mu       sync.Mutex
		faultErr error
		killed   *cluster.Node
	)
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if faultErr == nil {
			faultErr = err
		}
	}
	hooks := txnHooks{
		beforeEnd: func(ctx context.Context, producer, n int) {
			if producer != 0 || n != mid {
				return
			}
			id := txnIDs(k.env) + "-0"
			b, err := within(ctx, func() (*sarama.Broker, error) {
				if err := k.env.Client.RefreshTransactionCoordinator(id); err != nil {
					return nil, err
				}
				return k.env.Client.TransactionCoordinator(id)
			})
			if err != nil {
				fail(fmt.Errorf("find the transaction coordinator of %s: %w", id, err))
				return
			}
			node := k.node(b.ID())
			k.step.Notef("transaction %s#%d: its records acknowledged, its coordinator node %d killed before it ended", id, n, node.ID)
			at, err := k.do(ctx, cluster.OpKill, node)
			if err != nil {
				fail(err)
				return
			}
			killed = &node
			if _, err := k.awaitLeaders(ctx, at, node.ID); err != nil {
				fail(err)
			}
		},
		afterEnd: func(ctx context.Context, producer, n int) {
			if producer != 0 || n != mid || killed == nil {
				return
			}
			at, err := k.do(ctx, cluster.OpStart, *killed)
			if err != nil {
				fail(err)
				return
			}
			if err := k.awaitBack(ctx, killed.ID, at); err != nil {
				fail(err)
			}
		},
	}
	if err := runTxns(ctx, k, "txn-failover", hooks); err != nil {
		return err
	}
	mu.Lock()
	defer mu.Unlock()
	return faultErr
}
