package scenarios

// The body the transactional scenarios share: write the transactions,
// read the topic back at both isolation levels, judge every record by its
// transaction's outcome (verify.TallyTxns) and report.

import (
	"context"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"sync"
	"time"

	"github.com/IBM/sarama"

	"github.com/chronik-e2e/chronik-e2e/pkg/report"
	"github.com/chronik-e2e/chronik-e2e/pkg/verify"
	"github.com/chronik-e2e/chronik-e2e/pkg/workload"
)

// runTxns runs the transactional producers into the scenario's own topic
// (the run's topic with suffix), with hooks around each transaction, then
// reads the topic at both isolation levels and judges every record.
func runTxns(ctx context.Context, k *faultKit, suffix string, hooks txnHooks) error {
	env := k.env
	if !env.Version.IsAtLeast(sarama.V0_11_0_0) {
		return NotApplicable("transactions need cluster.kafka_version 0.11 or later, not %s", env.Version)
	}
	cfg := env.Profile.Transactions
	if err := k.createTopic(ctx, suffix); err != nil {
		return err
	}
	seed := int64(cfg.Seed)
	if seed == 0 {
		seed = k.rep.Seed
	}
	n := cfg.Producers * cfg.Count * cfg.Size
	w := &txnWriter{env: env, topic: k.topic, ledger: verify.NewLedger(n), txns: verify.NewTxns(),
		keys: workload.Keys(env.Profile.Workload.Keys), valueBytes: env.Profile.Workload.ValueBytes,
		failures: verify.Examples{Kind: "producer"}, hooks: hooks}
	plans := planTxns(mrand.New(mrand.NewPCG(uint64(seed), 12)), txnIDs(env),
		cfg.Producers, cfg.Count, cfg.Size, env.Profile.Topic.Partitions, cfg.AbortRatio)
	watch, err := watchPrecommitted(ctx, k, w)
	if err != nil {
		return err
	}
	start := time.Now()
	err = w.write(ctx, plans)
	precommitted := watch.stop()
	if err != nil {
		return err
	}
	k.step.Metric("transactions_per_sec", float64(cfg.Producers*cfg.Count)/time.Since(start).Seconds())

	rep := &report.Transactions{Scenario: k.name, Topic: k.topic, Faults: k.faultsSince(start), Producers: cfg.Producers, Seed: seed, Anomalies: []report.TxnAnomaly{}}
	if rep.Faults == "none" {
		rep.Faults = ""
	}
	for _, g := range verify.TxnTable() {
		rep.Guarantees = append(rep.Guarantees, report.TxnGuarantee{Reader: g.Reader, Outcome: g.Outcome.String(), Visible: g.Visible.String(), Why: g.Why})
	}
	env.Report.Transactions = append(env.Report.Transactions, rep)
	an, err := judgeTxns(ctx, k, w, rep)
	if err != nil {
		return err
	}
	an.Merge(verify.AnomalyPrecommitted, precommitted)
	// read_committed through every replica: a follower whose last stable
	// offset lags, or that serves other records, shows here.
	rr := &replicaRead{env: env, step: k.step, topic: k.topic, who: k.name, when: "at read_committed", isolation: sarama.ReadCommitted,
		parts: k.watch.snapshot().parts, addr: func(id int32) string { return k.node(id).Addr }}
	if err := rr.run(ctx); err != nil {
		return err
	}
	counts := w.txns.Counts()
	rep.Begun, rep.Records = len(w.txns.List()), int64(w.txns.Sequences())
	rep.Committed, rep.Aborted, rep.Unknown = counts[verify.TxnCommitted], counts[verify.TxnAborted], counts[verify.TxnUnknown]
	rep.Failures = w.failures.Lines()
	for _, kind := range an.Kinds() {
		e := an.Get(kind)
		rep.Anomalies = append(rep.Anomalies, report.TxnAnomaly{Name: kind, Fails: verify.AnomalyFails(kind), Count: e.Count, Examples: append([]string{}, e.List...)})
		k.step.Metric("anomaly."+kind, float64(e.Count))
		if verify.AnomalyFails(kind) {
			k.step.Failf("%s: %d", kind, e.Count)
			k.step.failExamples(e)
		} else {
			k.step.Notef("%s: %d (reported, not failed: a broker may drop an aborted transaction's records)", kind, e.Count)
			k.step.noteExamples(e)
		}
	}
	k.step.Metric("transactions", float64(rep.Begun))
	k.step.Metric("committed", float64(rep.Committed))
	k.step.Metric("aborted", float64(rep.Aborted))
	if rep.Unknown > 0 {
		k.step.Notef("%d transaction(s) ended unknown (committing or aborting failed): each may be visible or not, but only whole; read_committed showed %d of them committed", rep.Unknown, rep.UnknownVisible)
	}
	for _, f := range rep.Failures {
		k.step.Notef("%s", f)
	}
	return nil
}

