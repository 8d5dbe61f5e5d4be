package scenarios

// exactly-once fills an input topic with transactions.count ×
// transactions.size records, then runs transactions.producers processors
// in one consumer group, each consuming the input and, in transactions of
// up to transactions.size records, writing every record to the same
// partition of an output topic and committing its input offsets with the
// transaction (consume-transform-produce, AddOffsetsToTxn). The processor
// that writes the third transaction of all is killed in it: it leaves it
// open, its records written, and stops without committing; once the others
// have committed two thirds of the input, a new processor joins in its
// slot, with its transactional id, which aborts the open transaction.
//
// Measures: transactions committed and aborted; poll anomalies.
// Fails: on an input record missing from the output read_committed (lost)
// or there twice (duplicate); output records of one partition in another
// order than the input's (reordered); a poll that skipped or went back over
// offsets without a rebalance between (poll_skip, non_monotonic_poll);
// committed offsets other than the input's end offsets, within
// faults.recovery_timeout.
// Cannot detect: a duplicate a processor never wrote (the scenario writes
// each input record unchanged, so a copy of it is indistinguishable).

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/IBM/sarama"

	"github.com/chronik-e2e/chronik-e2e/pkg/report"
	"github.com/chronik-e2e/chronik-e2e/pkg/verify"
	"github.com/chronik-e2e/chronik-e2e/pkg/workload"
)

func init() {
	Register(faultScenario{
		name:    "exactly-once",
		summary: "consume-transform-produce in transactions; one processor killed mid-transaction, another joins: every input record in the output once, in order",
		body:    exactlyOnce,
	})
}

func exactlyOnce(ctx context.Context, k *faultKit) error {
	return runEOS(ctx, k, "eos", txnHooks{})
}

// runEOS runs the exactly-once scenario with hooks around the processors'
// transactions (n counts the transactions of every processor, from 1); its
// topics, group and transactional ids are named with suffix.
func runEOS(ctx context.Context, k *faultKit, suffix string, hooks txnHooks) error {
	env := k.env
	if !env.Version.IsAtLeast(sarama.V0_11_0_0) {
		return NotApplicable("exactly-once needs cluster.kafka_version 0.11 or later, not %s", env.Version)
	}
	cfg := env.Profile.Transactions
	if err := k.createTopic(ctx, suffix+"-in"); err != nil {
		return err
	}
	in := k.topic
	if err := k.createTopic(ctx, suffix+"-out"); err != nil {
		return err
	}
	out := k.topic
	n := cfg.Count * cfg.Size
	keys := workload.Keys(env.Profile.Workload.Keys)
	if err := fillInput(ctx, env, in, n, keys); err != nil {
		return err
	}
	ids, err := within(ctx, func() ([]int32, error) { return partitionIDs(env.Client, in) })
	if err != nil {
		return err
	}
	inEnds, err := offsetsOf(ctx, env.Client, in, ids, sarama.OffsetNewest)
	if err != nil {
		return err
	}

	g := &eosGroup{env: env, k: k, in: in, out: out, name: fmt.Sprintf("chronik-e2e-%s-%08x", suffix, uint32(env.RunID)),
		batch: cfg.Size, sessionTimeout: k.cfg.SessionTimeout.Duration, prefix: eosTxnIDs(env, suffix),
		procs: map[int]*processor{}, errs: map[string]int64{}, polls: verify.NewAnomalies(), killAt: 3, killed: make(chan struct{}), hooks: hooks, ctx: ctx}
	env.noteGroup(g.name)
	k.onDone(g.closeAll)
	parts := env.Profile.Topic.Partitions
	if parts < 2 {
		return NotApplicable("exactly-once needs topic.partitions >= 2 (one processor is killed while another goes on), not %d", parts)
	}
	procs := min(max(cfg.Producers, 2), parts) // every processor has a partition
	total := int64(n)
	for slot := range procs {
		if err := g.start(ctx, slot); err != nil {
			return err
		}
	}
	victim, killed, err := g.awaitKilled(ctx, ids, total)
	switch {
	case err != nil:
		return err
	case !killed:
		k.step.Failf("no processor was killed: the input was all committed before transaction %d; raise transactions.count (%d)", g.killAt, cfg.Count)
	default:
		k.step.Notef("processor %d killed in transaction %d (of all processors'): its records written, its transaction left open, nothing committed", victim, g.killAt)
		if _, err := g.awaitCommitted(ctx, ids, func(sum int64) bool { return sum >= 2*total/3 }); err != nil {
			return fmt.Errorf("%w; the processors' errors: %s", err, g.errors())
		}
		if err := g.rejoin(ctx, victim); err != nil {
			return err
		}
		k.step.Notef("processor %d joined again with its transactional id, fencing the killed one's open transaction", victim)
	}
	committed, err := g.awaitCommitted(ctx, ids, func(sum int64) bool { return sum >= total })
	if err != nil {
		return fmt.Errorf("%w; the processors' errors: %s", err, g.errors())
	}
	g.closeAll()
	g.mu.Lock()
	if g.renewed > 0 {
		k.step.Notef("%d processor producer(s) replaced, with the same transactional id, after a fatal error or a commit and an abort that both failed", g.renewed)
	}
	g.mu.Unlock()

	an := verify.NewAnomalies()
	for i, p := range ids {
		if committed[i] != inEnds[i] {
			an.Add(verify.AnomalyUncommittedOffsets, "group %s: partition %d: committed offset %d, the input ends at %d", g.name, p, committed[i], inEnds[i])
		}
	}
	g.mu.Lock()
	for _, kind := range g.polls.Kinds() {
		an.Merge(kind, g.polls.Get(kind))
	}
	rep := &report.Transactions{Scenario: k.name, Topic: out, Faults: k.faultsSince(time.Time{}), Producers: procs, Begun: int(g.committed + g.aborted),
		Committed: int(g.committed), Aborted: int(g.aborted), Records: total, Anomalies: []report.TxnAnomaly{}}
	g.mu.Unlock()
	rep.Failures = g.errorList()
	if rep.Faults == "none" {
		rep.Faults = ""
	}
	if err := judgeOutput(ctx, k, g, ids, n, keys, an, rep); err != nil {
		return err
	}
	env.Report.Transactions = append(env.Report.Transactions, rep)
	for _, kind := range an.Kinds() {
		e := an.Get(kind)
		rep.Anomalies = append(rep.Anomalies, report.TxnAnomaly{Name: kind, Fails: verify.AnomalyFails(kind), Count: e.Count, Examples: append([]string{}, e.List...)})
		k.step.Failf("%s: %d", kind, e.Count)
		k.step.failExamples(e)
	}
	k.step.Metric("committed", float64(rep.Committed))
	k.step.Metric("aborted", float64(rep.Aborted))
	return nil
}

