package scenarios

// Reading a topic back and judging it, for every scenario that reads its
// messages back (consume, the fault scenarios): read every partition from
// its log start to its end offset, run the final audit (wait until the topic
// is quiet, read what appeared after producing stopped, fetch past a high
// watermark that hides acknowledged offsets) and tally the ledger. All of the
// verdict logic is in pkg/verify; this file connects it to the cluster.

import (
	"context"
	"fmt"
	"time"

	"github.com/IBM/sarama"

	"github.com/chronik-e2e/chronik-e2e/pkg/report"
	"github.com/chronik-e2e/chronik-e2e/pkg/verify"
)

// readBack is what reading a topic back found.
type readBack struct {
	topic    string
	rd       *verify.Reading
	audit    *verify.Audit
	tally    verify.Tally
	coverage map[int32]*verify.Coverage
	found    *verify.Findings
	ends     []int64       // the end offsets the first pass read to (rd's order)
	elapsed  time.Duration // of the first pass
	complete bool          // the first pass reached every end
}

// startRead starts reading every partition of topic from its log start
// into ledger; the ends are set by finishRead. live: it runs alongside
// produce, beyond ctx, and measures end-to-end latency.
func startRead(ctx context.Context, env *Env, topic string, exp verify.Expect, ledger *verify.Ledger, progress Progress, live bool) (*verify.Reading, error) {
	client, consumer, err := startClient(ctx, env, topic, env.Config(), sarama.NewConsumerFromClient)
	if err != nil {
		return nil, fmt.Errorf("start consumer for %s against %v: %w", topic, env.Cluster.Bootstrap(), err)
	}
	ids, err := within(ctx, func() ([]int32, error) { return partitionIDs(client, topic) })
	if err == nil && len(ids) == 0 {
		err = fmt.Errorf("metadata lists no partitions of topic %s", topic)
	}
	var starts []int64
	if err == nil {
		starts, err = env.offsetsFrom(ctx, env.Client, topic, ids, sarama.OffsetOldest)
	}
	if err != nil {
		closeWithin(ctx, 5*time.Second, func() { _ = consumer.Close(); _ = client.Close() })
		return nil, err
	}
	opts := verify.ReadOptions{
		Client: client, Consumer: consumer, Lister: env.Client, Topic: topic, Partitions: ids, Starts: starts,
		Expect: exp, Ledger: ledger, Findings: verify.NewFindings(), Live: live, Panics: env.Panics,
	}
	if progress != nil {
		opts.Progress = progress.Add
	}
	return verify.StartReading(ctx, opts), nil
}

// finishRead sets rd's ends to the partitions' end offsets now, waits for
// the readers, runs the final audit and tallies the first n messages of the
// ledger (record, if not nil, receives every bad message); rd is closed
// when it returns. It returns an error only when the end offsets could not
// be listed at all.
func finishRead(ctx context.Context, env *Env, topic string, rd *verify.Reading, exp verify.Expect, ledger *verify.Ledger, n int, record func(verify.BadRecord)) (*readBack, error) {
	defer closeWithin(context.WithoutCancel(ctx), 10*time.Second, rd.Close)
	// Offsets and probes through the shared client: the reading's own
	// connections carry long-polling fetches, which an offset request would
	// queue behind.
	client := env.Client
	ends, err := offsetsOf(ctx, client, topic, rd.IDs(), sarama.OffsetNewest)
	if err != nil {
		return nil, err
	}
	rb := &readBack{topic: topic, rd: rd, found: findingsOf(rd), ends: ends}
	rd.SetEnds(ends)
	rb.complete = rd.Wait(ctx)
	rb.elapsed = rd.Elapsed()

	audit, cov := verify.RunAudit(ctx, rd, verify.AuditOptions{
		Settle: env.Profile.Timeouts.Settle.Duration,
		Offsets: func(ctx context.Context, ids []int32, at int64) ([]int64, error) {
			return env.offsetsFrom(ctx, client, topic, ids, at)
		},
		Acked: ledger.AckedRange(n),
		Probe: func(ctx context.Context, p int32, from, to int64) *verify.Probe {
			return verify.ProbeBeyond(ctx, client, topic, p, from, to, exp)
		},
		Shared: exp.Group != nil,
	})
	rb.audit, rb.coverage = audit, cov
	rb.tally = verify.TallyLedger(ledger, verify.TallyOptions{N: n, Keys: len(exp.Keys), SeqBase: exp.SeqBase, KeyBase: exp.KeyBase, Coverage: cov,
		Leader: func(p int32) string { return fmt.Sprintf(" (leader broker %d)", leaderIn(client, topic, p)) }, Record: record})
	return rb, nil
}

