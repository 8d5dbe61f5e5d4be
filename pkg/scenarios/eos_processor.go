package scenarios

// The processors of the exactly-once scenario: each is a member of one
// consumer group and a transactional producer. For every batch of input
// records a claim delivers it begins a transaction, writes each record
// unchanged to the same partition of the output topic, adds the input
// offsets to the transaction (AddOffsetsToTxn) and commits. A processor
// slot keeps its transactional id: a processor that joins in a killed
// one's slot fences it, which aborts the transaction it left open.

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/IBM/sarama"

	"github.com/chronik-e2e/chronik-e2e/pkg/verify"
	"github.com/chronik-e2e/chronik-e2e/pkg/workload"
)

// eosGroup is the exactly-once scenario's processors.
type eosGroup struct {
	env            *Env
	k              *faultKit
	in, out, name  string
	batch          int
	sessionTimeout time.Duration
	prefix         string // of the processors' transactional ids (eosTxnIDs)

	mu        sync.Mutex
	procs     map[int]*processor
	committed int64 // transactions committed
	aborted   int64 // transactions aborted after an error
	errs      map[string]int64
	polls     *verify.Anomalies  // poll skips and non-monotonic polls
	txns      []verify.OutputTxn // every transaction's writes and outcome
	renewed   int                // producers replaced after a fatal error
	begun     int                // transactions begun, by every processor
	// killAt is the transaction (counted over every processor) whose
	// processor is killed in it; victim is that processor's slot, killed is
	// closed once it has been.
	killAt int
	victim int
	killed chan struct{}
	// hooks run in a processor's transaction once its records are written
	// (beforeEnd) and once it has ended (afterEnd), n its number over every
	// processor's transactions.
	hooks txnHooks
	ctx   context.Context // the scenario's, which bounds the hooks
}

// processor is one member of the group with its transactional producer.
type processor struct {
	slot   int
	cg     sarama.ConsumerGroup
	client sarama.Client
	sp     sarama.SyncProducer
	cancel context.CancelFunc
	done   chan struct{}
	// mu serializes the transactions of the processor's claims, which
	// sarama consumes in a goroutine each, through its one producer.
	mu   sync.Mutex
	dead bool // killed: it writes nothing more
}

// start starts a processor in slot (its transactional id PREFIX-slot).
func (g *eosGroup) start(ctx context.Context, slot int) error {
	env := g.env
	client, sp, err := g.producer(ctx, slot)
	if err != nil {
		return err
	}
	ccfg := env.Config()
	ccfg.Consumer.Group.Session.Timeout = g.sessionTimeout
	ccfg.Consumer.Group.Heartbeat.Interval = max(g.sessionTimeout/5, 10*time.Millisecond)
	ccfg.Consumer.Group.Rebalance.Timeout = max(g.sessionTimeout, time.Second)
	ccfg.Consumer.Group.Rebalance.Retry.Backoff = 100 * time.Millisecond
	ccfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	ccfg.Consumer.Offsets.AutoCommit.Enable = false
	ccfg.Consumer.IsolationLevel = sarama.ReadCommitted
	ccfg.Consumer.Return.Errors = true
	cg, err := within(ctx, func() (sarama.ConsumerGroup, error) {
		return sarama.NewConsumerGroup(env.Cluster.Bootstrap(), g.name, ccfg)
	})
	if err != nil {
		closeWithin(ctx, 5*time.Second, func() { _ = sp.Close(); _ = client.Close() })
		return fmt.Errorf("start consumer of processor %d in group %s: %w", slot, g.name, err)
	}
	pctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	p := &processor{slot: slot, cg: cg, client: client, sp: sp, cancel: cancel, done: make(chan struct{})}
	g.mu.Lock()
	g.procs[slot] = p
	g.mu.Unlock()
	env.Panics.Go(fmt.Sprintf("errors of processor %d", slot), func() {
		for err := range cg.Errors() {
			g.noteErr(err)
		}
	})
	env.Panics.Go(fmt.Sprintf("processor %d", slot), func() {
		defer close(p.done)
		for pctx.Err() == nil {
			err := cg.Consume(pctx, []string{g.in}, &eosHandler{g: g, p: p})
			if errors.Is(err, sarama.ErrClosedConsumerGroup) {
				return
			}
			if err != nil {
				g.noteErr(err)
				_ = sleepCtx(pctx, 100*time.Millisecond)
			}
		}
	})
	return nil
}

