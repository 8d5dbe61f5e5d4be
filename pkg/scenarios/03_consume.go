package scenarios

// consume reads every partition from its log start to its high watermark as
// it stands after producing (partitions in parallel, one goroutine each) and
// accounts for every record against the produce ledger. With
// workload.concurrent_consume the reading began when produce began (see
// reading.go); consume then sets the high watermarks as the ends, waits for
// the readers and accounts, and reports end-to-end latency.
//
// Fails on: lost records (acknowledged, never read), duplicated records (read
// more than once), reordered records (read after a later sequence number of
// the same key in the same partition), unexpected records (not a valid
// payload of this run, or never sent), and misplaced records (read once, but
// not at the partition and offset the broker acknowledged).
// Reports without failing: unacknowledged records that were read back (a
// broker may apply a write it then fails to acknowledge), and with acks=0 the
// sent records that never came back.
// Measures: consume throughput; end-to-end latency (scheduled send to read)
// when consuming while producing.
// Cannot detect: records written after the high watermarks were read. When
// reading while producing, a message read twice before its answer arrived is
// judged misplaced or not by its first read only (it is a duplicate either way).

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/IBM/sarama"

	"github.com/chronik-e2e/chronik-e2e/pkg/workload"
)

func init() { Register(consume{}) }

type consume struct{}

var _ Scenario = consume{}

func (consume) Name() string       { return "consume" }
func (consume) Requires() []string { return []string{"produce"} }
func (consume) Summary() string {
	return "read every partition to its high watermark and account for every record: lost, duplicated, reordered, unexpected"
}

func (c consume) Run(ctx context.Context, env *Env, step *Step) error {
	if env.Ledger == nil {
		return Skip("nothing to verify: produce did not run")
	}
	rd, hwms := env.liveRead, []int64(nil)
	if rd == nil {
		ids, err := within(ctx, env.partitionIDs)
		if err != nil {
			return err
		}
		starts, err := env.offsets(ctx, ids, sarama.OffsetOldest)
		if err != nil {
			return err
		}
		if hwms, err = env.offsets(ctx, ids, sarama.OffsetNewest); err != nil {
			return err
		}
		var total int64
		for i := range ids {
			total += max(0, hwms[i]-starts[i])
		}
		if rd, err = startReading(ctx, env, ids, starts, env.progress("consume", total), false); err != nil {
			return err
		}
	} else {
		var err error
		if hwms, err = env.offsets(ctx, rd.ids(), sarama.OffsetNewest); err != nil {
			closeWithin(ctx, 10*time.Second, rd.close)
			return err
		}
	}
	defer closeWithin(ctx, 10*time.Second, rd.close)
	for i, pr := range rd.parts {
		env.partition(pr.id).HighWatermark = hwms[i]
	}
	rd.setEnds(hwms)
	rd.wait(ctx)
	elapsed := rd.elapsed()

	var read int64
	var unfinished []string
	for _, pr := range rd.parts {
		read += pr.records
		if !pr.done {
			unfinished = append(unfinished, c.howFar(ctx, env, pr))
		}
		for e, n := range pr.fetchErrors {
			step.Notef("partition %d: %d fetch error(s): %s", pr.id, n, e)
		}
	}
	tp := &env.Report.Throughput
	tp.ConsumeDurationS = elapsed.Seconds()
	if elapsed > 0 {
		tp.ConsumeMsgsPerS = float64(read) / elapsed.Seconds()
		tp.ConsumeMBPerS = float64(read) * float64(env.Profile.Workload.ValueBytes) / 1e6 / elapsed.Seconds()
	}
	env.Report.Consumed = true
	step.Metric("records", float64(read))
	step.Metric("msgs_per_sec", tp.ConsumeMsgsPerS)
	step.Metric("first_record_s", rd.startup().Seconds())
	if rd.e2e != nil {
		e2e := rd.e2e.Latency()
		if e2e.Count() > 0 {
			lat := latencyReport(e2e)
			env.Report.EndToEnd = &lat
			step.Metric("e2e_p99_ms", lat.P99)
		}
		step.Notef("read while producing: end-to-end latency runs from each message's scheduled send to its read; throughput counts from the first send to the last read")
	}

	unread := map[int32]bool{}
	for _, pr := range rd.parts {
		unread[pr.id] = !pr.done
	}
	c.account(env, step, rd.bad, unread)

	if len(unfinished) > 0 {
		return fmt.Errorf("could not read every partition to its high watermark: %s", strings.Join(unfinished, "; "))
	}
	return nil
}

