package verify

// The final audit runs before every verdict on what was read back: it waits
// until the topic is quiet (its end offsets unchanged for a settle time,
// polled), lists every partition's log start and end again, and reads
// whatever lies beyond what was read. Records that appeared after producing
// stopped are checked like any other and marked late; an end offset that
// went down is a finding; a log start that moved past acknowledged records,
// and acknowledged offsets beyond the high watermark, become causes of loss
// in the tally. Where the ledger holds acknowledgements at or beyond a
// partition's high watermark, the audit fetches past it to say whether the
// records are there.

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/IBM/sarama"

	"github.com/chronik-e2e/chronik-e2e/pkg/kafka"
	"github.com/chronik-e2e/chronik-e2e/pkg/safe"
)

// OffsetsFunc lists the log start offsets (at = sarama.OffsetOldest) or end
// offsets (sarama.OffsetNewest) of partitions ids, in their order.
type OffsetsFunc func(ctx context.Context, ids []int32, at int64) ([]int64, error)

// AuditOptions say how to audit a reading.
type AuditOptions struct {
	// Settle is how long the end offsets must stay unchanged for the topic to be quiet.
	Settle time.Duration
	// Offsets lists offsets.
	Offsets OffsetsFunc
	// Acked is, per partition, the lowest and highest acknowledged offsets (Ledger.AckedRange).
	Acked map[int32][2]int64
	// Probe, when set, fetches offsets from..to of one partition, which lie
	// past its high watermark or below its log start.
	Probe func(ctx context.Context, p int32, from, to int64) *Probe
	// Shared marks a topic the other shards of a run group write to as
	// well: their writes may keep it moving, so not settling is a note.
	Shared bool
}

// Audit is what the final audit found.
type Audit struct {
	// Settled reports whether the end offsets stopped moving; SettleTime is how long that took.
	Settled    bool
	SettleTime time.Duration
	Partitions []AuditPartition
	// Findings are failures: an end offset that went back, a read that
	// could not reach the final end.
	Findings []string
	// Notes are facts worth reading that do not fail the run.
	Notes []string
}

// AuditPartition is one partition as the audit saw it.
type AuditPartition struct {
	Partition int32
	// LogStart and End are the final log start and end offsets; ReadEnd the
	// end the first read went to.
	LogStart, ReadEnd, End int64
	// Late counts the records read beyond ReadEnd.
	Late int64
}

// LateRecords is how many records the audit read beyond the first ends.
func (a *Audit) LateRecords() int64 {
	var n int64
	for _, p := range a.Partitions {
		n += p.Late
	}
	return n
}

// settleBudget is the longest the audit waits for a quiet topic: long
// enough for a cluster still applying writes, short enough to leave half of
// what remains of the scenario's deadline for reading what came late.
func settleBudget(ctx context.Context, settle time.Duration) time.Duration {
	budget := max(5*settle, 5*time.Second)
	if dl, ok := ctx.Deadline(); ok {
		budget = min(budget, time.Until(dl)/2)
	}
	return max(budget, settle+time.Second)
}

// settlePoll is how often the audit lists end offsets while it waits for quiet.
func settlePoll(settle time.Duration) time.Duration {
	return min(max(settle/10, 20*time.Millisecond), 250*time.Millisecond)
}