// txnIDs is the prefix of the run's transactional ids: producer i's is PREFIX-i.
func txnIDs(env *Env) string { return fmt.Sprintf("chronik-e2e-%08x", uint32(env.RunID)) }

// judgeTxns reads the topic at both isolation levels and collects the anomalies.
func judgeTxns(ctx context.Context, k *faultKit, w *txnWriter, rep *report.Transactions) (*verify.Anomalies, error) {
	env := k.env
	ids, err := within(ctx, func() ([]int32, error) { return partitionIDs(env.Client, k.topic) })
	if err != nil {
		return nil, err
	}
	starts, err := offsetsOf(ctx, env.Client, k.topic, ids, sarama.OffsetOldest)
	if err != nil {
		return nil, err
	}
	ends, err := offsetsOf(ctx, env.Client, k.topic, ids, sarama.OffsetNewest)
	if err != nil {
		return nil, err
	}
	client, err := within(ctx, func() (sarama.Client, error) { return sarama.NewClient(env.Cluster.Bootstrap(), env.Config()) })
	if err != nil {
		return nil, fmt.Errorf("connect the transactional readers to %v: %w", env.Cluster.Bootstrap(), err)
	}
	defer closeWithin(ctx, 5*time.Second, func() { _ = client.Close() })

	stall := max(5*env.Profile.Timeouts.Settle.Duration, 2*time.Second)
	exp := verify.Expect{RunID: env.RunID, N: w.ledger.Len(), Keys: w.keys}
	an := verify.NewAnomalies()
	var idx [2]*verify.OffsetIndex
	var reads [2][]*verify.IsolatedPartition
	for i, committed := range []bool{true, false} {
		if i > 0 {
			w.ledger.ResetReads()
		}
		found := verify.NewFindings()
		idx[i] = verify.NewOffsetIndex(ids, starts, ends)
		parts := verify.ReadIsolated(ctx, verify.IsolatedOptions{Client: client, Topic: k.topic, Partitions: ids, Starts: starts, Ends: ends,
			Committed: committed, Expect: exp, Ledger: w.ledger, Findings: found, Index: idx[i], Stall: stall, Panics: env.Panics})
		if ctx.Err() != nil {
			return nil, ctxOr(ctx)
		}
		reads[i] = parts
		visible := verify.TallyTxns(w.ledger, w.txns, committed, verify.IsolatedCoverage(parts), an)
		if committed {
			rep.UnknownVisible = visible
			verify.StuckLSO(parts, stall, w.ledger, w.txns, an)
		}
		for _, e := range []*verify.Examples{&found.Unexpected} {
			for _, l := range e.List {
				an.Add(verify.AnomalyUnexpected, "%s: %s", verify.Level(committed), l)
			}
			an.Get(verify.AnomalyUnexpected).Count += e.Count - int64(len(e.List))
		}
		for _, ip := range parts {
			if ip.Stopped != "" {
				k.step.Failf("%s: partition %d: read %d records, up to offset %d of %d: %s", verify.Level(committed), ip.Partition, ip.Records, ip.Next, ip.End, ip.Stopped)
			}
		}
	}
	inc := verify.Inconsistent(idx[0], idx[1], "read_committed", "read_uncommitted", w.txns)
	an.Merge(verify.AnomalyInconsistent, &inc)
	// Nothing may change once every transaction has ended: the ends again.
	again, err := offsetsOf(ctx, env.Client, k.topic, ids, sarama.OffsetNewest)
	if err != nil {
		return nil, fmt.Errorf("list the end offsets again after the reads: %w", err)
	}
	for i, id := range ids {
		if again[i] != ends[i] {
			an.Add(verify.AnomalyEndMoved, "partition %d: the high watermark moved from %d to %d while it was read, after every transaction had ended: records appeared or vanished, and what lies past %d was not read",
				id, ends[i], again[i], ends[i])
		}
	}
	for i, id := range ids {
		c, u := reads[0][i], reads[1][i]
		rep.Partitions = append(rep.Partitions, report.TxnPartition{Partition: id, LogStart: starts[i], HighWatermark: ends[i],
			LastStableOffset: c.LSO, Committed: c.Records, Uncommitted: u.Records, Filtered: c.Filtered, Markers: c.Markers})
	}
	return an, nil
}

