package scenarios

// reading is the read side of the workload: one goroutine per partition
// reads from a start offset to an end that may be set later (consuming while
// producing), checks every record's payload and records it in the ledger.
// Nothing on the per-record path takes a lock, formats a string or
// allocates; bad records, which are rare, take a lock to be listed.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/IBM/sarama"

	"github.com/chronik-e2e/chronik-e2e/pkg/workload"
)

// errStopped is a reader's error when its read was stopped before the end.
var errStopped = errors.New("stopped")

// reading reads partitions of the run's topic in parallel.
type reading struct {
	env      *Env
	client   sarama.Client // the consumer's own; closed after it
	consumer sarama.Consumer
	parts    []*partitionRead
	bad      *badRecords
	keys     [][]byte
	progress Progress
	// e2e collects end-to-end latency (scheduled send to read) when reading
	// while producing; nil otherwise.
	e2e *workload.SharedLatency

	ctx       context.Context
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	done      chan struct{} // closed once every reader has returned
	start     time.Time
	closeOnce sync.Once
}

// partitionRead is how far the reader of one partition got. The reader
// writes the fields below ends; they are read once it has returned.
type partitionRead struct {
	id    int32
	start int64
	hwm   int64         // the offset to read up to; written before ends is closed
	ends  chan struct{} // closed once hwm is set

	next, records int64
	first         time.Time // when the first record was read
	last          time.Time // when the last record was read
	done          bool      // read up to hwm
	err           error
	fetchErrors   map[string]int
}

// badRecords collects examples of each kind of bad record across partitions.
type badRecords struct {
	mu                    sync.Mutex
	unexpected, reordered examples
}

// newBadRecords returns an empty collection of bad records.
func newBadRecords() *badRecords {
	b := &badRecords{}
	b.unexpected.kind, b.reordered.kind = "unexpected", "reordered"
	return b
}

// startReading starts one reader per partition of ids at its start offset.
// A live reading (consuming while producing) runs beyond ctx, until its ends
// are reached or it is stopped, and measures end-to-end latency.
func startReading(ctx context.Context, env *Env, ids []int32, starts []int64, progress Progress, live bool) (*reading, error) {
	client, consumer, err := startClient(ctx, env, env.Config(), sarama.NewConsumerFromClient)
	if err != nil {
		return nil, fmt.Errorf("start consumer against %v: %w", env.Cluster.Bootstrap(), err)
	}
	rd := &reading{
		env:      env,
		client:   client,
		consumer: consumer,
		keys:     workload.Keys(env.Profile.Workload.Keys),
		progress: progress,
		bad:      newBadRecords(),
		done:     make(chan struct{}),
		start:    time.Now(),
	}
	if live {
		rd.e2e = workload.NewSharedLatency()
		ctx = context.WithoutCancel(ctx)
	}
	rd.ctx, rd.cancel = context.WithCancel(ctx)
	for i, id := range ids {
		pr := &partitionRead{id: id, start: starts[i], next: starts[i], ends: make(chan struct{}), fetchErrors: map[string]int{}}
		rd.parts = append(rd.parts, pr)
		rd.wg.Add(1)
		go func() {
			defer rd.wg.Done()
			pr.err = rd.read(pr)
		}()
	}
	go func() {
		rd.wg.Wait()
		close(rd.done)
	}()
	return rd, nil
}

// startLiveRead starts reading every partition of the topic from its log
// start, to run alongside produce.
func startLiveRead(ctx context.Context, env *Env) (*reading, error) {
	ids, err := within(ctx, env.partitionIDs)
	if err != nil {
		return nil, err
	}
	starts, err := env.offsets(ctx, ids, sarama.OffsetOldest)
	if err != nil {
		return nil, err
	}
	return startReading(ctx, env, ids, starts, noProgress{}, true)
}

// ids returns the partitions read, in order.
func (rd *reading) ids() []int32 {
	ids := make([]int32, len(rd.parts))
	for i, pr := range rd.parts {
		ids[i] = pr.id
	}
	return ids
}

// setEnds tells each reader the offset to read up to (rd.parts' order).
func (rd *reading) setEnds(ends []int64) {
	for i, pr := range rd.parts {
		pr.hwm = ends[i]
		close(pr.ends)
	}
}

// wait waits until every reader has reached its end, or ctx ends; then
// the readers are stopped and have returned.
func (rd *reading) wait(ctx context.Context) {
	select {
	case <-rd.done:
	case <-ctx.Done():
		rd.stop()
	}
	<-rd.done
	rd.progress.Done()
}

// elapsed is how long the reading took, from the first record read (the
// client's own start-up, such as sarama's 100 ms batching of new partition
// subscriptions, is not the cluster's time): to the last record read when it
// ran alongside produce (it then waited for records), else until it ended.
func (rd *reading) elapsed() time.Duration {
	if rd.e2e == nil {
		return time.Since(rd.firstRecord())
	}
	var last time.Time
	for _, pr := range rd.parts {
		if pr.last.After(last) {
			last = pr.last
		}
	}
	if last.IsZero() {
		return 0
	}
	return last.Sub(rd.firstRecord())
}

// firstRecord is when the first record of any partition was read, or when
// the reading started if none was.
func (rd *reading) firstRecord() time.Time {
	var first time.Time
	for _, pr := range rd.parts {
		if !pr.first.IsZero() && (first.IsZero() || pr.first.Before(first)) {
			first = pr.first
		}
	}
	if first.IsZero() {
		return rd.start
	}
	return first
}