// RunAudit audits rd, whose readers have reached (or tried to reach) the
// ends first set, and returns what it found and what each partition's read
// covered, for the tally. It halts the readers before it returns.
func RunAudit(ctx context.Context, rd *Reading, o AuditOptions) (*Audit, map[int32]*Coverage) {
	a := &Audit{}
	ids := rd.IDs()
	start := time.Now()

	// Quiet: the end offsets unchanged for o.Settle.
	var ends, first []int64
	stableSince := time.Now()
	budget := settleBudget(ctx, o.Settle)
	listErrors := 0
	for time.Since(start) < budget {
		now, err := o.Offsets(ctx, ids, sarama.OffsetNewest)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			if listErrors++; listErrors == 1 {
				a.Notes = append(a.Notes, fmt.Sprintf("final audit: listing end offsets failed (tried again): %v", err))
			}
		} else {
			if first == nil {
				first = now
			}
			changed := !slices.Equal(now, ends)
			if changed {
				ends, stableSince = now, time.Now()
			}
			// Quiet: unchanged for o.Settle; with settle 0, one listing is enough.
			if o.Settle == 0 || !changed && time.Since(stableSince) >= o.Settle {
				a.Settled = true
				break
			}
		}
		if sleep(ctx, settlePoll(o.Settle)) != nil {
			break
		}
	}
	a.SettleTime = time.Since(start)
	switch {
	case ctx.Err() != nil && !a.Settled:
		a.Notes = append(a.Notes, "final audit: not run, the read was stopped first")
	case !a.Settled && ends == nil:
		a.Findings = append(a.Findings, fmt.Sprintf("final audit: the end offsets could not be listed within %s after producing stopped", a.SettleTime.Round(time.Millisecond)))
	case !a.Settled:
		var moved []string
		for i, id := range ids {
			if ends[i] != first[i] {
				moved = append(moved, fmt.Sprintf("partition %d %d→%d", id, first[i], ends[i]))
			}
		}
		msg := fmt.Sprintf("final audit: the topic did not settle: its end offsets were still moving %s after producing stopped, never unchanged for timeouts.settle (%s): %s; what was there at the end was read",
			a.SettleTime.Round(time.Millisecond), o.Settle, strings.Join(moved, ", "))
		if o.Shared {
			a.Notes = append(a.Notes, msg+" (allowed: the other shards of the run group may still be writing)")
		} else {
			a.Findings = append(a.Findings, msg)
		}
	}
	var starts []int64
	if ends != nil {
		var err error
		if starts, err = o.Offsets(ctx, ids, sarama.OffsetOldest); err != nil {
			a.Findings = append(a.Findings, fmt.Sprintf("final audit: could not list the log start offsets: %v", err))
			starts = nil
		}
	}

	// Read beyond what was read.
	parts := rd.Parts()
	readEnds := make([]int64, len(parts))
	newEnds := make([]int64, len(parts))
	for i, pr := range parts {
		readEnds[i] = rd.End(pr)
		newEnds[i] = readEnds[i]
		if ends == nil {
			continue
		}
		switch {
		case ends[i] < readEnds[i]:
			a.Findings = append(a.Findings, fmt.Sprintf("partition %d: high watermark went back from %d to %d after it was read (records the broker had exposed are gone from its end)", pr.ID, readEnds[i], ends[i]))
		case ends[i] > readEnds[i]:
			newEnds[i] = ends[i]
		}
	}
	rd.SetEnds(newEnds)
	rd.Wait(ctx)
	rd.Halt()

	cov := rd.Coverage()
	for i, pr := range parts {
		c := cov[pr.ID]
		ap := AuditPartition{Partition: pr.ID, ReadEnd: readEnds[i], End: newEnds[i], Late: pr.Late}
		if ends != nil {
			c.End, ap.End = ends[i], ends[i]
		}
		if starts != nil {
			c.LogStart, ap.LogStart = starts[i], starts[i]
		}
		if !c.Done && ctx.Err() == nil {
			a.Findings = append(a.Findings, fmt.Sprintf("partition %d: read %d records, up to offset %d of end %d: %s", pr.ID, pr.Records, c.Next, rd.End(pr), c.Stopped))
		}
		if r, ok := o.Acked[pr.ID]; ok && o.Probe != nil && ctx.Err() == nil {
			if r[1] >= c.End {
				c.Beyond = o.Probe(ctx, pr.ID, c.End, r[1])
			}
			// A log start listed past acknowledged records: deleted, or
			// ListOffsets wrong while Fetch still serves them.
			if r[0] < c.LogStart && ctx.Err() == nil {
				c.Below = o.Probe(ctx, pr.ID, r[0], c.LogStart-1)
				c.Below.BelowLogStart = true
			}
		}
		a.Partitions = append(a.Partitions, ap)
	}
	if late := a.LateRecords(); late > 0 {
		a.Notes = append(a.Notes, fmt.Sprintf("final audit: %d record(s) appeared after producing stopped and were read and checked like the others", late))
	}
	return a, cov
}

// ProbeBeyond fetches offsets from..to of a partition from its leader,
// although they lie at or past its high watermark (or below its listed log
// start), and counts the records of exp there: it tells "the data is gone"
// from "the high watermark (or log start) ListOffsets gave is wrong".
func ProbeBeyond(ctx context.Context, client sarama.Client, topic string, p int32, from, to int64, exp Expect) *Probe {
	pb := &Probe{From: from, To: to, FetchHighWatermark: -1}
	type result struct {
		resp *sarama.FetchResponse
		err  error
	}
	ch := make(chan result, 1)
	safe.FromContext(ctx).Go(fmt.Sprintf("fetching %s partition %d past its high watermark", topic, p), func() {
		b, err := client.Leader(topic, p)
		if err != nil {
			ch <- result{nil, err}
			return
		}
		req := &sarama.FetchRequest{Version: kafka.FetchVersion(client.Config().Version), MaxWaitTime: 100, MinBytes: 1, MaxBytes: 32 << 20}
		if req.Version >= 7 {
			req.SessionID, req.SessionEpoch = 0, -1
		}
		req.AddBlock(topic, p, from, 32<<20, -1)
		resp, err := b.Fetch(req)
		ch <- result{resp, err}
	})
	var r result
	select {
	case r = <-ch:
	case <-ctx.Done():
		pb.Err = "no answer before the deadline"
		return pb
	}
	if r.err != nil {
		pb.Err = ErrorName(r.err, "")
		return pb
	}
	block := r.resp.GetBlock(topic, p)
	if block == nil {
		pb.Err = "the answer has no block for the partition"
		return pb
	}
	pb.FetchHighWatermark = block.HighWaterMarkOffset
	if block.Err != sarama.ErrNoError {
		pb.Err = ErrorName(block.Err, "")
		return pb
	}
	found := func(off int64, key, value []byte) {
		if off < from || off > to {
			return
		}
		if pl, err := decodeOf(exp, key, value); err == nil && pl {
			pb.Found++
		}
	}
	for _, recs := range block.RecordsSet {
		switch {
		case recs.RecordBatch != nil:
			for _, rec := range recs.RecordBatch.Records {
				found(recs.RecordBatch.FirstOffset+rec.OffsetDelta, rec.Key, rec.Value)
			}
		case recs.MsgSet != nil:
			for _, mb := range recs.MsgSet.Messages {
				found(mb.Offset, mb.Msg.Key, mb.Msg.Value)
			}
		}
	}
	return pb
}

// decodeOf reports whether key and value are a message of exp.
func decodeOf(exp Expect, key, value []byte) (bool, error) {
	pl, err := decodePayload(value, key)
	if err != nil {
		return false, err
	}
	return pl.RunID == exp.RunID && exp.Owns(pl.Seq), nil
}