// rejoin starts a processor in slot again, retrying for up to
// faults.recovery_timeout: a node may be down while it connects.
func (g *eosGroup) rejoin(ctx context.Context, slot int) error {
	deadline := time.Now().Add(g.k.cfg.RecoveryTimeout.Duration)
	for {
		err := g.start(ctx, slot)
		if err == nil || ctx.Err() != nil || time.Now().After(deadline) {
			return err
		}
		g.noteErr(err)
		if sleepCtx(ctx, 200*time.Millisecond) != nil {
			return err
		}
	}
}

// errorList lists the processors' errors with their counts, sorted.
func (g *eosGroup) errorList() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []string
	for e, c := range g.errs {
		out = append(out, fmt.Sprintf("%d × %s", c, e))
	}
	slices.Sort(out)
	return out
}

// errors lists the processors' errors in one line, "none" without any.
func (g *eosGroup) errors() string {
	if l := g.errorList(); len(l) > 0 {
		return strings.Join(l, "; ")
	}
	return "none"
}

// eosTxnIDs is the prefix of the processors' transactional ids: slot i's is PREFIX-i.
func eosTxnIDs(env *Env, suffix string) string { return txnIDs(env) + "-" + suffix }

// fillInput writes input records 0..n-1, record seq to partition seq % P,
// idempotent, and fails unless every one is acknowledged.
func fillInput(ctx context.Context, env *Env, topic string, n int, keys [][]byte) error {
	cfg := env.Config()
	cfg.Producer.Idempotent = true
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Net.MaxOpenRequests = 1
	cfg.Producer.Return.Successes = true
	cfg.Producer.Partitioner = sarama.NewManualPartitioner
	cfg.Producer.Retry.Max = 10
	cfg.Producer.Retry.Backoff = retryBackoff
	client, sp, err := startClient(ctx, env, topic, cfg, sarama.NewSyncProducerFromClient)
	if err != nil {
		return fmt.Errorf("start the input producer: %w", err)
	}
	defer closeWithin(ctx, 5*time.Second, func() { _ = sp.Close(); _ = client.Close() })
	parts := int32(env.Profile.Topic.Partitions)
	stamp := workload.StampOf(time.Now())
	for first := 0; first < n; first += 500 {
		var msgs []*sarama.ProducerMessage
		for seq := first; seq < min(n, first+500); seq++ {
			k := seq % len(keys)
			value := make([]byte, env.Profile.Workload.ValueBytes)
			workload.Encode(value, workload.Payload{RunID: env.RunID, Seq: uint64(seq), Key: uint32(k), Sent: stamp}, keys[k])
			msgs = append(msgs, &sarama.ProducerMessage{Topic: topic, Partition: int32(seq) % parts, Key: sarama.ByteEncoder(keys[k]), Value: sarama.ByteEncoder(value)})
		}
		if _, err := within(ctx, func() (struct{}, error) { return struct{}{}, sp.SendMessages(msgs) }); err != nil {
			return fmt.Errorf("fill the input topic %s: %w", topic, err)
		}
	}
	return nil
}