// producer starts the transactional producer of slot (its transactional
// id PREFIX-slot); sarama's InitProducerID fences the slot's previous one.
func (g *eosGroup) producer(ctx context.Context, slot int) (sarama.Client, sarama.SyncProducer, error) {
	pcfg := g.env.Config()
	pcfg.Producer.Transaction.ID = fmt.Sprintf("%s-%d", g.prefix, slot)
	pcfg.Producer.Idempotent = true
	pcfg.Producer.RequiredAcks = sarama.WaitForAll
	pcfg.Net.MaxOpenRequests = 1
	pcfg.Producer.Return.Successes = true
	pcfg.Producer.Partitioner = sarama.NewManualPartitioner
	pcfg.Producer.Retry.Max = 10
	pcfg.Producer.Retry.Backoff = retryBackoff
	client, sp, err := startClient(ctx, g.env, g.out, pcfg, sarama.NewSyncProducerFromClient)
	if err != nil {
		return nil, nil, fmt.Errorf("start the transactional producer of processor %d: %w", slot, err)
	}
	return client, sp, nil
}

// renew replaces a processor's producer that cannot begin a transaction,
// as an application must: a new one with the same transactional id, whose
// InitProducerId fences the old one and ends what it left open. Sarama's
// producer begins one only when ready: not in a fatal state (a coordinator
// that lost track of its transaction, say), and not left in a transaction
// or an abortable error by a commit and an abort that both failed (the
// coordinator killed, its node not back within sarama's retries), where
// every BeginTxn fails for good and the processor would stall, its
// partitions with it. Called with p.mu held.
func (g *eosGroup) renew(p *processor) error {
	if p.sp.TxnStatus()&sarama.ProducerTxnFlagReady != 0 {
		return nil
	}
	client, sp, err := g.producer(g.ctx, p.slot)
	if err != nil {
		return err
	}
	closeWithin(g.ctx, 5*time.Second, func() { _ = p.sp.Close(); _ = p.client.Close() })
	p.client, p.sp = client, sp
	g.mu.Lock()
	g.renewed++
	g.mu.Unlock()
	return nil
}

func (g *eosGroup) noteErr(err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.errs[verify.ErrorName(err, "")]++
}

// stop ends a processor's consuming and closes it, bounded.
func (g *eosGroup) stop(p *processor) {
	p.cancel()
	closeWithin(context.Background(), 10*time.Second, func() { _ = p.cg.Close() })
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
	}
	closeWithin(context.Background(), 5*time.Second, func() { _ = p.sp.Close(); _ = p.client.Close() })
}

// awaitKilled waits until the processor of transaction killAt has been
// killed in it, closes it and returns its slot; false when the input was
// all committed first.
func (g *eosGroup) awaitKilled(ctx context.Context, ids []int32, total int64) (int, bool, error) {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	allDone := make(chan struct{})
	g.env.Panics.Go("wait for the input to be committed", func() {
		if _, err := g.awaitCommitted(wctx, ids, func(sum int64) bool { return sum >= total }); err == nil {
			close(allDone)
		}
	})
	select {
	case <-g.killed:
	case <-allDone:
		return 0, false, nil
	case <-ctx.Done():
		return 0, false, fmt.Errorf("no processor reached transaction %d to be killed in: %s", g.killAt, stopped(ctx))
	}
	g.mu.Lock()
	slot := g.victim
	p := g.procs[slot]
	delete(g.procs, slot)
	g.mu.Unlock()
	g.stop(p)
	return slot, true, nil
}

// closeAll stops every processor.
func (g *eosGroup) closeAll() {
	g.mu.Lock()
	ps := make([]*processor, 0, len(g.procs))
	for _, p := range g.procs {
		ps = append(ps, p)
	}
	g.procs = map[int]*processor{}
	g.mu.Unlock()
	var wg sync.WaitGroup
	for _, p := range ps {
		wg.Add(1)
		go func() { defer wg.Done(); g.stop(p) }()
	}
	wg.Wait()
}

// eosHandler is one processor's sarama handler.
type eosHandler struct {
	g *eosGroup
	p *processor
}

func (h *eosHandler) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (h *eosHandler) Cleanup(sarama.ConsumerGroupSession) error { return nil }

