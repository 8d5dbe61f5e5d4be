package scenarios

// consume reads every partition from its log start to its end offset as it
// stands after producing (partitions in parallel, one reader each), runs the
// final audit (waits until the topic is quiet, then reads whatever appeared
// after producing stopped) and accounts for every record against the produce
// ledger. With workload.concurrent_consume the reading began when produce
// began; consume then sets the end offsets as the ends and reports
// end-to-end latency. See pkg/verify for every rule.
//
// Fails on: lost records (acknowledged, never read; each with a cause: below
// log start, above the high watermark, in range but missing, unreadable),
// duplicated records (read more than once, also when the second copy
// appeared late), reordered records (read after a later sequence number of
// the same key in the same partition), unexpected records (not a valid
// payload of this run, or never sent; also late ones), misplaced records
// (read once, but not at the partition and offset the broker acknowledged),
// and an end offset that went back.
// Reports without failing: unacknowledged records that were read back (a
// broker may apply a write it then fails to acknowledge), acknowledged
// records readable only after producing stopped, and with acks=0 the sent
// records that never came back.
// Measures: consume throughput (the first pass, not the audit); end-to-end
// latency (scheduled send to read) when consuming while producing.
// Cannot detect: records written after the final audit listed the end
// offsets for the last time.

import (
	"context"
	"fmt"
	"strings"

	"github.com/chronik-e2e/chronik-e2e/pkg/verify"
)

func init() { Register(consume{}) }

type consume struct{}

var _ Sharded = consume{}

// RunsSharded marks consume as one a shard may run: it accounts for the shard's messages and counts its siblings' apart.
func (consume) RunsSharded() {}

func (consume) Name() string       { return "consume" }
func (consume) Requires() []string { return []string{"produce"} }
func (consume) Summary() string {
	return "read every partition to its end, audit what came late, account for every record: lost (with a cause), duplicated, reordered, unexpected"
}

func (consume) Run(ctx context.Context, env *Env, step *Step) error {
	if env.Ledger == nil {
		return Skip("nothing to verify: produce did not run")
	}
	w := env.Profile.Workload
	exp := env.Expect()
	rd := env.liveRead
	env.liveRead = nil // consume closes it
	if rd == nil {
		progress := env.progress("consume", env.Report.Delivery.Sent)
		defer progress.Done()
		var err error
		if rd, err = startRead(ctx, env, env.Topic, exp, env.Ledger, progress, false); err != nil {
			return err
		}
	}
	rb, err := finishRead(ctx, env, env.Topic, rd, exp, env.Ledger, env.Ledger.Len(), env.badRecord)
	if err != nil {
		return err
	}

	for i, pr := range rb.rd.Parts() {
		env.partition(pr.ID).HighWatermark = rb.ends[i]
		for e, n := range pr.FetchErrors {
			step.Notef("partition %d: %d fetch error(s): %s", pr.ID, n, e)
		}
	}
	read := rb.rd.Records()
	tp := &env.Report.Throughput
	tp.ConsumeDurationS = rb.elapsed.Seconds()
	firstRead := rb.rd.FirstRecord().UTC()
	tp.ConsumeStartedAt = &firstRead
	if rb.elapsed > 0 {
		first := read - rb.audit.LateRecords()
		tp.ConsumeMsgsPerS = float64(first) / rb.elapsed.Seconds()
		tp.ConsumeMBPerS = float64(first) * float64(w.ValueBytes) / 1e6 / rb.elapsed.Seconds()
	}
	env.Report.Consumed = true
	step.Metric("records", float64(read))
	step.Metric("late_records", float64(rb.audit.LateRecords()))
	step.Metric("msgs_per_sec", tp.ConsumeMsgsPerS)
	step.Metric("first_record_s", rb.rd.Startup().Seconds())
	if e2e := rb.rd.E2E(); e2e != nil {
		if e2e.Count() > 0 {
			lat := latencyReport(e2e)
			env.Report.EndToEnd = &lat
			step.Metric("e2e_p99_ms", lat.P99)
		}
		step.Notef("read while producing: end-to-end latency runs from each message's scheduled send to its read; throughput counts from the first send to the last read")
	}

	// The verdict: every message of the ledger, by the guarantee rules of a
	// healthy cluster.
	allow := verify.Allowed(verify.Mode{Acks: env.Acks, ClientReordered: env.ClientReordered}, env.Profile.Topic.ReplicationFactor, false)
	judgeRead(step, rb, allow, "")
	if rb.tally.NotReadNoAck > 0 {
		step.Notef("%d of %d messages sent with acks=0 were not read back (allowed: acks=0 gives no delivery guarantee)", rb.tally.NotReadNoAck, env.Ledger.Len())
	}
	deliveryCounts(&env.Report.Delivery.Counts, rb)
	env.Report.Audit = auditReport(rb)
	if w.ReplicaReads && ctx.Err() == nil {
		parts, addr, err := topicReplicas(env, env.Topic)
		if err != nil {
			return fmt.Errorf("reads through every replica: %w", err)
		}
		rr := &replicaRead{env: env, step: step, topic: env.Topic, who: "consume", when: "after consuming", parts: parts, addr: addr}
		if err := rr.run(ctx); err != nil {
			return err
		}
	}
	if !rb.complete {
		var unfinished []string
		for i, pr := range rb.rd.Parts() {
			if cov := rb.coverage[pr.ID]; cov != nil && cov.Next < rb.ends[i] {
				unfinished = append(unfinished, howFar(ctx, env, pr, cov, rb.ends[i]))
			}
		}
		return fmt.Errorf("could not read every partition to its high watermark: %s", strings.Join(unfinished, "; "))
	}
	return nil
}

// howFar says how far the read of an unfinished partition got, for the error.
func howFar(ctx context.Context, env *Env, pr *verify.PartitionRead, cov *verify.Coverage, end int64) string {
	acked := int64(0)
	if pr.ID < int32(len(env.Report.Partitions)) {
		acked = env.Report.Partitions[pr.ID].Messages
	}
	why := cov.Stopped
	if ctx.Err() != nil {
		why = stopped(ctx)
	}
	return fmt.Sprintf("partition %d: read %d of %d records up to high watermark %d (%d acked; next offset %d; leader broker %d): %s",
		pr.ID, pr.Records, end-pr.Start, end, acked, cov.Next, env.leaderOf(pr.ID), why)
}
