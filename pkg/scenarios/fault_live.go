package scenarios

// A reader that runs through the faults: it consumes every partition of a
// stream's topic while the stream produces and the faults strike, and keeps
// what it read at each offset. Once the cluster has healed, every record it
// read must still be in the log, at the same offset: a record read during a
// fault and gone after it is a read of data the cluster never committed (a
// dirty read: a leader serving what it had not replicated, then losing it).

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/IBM/sarama"
)

// liveReopen is how long the live reader waits before it reopens a
// partition whose consumer failed.
const liveReopen = 200 * time.Millisecond

// maxLiveReads bounds the records the live reader keeps (16 bytes each).
const maxLiveReads = 4 << 20

// liveReader reads a topic while faults strike.
type liveReader struct {
	k     *faultKit
	topic string

	mu     sync.Mutex
	seen   map[int32]map[int64]uint64 // per partition, per offset: the record's hash
	reads  int
	errors map[string]int64
	full   bool

	cancel context.CancelFunc
	done   sync.WaitGroup
}

// startLiveReader starts reading every partition of the kit's topic from
// its start; stop ends it.
func (k *faultKit) startLiveReader(partitions int) *liveReader {
	ctx, cancel := context.WithCancel(context.Background())
	lr := &liveReader{k: k, topic: k.topic, seen: map[int32]map[int64]uint64{}, errors: map[string]int64{}, cancel: cancel}
	for p := range int32(partitions) {
		lr.seen[p] = map[int64]uint64{}
		lr.done.Add(1)
		k.env.Panics.Go(fmt.Sprintf("live reader of %s partition %d", k.topic, p), func() {
			defer lr.done.Done()
			lr.read(ctx, p)
		})
	}
	k.onDone(lr.stop)
	return lr
}

// stop ends the reading and waits for its readers; safe to call twice.
func (lr *liveReader) stop() {
	lr.cancel()
	lr.done.Wait()
}

// read consumes partition p until ctx ends, reopening its consumer (from
// the next offset) whenever it fails.
func (lr *liveReader) read(ctx context.Context, p int32) {
	cfg := lr.k.env.Config()
	cfg.Net.DialTimeout, cfg.Net.ReadTimeout, cfg.Net.WriteTimeout = watchDial, 5*time.Second, 5*time.Second
	cfg.Consumer.Return.Errors = true
	next := sarama.OffsetOldest
	for ctx.Err() == nil {
		next = lr.readOnce(ctx, cfg, p, next)
		if sleepCtx(ctx, liveReopen) != nil {
			return
		}
	}
}

// readOnce opens one consumer of p at next and reads until it fails or ctx
// ends; it returns the next offset to read.
func (lr *liveReader) readOnce(ctx context.Context, cfg *sarama.Config, p int32, next int64) int64 {
	c, err := sarama.NewConsumer(lr.k.env.Cluster.Bootstrap(), cfg)
	if err != nil {
		lr.fail(err)
		return next
	}
	defer closeWithin(context.WithoutCancel(ctx), 5*time.Second, func() { _ = c.Close() })
	pc, err := c.ConsumePartition(lr.topic, p, next)
	if err != nil {
		lr.fail(err)
		return next
	}
	defer closeWithin(context.WithoutCancel(ctx), 5*time.Second, func() { _ = pc.Close() })
	for {
		select {
		case <-ctx.Done():
			return next
		case m, ok := <-pc.Messages():
			if !ok || m == nil {
				return next
			}
			lr.record(p, m.Offset, recordHash(m.Key, m.Value))
			next = m.Offset + 1
		case e, ok := <-pc.Errors():
			if !ok || e == nil {
				return next
			}
			lr.fail(e.Err)
			return next
		}
	}
}

func (lr *liveReader) record(p int32, off int64, h uint64) {
	lr.mu.Lock()
	defer lr.mu.Unlock()
	if lr.reads >= maxLiveReads {
		lr.full = true
		return
	}
	lr.seen[p][off] = h
	lr.reads++
}

func (lr *liveReader) fail(err error) {
	lr.mu.Lock()
	defer lr.mu.Unlock()
	lr.errors[kafkaName(err)]++
}

// check stops the reader and compares what it read with what the current
// leader of each partition serves now: every record read must still be
// there, at its offset.
func (lr *liveReader) check(ctx context.Context) error {
	lr.stop()
	k := lr.k
	lr.mu.Lock()
	reads, full, errs := lr.reads, lr.full, byCount(lr.errors)
	lr.mu.Unlock()
	k.step.Metric("live_reads", float64(reads))
	if len(lr.errors) > 0 {
		k.step.Notef("the reader that ran through the faults read %d records; its consumers failed and were reopened: %s", reads, errs)
	}
	if full {
		k.step.Notef("the reader that ran through the faults stopped keeping records after %d", maxLiveReads)
	}
	snap := k.watch.snapshot()
	rr := &replicaRead{env: k.env, step: k.step, topic: k.topic, who: k.name}
	ids := sortedKeys(lr.seen)
	starts, ends, err := logBounds(ctx, k.env.Client, k.topic, ids)
	if err != nil {
		return err
	}
	for i, p := range ids {
		seen := lr.seen[p]
		if len(seen) == 0 {
			continue
		}
		leader := snap.leaderOf(p)
		if leader < 0 {
			k.step.Failf("reads through the faults: partition %d has no leader to compare them with", p)
			continue
		}
		final, err := rr.fetchReplica(ctx, k.node(leader).Addr, p, starts[i], ends[i])
		if err != nil {
			if ctx.Err() != nil {
				return ctxOr(ctx)
			}
			k.step.Failf("reads through the faults: partition %d could not be read from leader node %d: %v", p, leader, err)
			continue
		}
		var gone, changed []int64
		for off, h := range seen {
			if off < starts[i] {
				continue // deleted by retention since: not the cluster's loss
			}
			switch fh, ok := final[off]; {
			case !ok:
				gone = append(gone, off)
			case fh != h:
				changed = append(changed, off)
			}
		}
		slices.Sort(gone)
		slices.Sort(changed)
		if len(gone) > 0 {
			k.step.Failf("reads through the faults: partition %d served %d record(s) during the faults at offsets %s that its log no longer holds (leader node %d, log %d-%d): a read of data the cluster did not keep",
				p, len(gone), offsetRanges(gone), leader, starts[i], ends[i])
		}
		if len(changed) > 0 {
			k.step.Failf("reads through the faults: partition %d served other records during the faults at offsets %s than its log holds now (leader node %d): two logs agreed on offsets and disagreed on records",
				p, offsetRanges(changed), leader)
		}
	}
	return nil
}