// startup is how long the client took from starting to read to the first record.
func (rd *reading) startup() time.Duration { return rd.firstRecord().Sub(rd.start) }

// stop makes every reader return.
func (rd *reading) stop() { rd.cancel() }

// close stops the readers, waits for them and closes the consumer.
func (rd *reading) close() {
	rd.closeOnce.Do(func() {
		rd.stop()
		<-rd.done
		_ = rd.consumer.Close()
		_ = rd.client.Close()
	})
}

// read reads one partition from its start to its end (once that is known).
func (rd *reading) read(pr *partitionRead) error {
	ctx, env := rd.ctx, rd.env
	end, ends := int64(-1), pr.ends
	if known(ends) {
		end, ends = pr.hwm, nil
		if end <= pr.start {
			pr.done = true
			return nil
		}
	}
	pc, err := within(ctx, func() (sarama.PartitionConsumer, error) {
		return rd.consumer.ConsumePartition(env.Topic, pr.id, pr.start)
	})
	if err != nil {
		if ctx.Err() != nil {
			return errStopped
		}
		return fmt.Errorf("start reading at offset %d: %w", pr.start, err)
	}
	defer pc.AsyncClose()

	c := newChecker(env.RunID, env.Ledger.Len(), rd.keys, env.Ledger, rd.bad)
	if rd.e2e != nil {
		c.e2e = rd.e2e.Recorder()
		defer c.e2e.Flush()
	}
	unreported := 0
	defer func() { rd.progress.Add(unreported) }()
	msgs, errs := pc.Messages(), pc.Errors()
	for {
		select {
		case <-ctx.Done():
			return errStopped
		case <-ends:
			end, ends = pr.hwm, nil
			if pr.next >= end {
				pr.done = true
				return nil
			}
		case ce, ok := <-errs:
			if !ok {
				errs = nil
				break
			}
			pr.fetchErrors[errorName(ce.Err, "")]++
		case m := <-msgs:
			// Then take the records already waiting without a select each.
			for k := len(msgs); ; k-- {
				if pr.records == 0 {
					pr.first = time.Now()
				}
				pr.records++
				pr.next = m.Offset + 1
				if c.e2e != nil {
					pr.last = time.Now()
				}
				c.check(m, pr.last)
				if unreported++; unreported == progressEvery {
					rd.progress.Add(unreported)
					unreported = 0
				}
				if end >= 0 && pr.next >= end {
					pr.done = true
					return nil
				}
				if k == 0 {
					break
				}
				m = <-msgs
			}
		}
	}
}

// known reports whether ch is closed.
func known(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// checker verifies the records of one partition against a ledger: the one
// record check of every scenario that reads its messages back.
type checker struct {
	runID   uint64
	n       int // sequences 0..n-1 may have been sent
	keys    [][]byte
	ledger  *workload.Ledger
	bad     *badRecords
	lastSeq []int64            // per key: the highest sequence read so far in this partition
	e2e     *workload.Recorder // nil unless reading while producing
}

// newChecker returns a checker for one partition of the messages of runID.
func newChecker(runID uint64, n int, keys [][]byte, ledger *workload.Ledger, bad *badRecords) *checker {
	c := &checker{runID: runID, n: n, keys: keys, ledger: ledger, bad: bad, lastSeq: make([]int64, len(keys))}
	for i := range c.lastSeq {
		c.lastSeq[i] = -1
	}
	return c
}

// check verifies one record and records it in the ledger; now is when it
// was read (zero unless end-to-end latency is measured).
func (c *checker) check(m *sarama.ConsumerMessage, now time.Time) {
	keys := c.keys
	p, err := workload.Decode(m.Value, m.Key)
	switch {
	case err != nil:
		c.unexpected(m, "%v", err)
		return
	case p.RunID != c.runID:
		c.unexpected(m, "payload of another run (run id %016x)", p.RunID)
		return
	case p.Seq >= uint64(c.n):
		c.unexpected(m, "sequence %d beyond the %d messages of this run", p.Seq, c.n)
		return
	case int(p.Key) >= len(keys) || p.Seq%uint64(len(keys)) != uint64(p.Key) || !bytes.Equal(m.Key, keys[p.Key]):
		c.unexpected(m, "sequence %d carries key %q, want key-%d", p.Seq, m.Key, p.Seq%uint64(len(keys)))
		return
	}
	seq := int(p.Seq)
	switch c.ledger.Read(seq, m.Partition, m.Offset) {
	case 0:
		c.unexpected(m, "sequence %d was never sent", seq)
		return
	case 1:
	default:
		return // counted as a duplicate when the ledger is tallied
	}
	if c.e2e != nil {
		c.e2e.Record(p.Sent.Since(now))
	}
	if last := c.lastSeq[p.Key]; int64(seq) < last {
		c.bad.mu.Lock()
		c.bad.reordered.add("partition %d offset %d: sequence %d (key-%d) read after sequence %d of the same key", m.Partition, m.Offset, seq, p.Key, last)
		c.bad.mu.Unlock()
		return
	}
	c.lastSeq[p.Key] = int64(seq)
}

// unexpected lists a record that is not a message of this run.
func (c *checker) unexpected(m *sarama.ConsumerMessage, format string, args ...any) {
	bad := c.bad
	bad.mu.Lock()
	defer bad.mu.Unlock()
	if bad.unexpected.full() {
		bad.unexpected.count++
		return
	}
	bad.unexpected.add("partition %d offset %d: %s", m.Partition, m.Offset, fmt.Sprintf(format, args...))
}
