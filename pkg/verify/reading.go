package verify

// Reading reads partitions of one topic in parallel, one goroutine each, from
// a start offset to an end that is set later and may be raised (the final
// audit reads what appeared after producing stopped), checking every record
// and recording it in the ledger. A partition consumer that fails for good
// (sarama closes it after OFFSET_OUT_OF_RANGE, when the log start moved past
// the reader) is replaced: the reader lists the partition's offsets again and
// goes on at the next readable offset, and what it had to jump over is a
// Skip with its cause. Nothing on the per-record path takes a lock, formats
// a string or allocates.

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/IBM/sarama"

	"github.com/chronik-e2e/chronik-e2e/pkg/safe"
	"github.com/chronik-e2e/chronik-e2e/pkg/workload"
)

// progressEvery is how many records a reader reads before it reports progress.
const progressEvery = 1024

// reopenBackoff is how long a reader waits before it opens a partition again
// after it could not.
const reopenBackoff = 100 * time.Millisecond

// ReadOptions say what a Reading reads and where its findings go.
type ReadOptions struct {
	// Client and Consumer are the reading's own; Close closes them.
	Client   sarama.Client
	Consumer sarama.Consumer
	// Lister lists offsets when a partition must be looked at again; a
	// client other than Client, whose connections carry long-polling
	// fetches that an offset request would wait behind. Nil: Client.
	Lister sarama.Client
	Topic  string
	// Partitions are read from Starts (same order).
	Partitions []int32
	Starts     []int64
	Expect     Expect
	Ledger     *Ledger
	Findings   *Findings
	// Live measures end-to-end latency: the reading runs while producing.
	Live bool
	// Progress, when set, is told how many records were read, now and then.
	Progress func(n int)
	// Panics receives a reader goroutine's panic; nil recovers it all the same.
	Panics *safe.Recorder
}

// Reading is the read of a topic's partitions.
type Reading struct {
	opts  ReadOptions
	parts []*PartitionRead
	e2e   *workload.SharedLatency
	start time.Time

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	changed chan struct{} // closed and replaced when a reader reaches its end or returns
	closed  sync.Once
}

// PartitionRead is how far the reader of one partition got. Its goroutine
// writes the fields; read them once Wait has returned.
type PartitionRead struct {
	ID    int32
	Start int64 // the offset it started at
	Next  int64 // the offset it reads next
	// Records counts the records read; Late those at or beyond the first end.
	Records, Late int64
	First, Last   time.Time // when the first and last record were read
	FetchErrors   map[string]int
	Skipped       []Skip
	Err           error // why the reader returned before its end (the reading was stopped, or the partition is gone)

	// Under Reading.mu:
	end, firstEnd int64         // the offset to read up to (exclusive); the first end set; -1: not yet set
	endSet        chan struct{} // gets a token when end changes
	reached       bool          // Next >= end
	returned      bool
}

// StartReading starts one reader per partition. The readers stop when ctx
// ends; with opts.Live they run beyond ctx, until Close.
func StartReading(ctx context.Context, opts ReadOptions) *Reading {
	rd := &Reading{opts: opts, start: time.Now(), changed: make(chan struct{})}
	if opts.Live {
		rd.e2e = workload.NewSharedLatency()
		ctx = context.WithoutCancel(ctx)
	}
	rd.ctx, rd.cancel = context.WithCancel(ctx)
	for i, id := range opts.Partitions {
		pr := &PartitionRead{ID: id, Start: opts.Starts[i], Next: opts.Starts[i], FetchErrors: map[string]int{},
			end: -1, firstEnd: -1, endSet: make(chan struct{}, 1)}
		rd.parts = append(rd.parts, pr)
		rd.wg.Add(1)
		opts.Panics.Go(fmt.Sprintf("reader of %s partition %d", opts.Topic, id), func() {
			defer rd.wg.Done()
			defer rd.returned(pr)
			pr.Err = rd.read(pr)
		})
	}
	return rd
}

// Parts returns the partitions' reads, in the order they were given.
func (rd *Reading) Parts() []*PartitionRead { return rd.parts }

// IDs returns the partitions read, in order.
func (rd *Reading) IDs() []int32 {
	ids := make([]int32, len(rd.parts))
	for i, pr := range rd.parts {
		ids[i] = pr.ID
	}
	return ids
}

// SetEnds tells each reader the offset to read up to (exclusive; the order
// of Parts). The first ends set mark what was there when producing stopped:
// records read beyond them are late. An end may be raised later, never lowered.
func (rd *Reading) SetEnds(ends []int64) {
	rd.mu.Lock()
	for i, pr := range rd.parts {
		if ends[i] < pr.end {
			continue
		}
		pr.end = ends[i]
		if pr.firstEnd < 0 {
			pr.firstEnd = ends[i]
		}
		pr.reached = false
		select {
		case pr.endSet <- struct{}{}:
		default:
		}
	}
	rd.mu.Unlock()
}