// precommitWatch reads the topic read_committed while the producers write:
// a record it gets before its producer asked to commit the transaction is
// a precommitted read.
type precommitWatch struct {
	cancel context.CancelFunc
	done   chan struct{}
	mu     sync.Mutex
	found  verify.Examples
}

// watchPrecommitted starts the read alongside the producers, from every
// partition's log start.
func watchPrecommitted(ctx context.Context, k *faultKit, w *txnWriter) (*precommitWatch, error) {
	env := k.env
	ids, err := within(ctx, func() ([]int32, error) { return partitionIDs(env.Client, k.topic) })
	if err != nil {
		return nil, err
	}
	starts, err := offsetsOf(ctx, env.Client, k.topic, ids, sarama.OffsetOldest)
	if err != nil {
		return nil, err
	}
	client, err := within(ctx, func() (sarama.Client, error) { return sarama.NewClient(env.Cluster.Bootstrap(), env.Config()) })
	if err != nil {
		return nil, fmt.Errorf("connect the read_committed reader alongside the producers to %v: %w", env.Cluster.Bootstrap(), err)
	}
	ends := make([]int64, len(ids))
	for i := range ends {
		ends[i] = math.MaxInt64
	}
	wctx, cancel := context.WithCancel(ctx)
	pw := &precommitWatch{cancel: cancel, done: make(chan struct{}), found: verify.Examples{Kind: verify.AnomalyPrecommitted}}
	opts := verify.IsolatedOptions{Client: client, Topic: k.topic, Partitions: ids, Starts: starts, Ends: ends, Committed: true, Panics: env.Panics,
		OnRecord: func(p int32, off int64, key, value []byte) {
			pl, err := workload.Decode(value, key)
			if err != nil || pl.RunID != env.RunID || pl.Seq >= uint64(w.ledger.Len()) {
				return // the reads after the producers judge it
			}
			if t, pre := w.txns.Precommitted(int(pl.Seq)); pre {
				pw.mu.Lock()
				pw.found.Add("read_committed alongside the producers: partition %d offset %d: sequence %d of transaction %s returned before its producer asked to commit it", p, off, pl.Seq, t.Name())
				pw.mu.Unlock()
			}
		}}
	env.Panics.Go("read_committed reader alongside the transactional producers", func() {
		defer close(pw.done)
		defer closeWithin(ctx, 5*time.Second, func() { _ = client.Close() })
		verify.ReadIsolated(wctx, opts)
	})
	return pw, nil
}

// stop stops the read and returns the precommitted reads it found.
func (pw *precommitWatch) stop() *verify.Examples {
	pw.cancel()
	<-pw.done
	pw.mu.Lock()
	defer pw.mu.Unlock()
	return &pw.found
}