// awaitCommitted polls the group's committed offsets of the input until
// done says their sum is enough, up to faults.recovery_timeout; it returns
// the last offsets listed (ids' order).
func (g *eosGroup) awaitCommitted(ctx context.Context, ids []int32, done func(sum int64) bool) ([]int64, error) {
	timeout := g.k.cfg.RecoveryTimeout.Duration
	wctx, cancel := context.WithTimeoutCause(ctx, timeout, waitEnded(fmt.Sprintf("faults.recovery_timeout (%s) passed", timeout)))
	defer cancel()
	var last []int64
	for {
		resp, err := within(wctx, func() (*sarama.OffsetFetchResponse, error) {
			return g.env.Admin.ListConsumerGroupOffsets(g.name, map[string][]int32{g.in: ids})
		})
		if err == nil {
			last = make([]int64, len(ids))
			var sum int64
			for i, p := range ids {
				if b := resp.GetBlock(g.in, p); b != nil && b.Offset > 0 {
					last[i] = b.Offset
					sum += b.Offset
				}
			}
			if done(sum) {
				return last, nil
			}
		}
		if sleepCtx(wctx, 100*time.Millisecond) != nil {
			return last, fmt.Errorf("the group's committed offsets of %s were %v, not yet enough: %s", g.in, last, stopped(wctx))
		}
	}
}

// judgeOutput reads the output topic read_committed: every input record
// once, in its input partition, in input order.
func judgeOutput(ctx context.Context, k *faultKit, g *eosGroup, ids []int32, n int, keys [][]byte, an *verify.Anomalies, rep *report.Transactions) error {
	env := k.env
	starts, err := offsetsOf(ctx, env.Client, g.out, ids, sarama.OffsetOldest)
	if err != nil {
		return err
	}
	ends, err := offsetsOf(ctx, env.Client, g.out, ids, sarama.OffsetNewest)
	if err != nil {
		return err
	}
	client, err := within(ctx, func() (sarama.Client, error) { return sarama.NewClient(env.Cluster.Bootstrap(), env.Config()) })
	if err != nil {
		return fmt.Errorf("connect the output reader to %v: %w", env.Cluster.Bootstrap(), err)
	}
	defer closeWithin(ctx, 5*time.Second, func() { _ = client.Close() })
	ledger := verify.NewLedger(n)
	for seq := range n {
		ledger.Sent(seq) // in flight: the read records where it was found
	}
	found := verify.NewFindings()
	idx := verify.NewOffsetIndex(ids, starts, ends)
	parts := verify.ReadIsolated(ctx, verify.IsolatedOptions{Client: client, Topic: g.out, Partitions: ids, Starts: starts, Ends: ends,
		Committed: true, Expect: verify.Expect{RunID: env.RunID, N: n, Keys: keys}, Ledger: ledger, Findings: found, Index: idx,
		Stall: max(5*env.Profile.Timeouts.Settle.Duration, 2*time.Second), Panics: env.Panics})
	if ctx.Err() != nil {
		return ctxOr(ctx)
	}
	verify.TallyCopies(ledger, n, len(ids), an)
	g.mu.Lock()
	verify.TallyOutputTxns(idx, g.txns, verify.IsolatedCoverage(parts), an)
	g.mu.Unlock()
	verify.InOrder(idx, ids, an)
	for _, l := range found.Unexpected.List {
		an.Add(verify.AnomalyUnexpected, "%s", l)
	}
	for i, ip := range parts {
		if ip.Stuck {
			an.Add(verify.AnomalyStuckLSO, "output partition %d: the last stable offset stayed at %d below the high watermark %d", ip.Partition, ip.LSO, ip.End)
		} else if ip.Stopped != "" {
			k.step.Failf("output partition %d: read %d records, up to offset %d of %d: %s", ip.Partition, ip.Records, ip.Next, ip.End, ip.Stopped)
		}
		rep.Partitions = append(rep.Partitions, report.TxnPartition{Partition: ids[i], LogStart: starts[i], HighWatermark: ends[i],
			LastStableOffset: ip.LSO, Committed: ip.Records, Filtered: ip.Filtered, Markers: ip.Markers})
	}
	return nil
}