// howFar says how far an unfinished partition got, for the error.
func (consume) howFar(ctx context.Context, env *Env, pr *partitionRead) string {
	acked := int64(0)
	if pr.id < int32(len(env.Report.Partitions)) {
		acked = env.Report.Partitions[pr.id].Messages
	}
	why := "no answer to its fetches"
	switch {
	case pr.err == errStopped && ctx.Err() != nil:
		why = stopped(ctx)
	case pr.err != nil:
		why = pr.err.Error()
	}
	return fmt.Sprintf("partition %d: read %d of %d records up to high watermark %d (%d acked; next offset %d; leader broker %d): %s",
		pr.id, pr.records, pr.hwm-pr.start, pr.hwm, acked, pr.next, env.leaderOf(pr.id), why)
}

// account walks the ledger once and turns every message into a verdict.
// Records of partitions that were not read to the end are not called lost.
func (consume) account(env *Env, step *Step, bad *badRecords, unread map[int32]bool) {
	l := env.Ledger
	t := tallyLedger(l, l.Len(), env.Profile.Workload.Keys,
		func(p int32) bool { return unread[p] },
		func(p int32) string { return fmt.Sprintf(" (leader broker %d)", env.leaderOf(p)) },
		env.badRecord)

	d := &env.Report.Delivery
	d.Consumed = t.consumed
	d.Lost, d.Duplicated, d.Misplaced = t.lost.count, t.dup.count, t.misplaced.count
	d.Reordered, d.Unexpected = bad.reordered.count, bad.unexpected.count
	d.UnackedRead = t.unackedRead.count
	for _, e := range []*examples{&t.lost, &t.dup, &bad.reordered, &bad.unexpected, &t.misplaced} {
		if e.count > 0 {
			step.Failf("%d %s record(s)", e.count, e.kind)
			e.failInto(step)
		}
	}
	if t.unackedRead.count > 0 {
		t.unackedRead.noteInto(step)
	}
	if t.notReadNoAck > 0 {
		step.Notef("%d of %d messages sent with acks=0 were not read back (allowed: acks=0 gives no delivery guarantee)", t.notReadNoAck, l.Len())
	}
}

// tally is what one walk of a ledger found: every message sorted into a verdict.
type tally struct {
	consumed, notReadNoAck            int64 // reads of this run's messages; acks=0 messages never read
	lost, dup, misplaced, unackedRead examples
}

// tallyLedger walks messages 0..n-1 of l once: the one ledger accounting of
// every scenario that reads its messages back. An acknowledged message never
// read is lost, unless unread says its partition was not read to the end;
// leader adds where a lost message's partition is led to its description.
// record, if not nil, receives every bad message.
func tallyLedger(l *workload.Ledger, n, keys int, unread func(p int32) bool, leader func(p int32) string,
	record func(kind string, seq int, p int32, off int64, reads int)) tally {
	t := tally{
		lost: examples{kind: "lost"}, dup: examples{kind: "duplicated"}, misplaced: examples{kind: "misplaced"},
		unackedRead: examples{kind: "read back although not acknowledged (allowed: a broker may apply a write it fails to acknowledge)"},
	}
	if record == nil {
		record = func(string, int, int32, int64, int) {}
	}
	for seq := range n {
		state := l.State(seq)
		reads, atAcked := l.Reads(seq)
		p, off := l.Position(seq)
		t.consumed += int64(reads)
		switch {
		case state == workload.Acked && reads == 0:
			if !unread(p) {
				where := ""
				if leader != nil {
					where = leader(p)
				}
				t.lost.add("sequence %d (key-%d) acknowledged at partition %d offset %d, never read%s", seq, seq%keys, p, off, where)
				record(RecordLost, seq, p, off, reads)
			}
		case state == workload.Acked && !atAcked:
			t.misplaced.add("sequence %d acknowledged at partition %d offset %d but read elsewhere", seq, p, off)
			record(RecordMisplaced, seq, p, off, reads)
		case state == workload.SentNoAck && reads == 0:
			t.notReadNoAck++
		case (state == workload.Failed || state == workload.InFlight) && reads > 0:
			t.unackedRead.add("sequence %d (%s, partition %d)", seq, state, p)
			record(RecordUnackedRead, seq, p, off, reads)
		}
		if reads > 1 {
			t.dup.add("sequence %d read %d times (acknowledged at partition %d offset %d)", seq, reads, p, off)
			t.dup.count += int64(reads - 2) // add counted one; every read after the first is a duplicate
			record(RecordDuplicated, seq, p, off, reads)
		}
	}
	return t
}