// ConsumeClaim processes one claim's records in transactions of up to
// batch records, checking that its polls neither skip nor go back.
func (h *eosHandler) ConsumeClaim(sess sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	g, p := h.g, h.p
	last := int64(-1) // the claim's first poll sets it
	msgs := claim.Messages()
	for {
		var batch []*sarama.ConsumerMessage
		select {
		case <-sess.Context().Done():
			return nil
		case m, ok := <-msgs:
			if !ok || m == nil {
				return nil
			}
			batch = append(batch, m)
		}
		for len(batch) < g.batch {
			select {
			case m, ok := <-msgs:
				if ok && m != nil {
					batch = append(batch, m)
					continue
				}
			default:
			}
			break
		}
		for _, m := range batch {
			switch {
			case last >= 0 && m.Offset <= last:
				g.poll(verify.AnomalyNonMonotonic, "processor %d: partition %d: offset %d polled after offset %d, without a rebalance between", p.slot, m.Partition, m.Offset, last)
			case last >= 0 && m.Offset > last+1:
				g.poll(verify.AnomalyPollSkip, "processor %d: partition %d: offsets %d..%d skipped (polled %d after %d), without a rebalance between", p.slot, m.Partition, last+1, m.Offset-1, m.Offset, last)
			}
			last = max(last, m.Offset)
		}
		if err := h.transact(sess, claim, batch); err != nil {
			return err
		}
	}
}

// transact writes one batch in a transaction with its input offsets,
// committed with the session's generation and member id (KIP-447), so that
// a processor the group has moved on from cannot commit them.
func (h *eosHandler) transact(sess sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim, batch []*sarama.ConsumerMessage) error {
	g, p := h.g, h.p
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.dead {
		return nil
	}
	if err := g.renew(p); err != nil {
		g.noteErr(err)
		return err
	}
	if err := p.sp.BeginTxn(); err != nil {
		g.noteErr(err)
		return err
	}
	out := make([]*sarama.ProducerMessage, len(batch))
	for i, m := range batch {
		out[i] = &sarama.ProducerMessage{Topic: g.out, Partition: m.Partition, Key: sarama.ByteEncoder(m.Key), Value: sarama.ByteEncoder(m.Value)}
	}
	err := p.sp.SendMessages(out)
	sendErr := err
	g.mu.Lock()
	g.begun++
	n := g.begun
	victim := n == g.killAt
	if victim {
		g.victim = p.slot
	}
	g.mu.Unlock()
	if victim {
		// Killed mid-transaction: its records written, nothing committed.
		// The processor that joins in its slot fences it, which aborts it.
		g.record(p.slot, n, out, err, verify.TxnAborted)
		p.dead = true
		close(g.killed)
		return nil
	}
	if g.hooks.beforeEnd != nil {
		g.hooks.beforeEnd(g.ctx, p.slot, n)
	}
	if g.hooks.afterEnd != nil {
		defer g.hooks.afterEnd(g.ctx, p.slot, n)
	}
	if err == nil {
		next := batch[len(batch)-1].Offset + 1
		err = p.sp.AddOffsetsToTxnWithGroupMetadata(map[string][]*sarama.PartitionOffsetMetadata{g.in: {{Partition: claim.Partition(), Offset: next}}},
			sarama.NewConsumerGroupMetadataFromSession(sess, g.name, nil))
	}
	if err == nil {
		err = p.sp.CommitTxn()
	}
	if err != nil {
		g.noteErr(err)
		outcome := verify.TxnAborted
		if aerr := p.sp.AbortTxn(); aerr != nil {
			g.noteErr(aerr)
			outcome = verify.TxnUnknown
		}
		g.record(p.slot, n, out, sendErr, outcome)
		g.mu.Lock()
		g.aborted++
		g.mu.Unlock()
		return err // a new session re-reads from the committed offsets
	}
	g.record(p.slot, n, out, nil, verify.TxnCommitted)
	g.mu.Lock()
	g.committed++
	g.mu.Unlock()
	return nil
}

// record adds transaction n of the processor in slot to the transactions
// the output is judged by: the records of out acknowledged (sendErr says
// which were not) and how it ended.
func (g *eosGroup) record(slot, n int, out []*sarama.ProducerMessage, sendErr error, o verify.Outcome) {
	failed := map[*sarama.ProducerMessage]bool{}
	var pes sarama.ProducerErrors
	if errors.As(sendErr, &pes) {
		for _, pe := range pes {
			failed[pe.Msg] = true
		}
	} else if sendErr != nil {
		out = nil // none acknowledged
	}
	t := verify.OutputTxn{Name: fmt.Sprintf("%s-%d#%d", g.prefix, slot, n), Outcome: o}
	for _, m := range out {
		if failed[m] {
			continue
		}
		seq := int64(-1)
		key, _ := m.Key.Encode()
		value, _ := m.Value.Encode()
		if pl, err := workload.Decode(value, key); err == nil && pl.RunID == g.env.RunID {
			seq = int64(pl.Seq)
		}
		t.Writes = append(t.Writes, verify.OutputWrite{Partition: m.Partition, Offset: m.Offset, Seq: seq})
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.txns = append(g.txns, t)
}

// poll records a poll anomaly.
func (g *eosGroup) poll(kind, format string, args ...any) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.polls.Add(kind, format, args...)
}