// Wait waits until every reader has reached its end or returned, or until
// ctx ends; it reports whether every reader reached its end.
func (rd *Reading) Wait(ctx context.Context) bool {
	for {
		rd.mu.Lock()
		all, changed := true, rd.changed
		for _, pr := range rd.parts {
			if !pr.reached && !pr.returned {
				all = false
			}
		}
		reachedAll := true
		for _, pr := range rd.parts {
			reachedAll = reachedAll && pr.reached
		}
		rd.mu.Unlock()
		if all {
			return reachedAll
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return false
		}
	}
}

// Reached reports whether pr has read up to its current end. Call it after Wait.
func (rd *Reading) Reached(pr *PartitionRead) bool {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	return pr.reached
}

// End returns the end pr reads up to (-1: not set).
func (rd *Reading) End(pr *PartitionRead) int64 {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	return pr.end
}

func (rd *Reading) signal() {
	close(rd.changed)
	rd.changed = make(chan struct{})
}

func (rd *Reading) returned(pr *PartitionRead) {
	rd.mu.Lock()
	pr.returned = true
	rd.signal()
	rd.mu.Unlock()
}

// Stop makes every reader return.
func (rd *Reading) Stop() { rd.cancel() }

// Halt stops the readers and waits until they have returned: their fields
// may then be read.
func (rd *Reading) Halt() {
	rd.cancel()
	rd.wg.Wait()
}

// Close stops the readers, waits for them and closes the consumer and client.
func (rd *Reading) Close() {
	rd.closed.Do(func() {
		rd.Halt()
		_ = rd.opts.Consumer.Close()
		_ = rd.opts.Client.Close()
	})
}

// E2E returns the end-to-end latencies of a live reading (nil otherwise).
func (rd *Reading) E2E() *workload.Latency {
	if rd.e2e == nil {
		return nil
	}
	return rd.e2e.Latency()
}

// Records returns how many records were read in all.
func (rd *Reading) Records() int64 {
	var n int64
	for _, pr := range rd.parts {
		n += pr.Records
	}
	return n
}

// Elapsed is how long the reading took, from the first record read (the
// client's own start-up is not the cluster's time): to the last record read
// when it ran alongside produce, else until now.
func (rd *Reading) Elapsed() time.Duration {
	if rd.e2e == nil {
		return time.Since(rd.FirstRecord())
	}
	var last time.Time
	for _, pr := range rd.parts {
		if pr.Last.After(last) {
			last = pr.Last
		}
	}
	if last.IsZero() {
		return 0
	}
	return last.Sub(rd.FirstRecord())
}

// FirstRecord is when the first record of any partition was read, or when
// the reading started if none was.
func (rd *Reading) FirstRecord() time.Time {
	var first time.Time
	for _, pr := range rd.parts {
		if !pr.First.IsZero() && (first.IsZero() || pr.First.Before(first)) {
			first = pr.First
		}
	}
	if first.IsZero() {
		return rd.start
	}
	return first
}

// Startup is how long the client took from starting to read to the first record.
func (rd *Reading) Startup() time.Duration { return rd.FirstRecord().Sub(rd.start) }

// errStopped is a reader's error when its reading was stopped before the end.
var errStopped = errors.New("stopped")

// IsStopped reports whether a reader's error means it was stopped.
func IsStopped(err error) bool { return errors.Is(err, errStopped) }

// read reads one partition until the reading is stopped, following its end.
func (rd *Reading) read(pr *PartitionRead) error {
	ctx, o := rd.ctx, rd.opts
	c := NewChecker(o.Expect, o.Ledger, o.Findings)
	if rd.e2e != nil {
		c.E2E = rd.e2e.Recorder()
		defer c.E2E.Flush()
	}
	unreported := 0
	defer func() {
		if o.Progress != nil && unreported > 0 {
			o.Progress(unreported)
		}
	}()
	var pc sarama.PartitionConsumer
	defer func() {
		if pc != nil {
			pc.AsyncClose()
		}
	}()
	var msgs <-chan *sarama.ConsumerMessage
	var errs <-chan *sarama.ConsumerError
	for {
		rd.mu.Lock()
		end, firstEnd := pr.end, pr.firstEnd
		if end >= 0 && pr.Next >= end && !pr.reached {
			pr.reached = true
			rd.signal()
		}
		reached := pr.reached
		rd.mu.Unlock()

		if reached || end < 0 {
			// Wait for a (new) end; the consumer, if open, keeps its place.
			select {
			case <-ctx.Done():
				return errStopped
			case <-pr.endSet:
			}
			continue
		}
		if pc == nil {
			var err error
			if pc, err = rd.open(pr); err != nil {
				if ctx.Err() != nil {
					return errStopped
				}
				pr.FetchErrors[ErrorName(err, "")]++
				if errors.Is(err, sarama.ErrOffsetOutOfRange) {
					rd.relist(pr)
				}
				if sleep(ctx, reopenBackoff) != nil {
					return errStopped
				}
				continue
			}
			msgs, errs = pc.Messages(), pc.Errors()
		}
		select {
		case <-ctx.Done():
			return errStopped
		case <-pr.endSet:
		case ce, ok := <-errs:
			if !ok {
				errs = nil
				break
			}
			if ce != nil {
				pr.FetchErrors[ErrorName(ce.Err, "")]++
			}
		case m, ok := <-msgs:
			if !ok || m == nil {
				// The partition consumer failed for good: drain its errors,
				// list the partition again and open it where reading can go on.
				for ce := range pc.Errors() {
					if ce != nil {
						pr.FetchErrors[ErrorName(ce.Err, "")]++
					}
				}
				pc, msgs, errs = nil, nil, nil
				rd.relist(pr)
				break
			}
			// Then take the records already waiting without a select each.
			for k := len(msgs); ; k-- {
				now := time.Time{}
				if c.E2E != nil {
					now = time.Now()
					pr.Last = now
				}
				if pr.Records == 0 {
					pr.First = time.Now()
				}
				pr.Records++
				late := firstEnd >= 0 && m.Offset >= firstEnd
				if late {
					pr.Late++
				}
				pr.Next = m.Offset + 1
				c.Check(Record{Partition: m.Partition, Offset: m.Offset, Key: m.Key, Value: m.Value}, now, late)
				if unreported++; unreported == progressEvery && o.Progress != nil {
					o.Progress(unreported)
					unreported = 0
				}
				if pr.Next >= end || k <= 0 {
					break
				}
				if m = <-msgs; m == nil {
					break // closed: the next select finds out
				}
			}
		}
	}
}