// readClient and findingsOf reach into what startRead gave the reading.
func readClient(rd *verify.Reading) sarama.Client    { return rd.Options().Client }
func findingsOf(rd *verify.Reading) *verify.Findings { return rd.Options().Findings }

// leaderIn names partition p's leader in client's metadata, -1 if unknown.
func leaderIn(client sarama.Client, topic string, p int32) int32 {
	b, err := client.Leader(topic, p)
	if err != nil {
		return -1
	}
	return b.ID()
}

// judgeRead records, into step, what a read back found that the guarantee
// rules do not allow (failures) and what they do (notes, with why), and
// returns whether nothing failed. what names the read: "" for the run's
// topic, a producer mode in the fault scenarios.
func judgeRead(step *Step, rb *readBack, allow verify.Allowance, what string) bool {
	passed := true
	prefix := ""
	if what != "" {
		prefix = what + ": "
	}
	check := func(e *verify.Examples, ok bool) {
		if e.Count == 0 {
			return
		}
		if ok {
			step.Notef("%s%d %s record(s), allowed (%s)", prefix, e.Count, e.Kind, allow.Why)
			step.noteExamples(e)
			return
		}
		passed = false
		if what != "" {
			step.Failf("%s%d %s record(s) (%s)", prefix, e.Count, e.Kind, allow.Why)
		} else {
			step.Failf("%d %s record(s)", e.Count, e.Kind)
		}
		if e == &rb.tally.Lost {
			for _, l := range rb.tally.Losses {
				step.Failf("%slost: %s", prefix, l)
			}
		}
		step.failExamples(e)
	}
	t := &rb.tally
	check(&t.Lost, allow.Loss)
	check(&t.Duplicated, allow.Duplicates)
	check(&rb.found.SiblingDuplicated, allow.Duplicates)
	check(&rb.found.Reordered, allow.Reorder)
	check(&rb.found.Unexpected, false)
	check(&t.Misplaced, false)
	if t.Unread > 0 {
		passed = false
		step.Failf("%s%d acknowledged record(s) were not read: the read stopped before them (see the final audit's findings); they are not counted lost", prefix, t.Unread)
	}
	if t.UnackedRead.Count > 0 {
		step.noteExamples(&t.UnackedRead)
	}
	if t.LateAcked.Count > 0 {
		step.Notef("%s%d acknowledged record(s) could be read only after producing stopped: the high watermark had not reached them when the read began (allowed: with acks=1 a high watermark may lag its leader)", prefix, t.LateAcked.Count)
		step.noteExamples(&t.LateAcked)
	}
	for _, f := range rb.audit.Findings {
		passed = false
		step.Failf("%s%s", prefix, f)
	}
	for _, n := range rb.audit.Notes {
		step.Notef("%s%s", prefix, n)
	}
	return passed
}

// auditReport turns a read back's final audit into the report's.
func auditReport(rb *readBack) *report.Audit {
	a := &report.Audit{Topic: rb.topic, Settled: rb.audit.Settled, SettleS: rb.audit.SettleTime.Seconds(),
		LateRecords: rb.audit.LateRecords(), Findings: append([]string{}, rb.audit.Findings...), Notes: rb.audit.Notes}
	for _, p := range rb.audit.Partitions {
		a.Partitions = append(a.Partitions, report.AuditPartition{Partition: p.Partition, LogStart: p.LogStart, ReadEnd: p.ReadEnd, End: p.End, Late: p.Late})
	}
	return a
}

// deliveryCounts fills the read side of c (consumed, lost by cause,
// duplicated, ...) from a read back.
func deliveryCounts(c *report.Counts, rb *readBack) {
	t := &rb.tally
	c.Consumed = t.Consumed
	c.Lost, c.Duplicated, c.Misplaced = t.Lost.Count, t.Duplicated.Count, t.Misplaced.Count
	c.Reordered, c.Unexpected = rb.found.Reordered.Count, rb.found.Unexpected.Count
	c.SiblingsRead = rb.found.Siblings.Load()
	c.UnackedRead = t.UnackedRead.Count
	c.LostByCause, c.Losses = nil, nil
	if len(t.Losses) > 0 {
		c.LostByCause = t.LostByCause()
		for _, l := range t.Losses {
			c.Losses = append(c.Losses, report.Loss{Partition: l.Partition, Cause: l.Cause, Count: l.Count, FirstOffset: l.First, LastOffset: l.Last, Detail: l.Detail})
		}
	}
}
