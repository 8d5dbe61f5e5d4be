package scenarios

// The transactional producers of the transactions scenario: each has its
// own transactional id and writes its transactions one after another, each
// over several partitions, then commits or aborts it as its seeded plan
// says. Every record goes into the ledger through verify.Answers (aborted
// records are acknowledged at their offsets too), every transaction into
// verify.Txns with how its producer was told it ended.

import (
	"context"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"sync"
	"time"

	"github.com/IBM/sarama"

	"github.com/chronik-e2e/chronik-e2e/pkg/verify"
	"github.com/chronik-e2e/chronik-e2e/pkg/workload"
)

// txnPlan is what one transactional producer writes: its id and, per
// transaction, the partitions of its records and whether it aborts.
type txnPlan struct {
	index int
	id    string
	txns  [][]int32 // per transaction: the partition of each record
	abort []bool
}

// planTxns draws every producer's plan from rng: each transaction spans
// min(partitions, 2..4) partitions, its records spread round-robin over
// them; it aborts with probability abortRatio.
func planTxns(rng *mrand.Rand, prefix string, producers, count, size, partitions int, abortRatio float64) []txnPlan {
	plans := make([]txnPlan, producers)
	for i := range plans {
		pl := txnPlan{index: i, id: fmt.Sprintf("%s-%d", prefix, i)}
		for range count {
			span := min(partitions, 2+rng.IntN(3))
			parts := rng.Perm(partitions)[:span]
			recs := make([]int32, size)
			for j := range recs {
				recs[j] = int32(parts[j%span])
			}
			pl.txns = append(pl.txns, recs)
			pl.abort = append(pl.abort, rng.Float64() < abortRatio)
		}
		plans[i] = pl
	}
	return plans
}

// txnWriter writes the plans into one topic.
type txnWriter struct {
	env        *Env
	topic      string
	ledger     *verify.Ledger
	txns       *verify.Txns
	keys       [][]byte
	valueBytes int

	hooks txnHooks
	// started is done once every producer has started (or failed to): a
	// fault waits for it, so that it hits transactions, not connecting.
	started sync.WaitGroup

	mu       sync.Mutex
	failures verify.Examples // what went wrong, per transaction
}

// txnHooks run inside a producer's loop, from its goroutine: beforeEnd
// once a transaction's records are acknowledged and before it is committed
// or aborted, afterEnd once it has ended. Nil hooks do nothing.
type txnHooks struct {
	beforeEnd, afterEnd func(ctx context.Context, producer, n int)
}

// txnConfig is a transactional producer's config: idempotent, acks=all,
// one request in flight, records placed on the partition the plan says.
func (w *txnWriter) txnConfig(id string) *sarama.Config {
	cfg := w.env.Config()
	cfg.Producer.Transaction.ID = id
	cfg.Producer.Idempotent = true
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Net.MaxOpenRequests = 1
	cfg.Producer.Return.Successes = true
	cfg.Producer.Return.Errors = true
	cfg.Producer.Partitioner = sarama.NewManualPartitioner
	cfg.Producer.Retry.Max = 10
	cfg.Producer.Retry.Backoff = retryBackoff
	return cfg
}