// open opens pr's partition consumer at pr.Next, within the reading's ctx.
func (rd *Reading) open(pr *PartitionRead) (sarama.PartitionConsumer, error) {
	type result struct {
		pc  sarama.PartitionConsumer
		err error
	}
	ch := make(chan result, 1)
	rd.opts.Panics.Go(fmt.Sprintf("opening %s partition %d", rd.opts.Topic, pr.ID), func() {
		pc, err := rd.opts.Consumer.ConsumePartition(rd.opts.Topic, pr.ID, pr.Next)
		ch <- result{pc, err}
	})
	select {
	case r := <-ch:
		return r.pc, r.err
	case <-rd.ctx.Done():
		go func() {
			if r := <-ch; r.err == nil {
				r.pc.AsyncClose()
			}
		}()
		return nil, rd.ctx.Err()
	}
}

// relist asks for pr's partition's log start again after its consumer
// failed: when the log start moved past pr.Next, the records in between can
// no longer be read, and the reader jumps to the log start.
func (rd *Reading) relist(pr *PartitionRead) {
	lister := rd.opts.Lister
	if lister == nil {
		lister = rd.opts.Client
	}
	start, err := offsetWithin(rd.ctx, lister, rd.opts.Topic, pr.ID, sarama.OffsetOldest)
	if err != nil {
		pr.FetchErrors["list the log start offset again: "+ErrorName(err, "")]++
		return
	}
	if start > pr.Next {
		pr.Skipped = append(pr.Skipped, Skip{From: pr.Next, To: start, Cause: CauseBelowLogStart,
			Detail: fmt.Sprintf("the log start moved from at most %d to %d while the partition was read: records deleted or truncated under the reader", pr.Next, start)})
		pr.Next = start
	}
}

// offsetWithin asks the client for one partition's offset at (OffsetOldest
// or OffsetNewest), refreshing its metadata first, within ctx.
func offsetWithin(ctx context.Context, client sarama.Client, topic string, p int32, at int64) (int64, error) {
	type result struct {
		off int64
		err error
	}
	ch := make(chan result, 1)
	safe.FromContext(ctx).Go(fmt.Sprintf("listing %s partition %d", topic, p), func() {
		_ = client.RefreshMetadata(topic)
		off, err := client.GetOffset(topic, p, at)
		ch <- result{off, err}
	})
	select {
	case r := <-ch:
		return r.off, r.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// sleep waits d, or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Coverage returns what each partition's read covered; the final audit
// fills in the log starts and probes. Call it after Halt.
func (rd *Reading) Coverage() map[int32]*Coverage {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	out := make(map[int32]*Coverage, len(rd.parts))
	for _, pr := range rd.parts {
		cov := &Coverage{Partition: pr.ID, Start: pr.Start, End: pr.end, Next: pr.Next, Done: pr.reached,
			Skipped: append([]Skip(nil), pr.Skipped...)}
		if !pr.reached {
			cov.Stopped, cov.Failed = rd.why(pr), len(pr.FetchErrors) > 0
		}
		out[pr.ID] = cov
	}
	return out
}

// why says why pr did not reach its end. Under rd.mu.
func (rd *Reading) why(pr *PartitionRead) string {
	why := "no answer to its fetches"
	if pr.Err != nil && !IsStopped(pr.Err) {
		why = pr.Err.Error()
	}
	if len(pr.FetchErrors) > 0 {
		errs := make([]string, 0, len(pr.FetchErrors))
		for e, n := range pr.FetchErrors {
			errs = append(errs, fmt.Sprintf("%d × %s", n, e))
		}
		sort.Strings(errs)
		why += fmt.Sprintf(" (fetch errors: %v)", errs)
	}
	return why
}

// Options returns the options the reading was started with.
func (rd *Reading) Options() ReadOptions { return rd.opts }
