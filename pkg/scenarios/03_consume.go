package scenarios

// consume reads every partition from its log start to its high watermark as
// it stands after producing (partitions in parallel) and accounts for every
// record against the produce ledger.
//
// Fails on: lost records (acknowledged, never read), duplicated records (read
// more than once), reordered records (read after a later sequence number of
// the same key in the same partition), unexpected records (not a valid
// payload of this run, or never sent), and misplaced records (read once, but
// not at the partition and offset the broker acknowledged).
// Reports without failing: unacknowledged records that were read back (a
// broker may apply a write it then fails to acknowledge), and with acks=0 the
// sent records that never came back.
// Measures: consume throughput.
// Cannot detect: records written after the high watermarks were read.

import (
	"bytes"
	"errors"
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
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

// partitionRead is how far the consumer of one partition got.
type partitionRead struct {
	id          int32
	start, hwm  int64 // log start offset and high watermark when reading began
	next        atomic.Int64
	records     atomic.Int64
	done        bool
	err         error
	fetchErrors map[string]int
}

// badRecords collects examples of each kind of bad record across partitions.
type badRecords struct {
	mu                    sync.Mutex
	unexpected, reordered examples
}

func (c consume) Run(ctx context.Context, env *Env, step *Step) error {
	if env.Ledger == nil {
		return Skip("nothing to verify: produce did not run")
	}
	ids, err := within(ctx, env.partitionIDs)
	if err != nil {
		return err
	}
	reads := make([]*partitionRead, len(ids))
	var total int64
	for i, p := range ids {
		pr := &partitionRead{id: p, fetchErrors: map[string]int{}}
		if pr.start, err = within(ctx, func() (int64, error) { return env.Client.GetOffset(env.Topic, p, sarama.OffsetOldest) }); err != nil {
			return fmt.Errorf("log start offset of partition %d (leader broker %d): %w", p, env.leaderOf(p), err)
		}
		if pr.hwm, err = within(ctx, func() (int64, error) { return env.Client.GetOffset(env.Topic, p, sarama.OffsetNewest) }); err != nil {
			return fmt.Errorf("high watermark of partition %d (leader broker %d): %w", p, env.leaderOf(p), err)
		}
		pr.next.Store(pr.start)
		env.partition(p).HighWatermark = pr.hwm
		total += pr.hwm - pr.start
		reads[i] = pr
	}

	consumer, err := sarama.NewConsumer(env.Cluster.Bootstrap(), env.Config())
	if err != nil {
		return fmt.Errorf("start consumer against %v: %w", env.Cluster.Bootstrap(), err)
	}
	defer closeWithin(ctx, 10*time.Second, func() { _ = consumer.Close() })

	bad := &badRecords{}
	bad.unexpected.kind, bad.reordered.kind = "unexpected", "reordered"
	progress := env.progress("consume", total)
	start := time.Now()
	var wg sync.WaitGroup
	for _, pr := range reads {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pr.err = c.readPartition(ctx, env, consumer, pr, bad, progress)
		}()
	}
	wg.Wait()
	progress.Done()
	elapsed := time.Since(start)

	var read int64
	var unfinished []string
	for _, pr := range reads {
		read += pr.records.Load()
		if !pr.done {
			unfinished = append(unfinished, c.howFar(env, pr))
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

	unread := map[int32]bool{}
	for _, pr := range reads {
		unread[pr.id] = !pr.done
	}
	c.account(env, step, bad, unread)

	if len(unfinished) > 0 {
		return fmt.Errorf("could not read every partition to its high watermark: %s", strings.Join(unfinished, "; "))
	}
	return nil
}

// howFar says how far an unfinished partition got, for the error.
func (consume) howFar(env *Env, pr *partitionRead) string {
	acked := int64(0)
	if pr.id < int32(len(env.Report.Partitions)) {
		acked = env.Report.Partitions[pr.id].Messages
	}
	why := "no answer to its fetches"
	if pr.err != nil {
		why = pr.err.Error()
	}
	return fmt.Sprintf("partition %d: read %d of %d records up to high watermark %d (%d acked; next offset %d; leader broker %d): %s",
		pr.id, pr.records.Load(), pr.hwm-pr.start, pr.hwm, acked, pr.next.Load(), env.leaderOf(pr.id), why)
}

// readPartition reads one partition from its start to its high watermark.
func (consume) readPartition(ctx context.Context, env *Env, consumer sarama.Consumer, pr *partitionRead, bad *badRecords, progress Progress) error {
	if pr.hwm <= pr.start {
		pr.done = true
		return nil
	}
	pc, err := within(ctx, func() (sarama.PartitionConsumer, error) {
		return consumer.ConsumePartition(env.Topic, pr.id, pr.start)
	})
	if err != nil {
		return fmt.Errorf("start reading at offset %d: %w", pr.start, err)
	}
	defer pc.AsyncClose()

	keys := env.Profile.Workload.Keys
	lastSeq := make([]int64, keys) // per key: the highest sequence read so far in this partition
	for i := range lastSeq {
		lastSeq[i] = -1
	}
	keyBytes := workload.Keys(keys)
	n := env.Ledger.Len()
	errs := pc.Errors()
	for {
		select {
		case <-ctx.Done():
			return errors.New(stopped(ctx))
		case ce, ok := <-errs:
			if !ok {
				errs = nil
				break
			}
			pr.fetchErrors[errorName(ce.Err, "")]++
		case m := <-pc.Messages():
			pr.records.Add(1)
			pr.next.Store(m.Offset + 1)
			progress.Add(1)
			checkRecord(env, m, n, keyBytes, lastSeq, bad)
			if m.Offset+1 >= pr.hwm {
				pr.done = true
				return nil
			}
		}
	}
}

// checkRecord verifies one record and records it in the ledger.
func checkRecord(env *Env, m *sarama.ConsumerMessage, n int, keys [][]byte, lastSeq []int64, bad *badRecords) {
	at := fmt.Sprintf("partition %d offset %d", m.Partition, m.Offset)
	p, err := workload.Decode(m.Value, m.Key)
	unexpected := func(format string, args ...any) {
		bad.mu.Lock()
		bad.unexpected.add(at+": "+format, args...)
		bad.mu.Unlock()
	}
	switch {
	case err != nil:
		unexpected("%v", err)
		return
	case p.RunID != env.RunID:
		unexpected("payload of another run (run id %016x)", p.RunID)
		return
	case p.Seq >= uint64(n):
		unexpected("sequence %d beyond the %d messages of this run", p.Seq, n)
		return
	case int(p.Key) >= len(keys) || p.Seq%uint64(len(keys)) != uint64(p.Key) || !bytes.Equal(m.Key, keys[p.Key]):
		unexpected("sequence %d carries key %q, want key-%d", p.Seq, m.Key, p.Seq%uint64(len(keys)))
		return
	}
	seq := int(p.Seq)
	if env.Ledger.State(seq) == workload.Unsent {
		unexpected("sequence %d was never sent", seq)
		return
	}
	if env.Ledger.Read(seq, m.Partition, m.Offset) > 1 {
		return // counted as a duplicate when the ledger is accounted
	}
	if last := lastSeq[p.Key]; int64(seq) < last {
		bad.mu.Lock()
		bad.reordered.add("%s: sequence %d (key-%d) read after sequence %d of the same key", at, seq, p.Key, last)
		bad.mu.Unlock()
		return
	}
	lastSeq[p.Key] = int64(seq)
}

// account walks the ledger once and turns every message into a verdict.
// Records of partitions that were not read to the end are not called lost.
func (consume) account(env *Env, step *Step, bad *badRecords, unread map[int32]bool) {
	l := env.Ledger
	lost := examples{kind: "lost"}
	dup := examples{kind: "duplicated"}
	misplaced := examples{kind: "misplaced"}
	unackedRead := examples{kind: "read back although not acknowledged (allowed: a broker may apply a write it fails to acknowledge)"}
	var consumed, notReadNoAck int64
	for seq := 0; seq < l.Len(); seq++ {
		state := l.State(seq)
		reads, atAcked := l.Reads(seq)
		p, off := l.Position(seq)
		consumed += int64(reads)
		switch {
		case state == workload.Acked && reads == 0:
			if !unread[p] {
				lost.add("sequence %d (key-%d) acknowledged at partition %d offset %d, never read (leader broker %d)",
					seq, seq%env.Profile.Workload.Keys, p, off, env.leaderOf(p))
			}
		case state == workload.Acked && !atAcked:
			misplaced.add("sequence %d acknowledged at partition %d offset %d but read elsewhere", seq, p, off)
		case state == workload.SentNoAck && reads == 0:
			notReadNoAck++
		case (state == workload.Failed || state == workload.InFlight) && reads > 0:
			unackedRead.add("sequence %d (%s, partition %d)", seq, state, p)
		}
		if reads > 1 {
			dup.add("sequence %d read %d times (acknowledged at partition %d offset %d)", seq, reads, p, off)
			dup.count += int64(reads - 2) // add counted one; every read after the first is a duplicate
		}
	}

	d := &env.Report.Delivery
	d.Consumed = consumed
	d.Lost, d.Duplicated, d.Misplaced = lost.count, dup.count, misplaced.count
	d.Reordered, d.Unexpected = bad.reordered.count, bad.unexpected.count
	d.UnackedRead = unackedRead.count
	for _, e := range []*examples{&lost, &dup, &bad.reordered, &bad.unexpected, &misplaced} {
		if e.count > 0 {
			step.Failf("%d %s record(s)", e.count, e.kind)
			e.failInto(step)
		}
	}
	if unackedRead.count > 0 {
		unackedRead.noteInto(step)
	}
	if notReadNoAck > 0 {
		step.Notef("%d of %d messages sent with acks=0 were not read back (allowed: acks=0 gives no delivery guarantee)", notReadNoAck, l.Len())
	}
}