// write runs every plan, one producer each, and waits for them or ctx.
func (w *txnWriter) write(ctx context.Context, plans []txnPlan) error {
	var wg sync.WaitGroup
	errs := make([]error, len(plans))
	w.started.Add(len(plans))
	for i, pl := range plans {
		wg.Add(1)
		w.env.Panics.Go("transactional producer "+pl.id, func() {
			defer wg.Done()
			errs[i] = w.run(ctx, pl)
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		return fmt.Errorf("transactional producers did not finish: %s", stopped(ctx))
	}
	return errors.Join(errs...)
}

// run writes one producer's plan.
func (w *txnWriter) run(ctx context.Context, pl txnPlan) error {
	client, sp, err := startClient(ctx, w.env, w.topic, w.txnConfig(pl.id), sarama.NewSyncProducerFromClient)
	w.started.Done()
	if err != nil {
		return fmt.Errorf("start transactional producer %s against %v: %w", pl.id, w.env.Cluster.Bootstrap(), err)
	}
	defer closeWithin(ctx, 5*time.Second, func() { _ = sp.Close(); _ = client.Close() })
	answers := verify.NewAnswers(w.ledger, "all")
	start := time.Now()
	stamp := workload.StampOf(start)
	for n, parts := range pl.txns {
		if ctx.Err() != nil {
			return nil
		}
		t := w.txns.Begin(pl.id, n, len(parts))
		if err := sp.BeginTxn(); err != nil {
			w.txns.End(t, verify.TxnUnknown, "begin: "+err.Error())
			w.fail(t, "begin", err)
			continue
		}
		msgs := make([]*sarama.ProducerMessage, len(parts))
		for j, p := range parts {
			seq := t.First + j
			k := seq % len(w.keys)
			value := make([]byte, w.valueBytes)
			workload.Encode(value, workload.Payload{RunID: w.env.RunID, Seq: uint64(seq), Key: uint32(k), Sent: stamp + workload.Stamp(time.Since(start)/time.Microsecond)}, w.keys[k])
			msgs[j] = &sarama.ProducerMessage{Topic: w.topic, Partition: p, Key: sarama.ByteEncoder(w.keys[k]), Value: sarama.ByteEncoder(value), Metadata: seq}
			w.ledger.Sent(seq)
		}
		sendErr := sp.SendMessages(msgs)
		failed := map[*sarama.ProducerMessage]error{}
		var pes sarama.ProducerErrors
		if errors.As(sendErr, &pes) {
			for _, pe := range pes {
				failed[pe.Msg] = pe.Err
			}
		}
		for _, m := range msgs {
			seq := m.Metadata.(int)
			switch e, bad := failed[m]; {
			case bad:
				answers.Failure(seq, m.Partition, e)
			case sendErr != nil && len(pes) == 0:
				answers.Failure(seq, m.Partition, sendErr)
			default:
				answers.Success(seq, m.Partition, m.Offset)
			}
		}
		abort := pl.abort[n] || sendErr != nil
		if sendErr != nil {
			w.fail(t, "produce", sendErr)
		}
		if w.hooks.beforeEnd != nil {
			w.started.Wait()
			w.hooks.beforeEnd(ctx, pl.index, n)
		}
		w.end(sp, t, abort)
		if w.hooks.afterEnd != nil {
			w.hooks.afterEnd(ctx, pl.index, n)
		}
	}
	return nil
}

// end commits or aborts t and records how it ended: a failed commit
// followed by a successful abort is aborted; a failed abort, or a failed
// commit whose abort fails too, is unknown.
func (w *txnWriter) end(sp sarama.SyncProducer, t *verify.Txn, abort bool) {
	w.txns.Ending(t)
	if !abort {
		err := sp.CommitTxn()
		if err == nil {
			w.txns.End(t, verify.TxnCommitted, "")
			return
		}
		w.fail(t, "commit", err)
		if aerr := sp.AbortTxn(); aerr != nil {
			w.txns.End(t, verify.TxnUnknown, fmt.Sprintf("commit failed (%v), then abort failed (%v)", err, aerr))
			return
		}
		w.txns.End(t, verify.TxnAborted, "")
		return
	}
	if err := sp.AbortTxn(); err != nil {
		w.fail(t, "abort", err)
		w.txns.End(t, verify.TxnUnknown, "abort failed: "+err.Error())
		return
	}
	w.txns.End(t, verify.TxnAborted, "")
}

// fail records what went wrong with t.
func (w *txnWriter) fail(t *verify.Txn, what string, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.failures.Add("transaction %s: %s failed: %s", t.Name(), what, verify.ErrorName(err, "all"))
}
