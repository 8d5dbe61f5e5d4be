package verify

// The read of a transactional topic at one isolation level. A partition of
// a transactional topic ends in control records (commit and abort markers)
// that no consumer delivers, and read_committed stops at the last stable
// offset, so a reader that counts delivered records cannot tell where it
// stands. This one sends Fetch requests itself and sees what the broker
// answers: every batch with its producer id, the markers, the aborted
// transactions the answer lists, the high watermark and the last stable
// offset. It filters aborted transactions out of read_committed as a Kafka
// client does (the Java consumer's algorithm), so what it delivers is what
// an application would see, and it knows how far it got.

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"sort"
	"sync"
	"time"

	"github.com/IBM/sarama"

	"github.com/chronik-e2e/chronik-e2e/pkg/kafka"

	"github.com/chronik-e2e/chronik-e2e/pkg/safe"
)

// CauseAboveLSO: the record lies at or past a last stable offset that never
// reached it, so read_committed cannot read it.
const CauseAboveLSO = "above the last stable offset"

// IsolatedOptions say what an isolated read reads.
type IsolatedOptions struct {
	Client sarama.Client
	Topic  string
	// Partitions are read from Starts to Ends (exclusive; the high
	// watermarks once every transaction had ended), same order.
	Partitions   []int32
	Starts, Ends []int64
	// Committed reads at read_committed, else read_uncommitted.
	Committed bool
	Expect    Expect
	Ledger    *Ledger
	Findings  *Findings
	// Index, when set, records what the read found at each offset.
	Index *OffsetIndex
	// OnRecord, when set, receives every record delivered instead of the
	// record check and the ledger: a read alongside the producers, whose
	// ends are not known, reads until ctx ends (set Ends to MaxInt64).
	OnRecord func(p int32, off int64, key, value []byte)
	// Stall is how long a partition may give nothing new before the read of
	// it stops: for read_committed, a last stable offset that long below the
	// end is stuck. 0: no limit (until ctx ends).
	Stall  time.Duration
	Panics *safe.Recorder
}

// IsolatedPartition is how the read of one partition went.
type IsolatedPartition struct {
	Partition  int32
	Start, End int64
	Next       int64 // the offset it would read next
	// LSO and HWM are the last stable offset and high watermark of the last
	// fetch answer (-1: none came).
	LSO, HWM int64
	// Records counts the data records delivered; Filtered those of aborted
	// transactions read_committed dropped; Markers the control records.
	Records, Filtered, Markers int64
	// Stuck is set when read_committed's last stable offset stayed below
	// End for Stall.
	Stuck bool
	// Stopped says why the read stopped before End ("" when it reached it).
	Stopped     string
	FetchErrors map[string]int
}

// Level names an isolation level: "read_committed".
func Level(committed bool) string {
	if committed {
		return "read_committed"
	}
	return "read_uncommitted"
}

// ReadIsolated reads every partition, one goroutine each, and returns how
// each read went, in the order of o.Partitions.
func ReadIsolated(ctx context.Context, o IsolatedOptions) []*IsolatedPartition {
	out := make([]*IsolatedPartition, len(o.Partitions))
	var wg sync.WaitGroup
	for i, p := range o.Partitions {
		ip := &IsolatedPartition{Partition: p, Start: o.Starts[i], End: o.Ends[i], Next: o.Starts[i], LSO: -1, HWM: -1, FetchErrors: map[string]int{}}
		out[i] = ip
		wg.Add(1)
		o.Panics.Go(fmt.Sprintf("%s reader of %s partition %d", Level(o.Committed), o.Topic, p), func() {
			defer wg.Done()
			readIsolated(ctx, o, ip)
		})
	}
	wg.Wait()
	return out
}

// Coverage returns what each partition's read covered, for the tally: a
// stuck last stable offset is a skip of the offsets past it.
func IsolatedCoverage(parts []*IsolatedPartition) map[int32]*Coverage {
	out := make(map[int32]*Coverage, len(parts))
	for _, ip := range parts {
		c := &Coverage{Partition: ip.Partition, Start: ip.Start, End: ip.End, LogStart: ip.Start, Next: ip.Next,
			Done: ip.Stopped == "", Stopped: ip.Stopped, Failed: len(ip.FetchErrors) > 0}
		if ip.Stuck {
			c.Done, c.Failed = true, true
			c.Skipped = append(c.Skipped, Skip{From: ip.Next, To: ip.End, Cause: CauseAboveLSO,
				Detail: fmt.Sprintf("the last stable offset stayed at %d below the high watermark %d after every transaction had ended", ip.LSO, ip.End)})
		}
		out[ip.Partition] = c
	}
	return out
}

// fetchPause is how long a reader waits after a fetch error.
const fetchPause = 100 * time.Millisecond

func readIsolated(ctx context.Context, o IsolatedOptions, ip *IsolatedPartition) {
	check := NewUnorderedChecker(o.Expect, o.Ledger, o.Findings)
	f := &abortFilter{aborted: map[int64]bool{}}
	progress := time.Now()
	for ip.Next < ip.End {
		if ctx.Err() != nil {
			ip.Stopped = fmt.Sprintf("stopped at offset %d of %d: the deadline passed", ip.Next, ip.End)
			return
		}
		if o.Stall > 0 && time.Since(progress) > o.Stall {
			switch {
			case o.Committed && ip.LSO >= 0 && ip.LSO <= ip.Next && ip.HWM >= ip.End:
				ip.Stuck = true
				ip.Stopped = ""
			default:
				ip.Stopped = fmt.Sprintf("nothing new at offset %d of %d for %s%s", ip.Next, ip.End, o.Stall, fetchErrs(ip.FetchErrors))
			}
			return
		}
		block, err := fetchOnce(ctx, o, ip.Partition, ip.Next)
		if err != nil {
			ip.FetchErrors[ErrorName(err, "")]++
			refreshWithin(ctx, o.Client, o.Topic)
			_ = sleep(ctx, fetchPause)
			continue
		}
		ip.HWM, ip.LSO = block.HighWaterMarkOffset, block.LastStableOffset
		if o.Committed {
			f.add(block.AbortedTransactions)
		}
		before := ip.Next
		for _, recs := range block.RecordsSet {
			if !readBatch(o, ip, f, check, recs) {
				break
			}
		}
		if ip.Next > before {
			progress = time.Now()
		}
	}
}

// refreshWithin refreshes the client's metadata of topic, waiting no longer
// than ctx lives (the refresh then ends on its own).
func refreshWithin(ctx context.Context, client sarama.Client, topic string) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = client.RefreshMetadata(topic)
	}()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// fetchErrs renders the fetch errors for a reason: " (fetch errors: ...)".
func fetchErrs(errs map[string]int) string {
	if len(errs) == 0 {
		return ""
	}
	var out []string
	for e, n := range errs {
		out = append(out, fmt.Sprintf("%d × %s", n, e))
	}
	sort.Strings(out)
	return fmt.Sprintf(" (fetch errors: %v)", out)
}

// readBatch checks the records of one batch from ip.Next on and moves
// ip.Next past it; false: the batch is incomplete, fetch again.
func readBatch(o IsolatedOptions, ip *IsolatedPartition, f *abortFilter, check *Checker, recs *sarama.Records) bool {
	deliver := func(off int64, key, value []byte) {
		if off < ip.Next || off >= ip.End {
			return
		}
		ip.Records++
		if o.OnRecord != nil {
			o.OnRecord(ip.Partition, off, key, value)
			return
		}
		check.Check(Record{Partition: ip.Partition, Offset: off, Key: key, Value: value}, time.Time{}, false)
		if o.Index != nil {
			o.Index.put(ip.Partition, off, key, value, o.Expect)
		}
	}
	if recs.MsgSet != nil { // a message set of before 0.11: no transactions
		for _, mb := range recs.MsgSet.Messages {
			if mb.Msg == nil {
				continue
			}
			deliver(mb.Offset, mb.Msg.Key, mb.Msg.Value)
			ip.Next = max(ip.Next, mb.Offset+1)
		}
		return true
	}
	b := recs.RecordBatch
	if b == nil || b.PartialTrailingRecord {
		return false
	}
	last := b.FirstOffset + int64(b.LastOffsetDelta)
	if last < ip.Next {
		return true // a batch before where the read stands (answers begin at a batch's start)
	}
	skip := false
	switch {
	case o.Committed && b.ProducerID >= 0:
		f.upTo(last)
		switch {
		case b.Control && abortMarker(b):
			delete(f.aborted, b.ProducerID)
		case b.IsTransactional && f.aborted[b.ProducerID]:
			skip = true
			ip.Filtered += int64(len(b.Records))
		}
	}
	switch {
	case b.Control:
		ip.Markers += int64(len(b.Records))
	case !skip:
		for _, r := range b.Records {
			deliver(b.FirstOffset+r.OffsetDelta, r.Key, r.Value)
		}
	}
	ip.Next = max(ip.Next, last+1)
	return true
}

// abortMarker reports whether a control batch holds an abort marker: its
// record's key is version (int16) and type (int16, 0 abort, 1 commit).
func abortMarker(b *sarama.RecordBatch) bool {
	for _, r := range b.Records {
		if len(r.Key) >= 4 && binary.BigEndian.Uint16(r.Key[2:4]) == 0 {
			return true
		}
	}
	return false
}

// abortFilter is the read_committed client's filter: the aborted
// transactions the fetch answers listed, by first offset, and the producers
// whose batches are being dropped until their abort marker.
type abortFilter struct {
	pending []*sarama.AbortedTransaction
	aborted map[int64]bool
}

func (f *abortFilter) add(ats []*sarama.AbortedTransaction) {
	f.pending = append(f.pending, ats...)
	sort.SliceStable(f.pending, func(i, j int) bool { return f.pending[i].FirstOffset < f.pending[j].FirstOffset })
}

// upTo moves the aborted transactions that begin at or before offset to the dropped producers.
func (f *abortFilter) upTo(offset int64) {
	for len(f.pending) > 0 && f.pending[0].FirstOffset <= offset {
		f.aborted[f.pending[0].ProducerID] = true
		f.pending = f.pending[1:]
	}
}

// fetchOnce fetches partition p from offset at the read's isolation level,
// from its leader, within ctx.
func fetchOnce(ctx context.Context, o IsolatedOptions, p int32, offset int64) (*sarama.FetchResponseBlock, error) {
	type result struct {
		block *sarama.FetchResponseBlock
		err   error
	}
	ch := make(chan result, 1)
	go func() {
		b, err := o.Client.Leader(o.Topic, p)
		if err != nil {
			ch <- result{nil, err}
			return
		}
		req := &sarama.FetchRequest{Version: max(kafka.FetchVersion(o.Client.Config().Version), 4), MaxWaitTime: 200, MinBytes: 1, MaxBytes: 8 << 20}
		if o.Committed {
			req.Isolation = sarama.ReadCommitted
		}
		if req.Version >= 7 {
			req.SessionID, req.SessionEpoch = 0, -1
		}
		req.AddBlock(o.Topic, p, offset, 4<<20, -1)
		resp, err := b.Fetch(req)
		if err != nil {
			go func() { _ = b.Close() }()
			ch <- result{nil, err}
			return
		}
		block := resp.GetBlock(o.Topic, p)
		switch {
		case block == nil:
			err = sarama.ErrIncompleteResponse
		case block.Err != sarama.ErrNoError:
			err = block.Err
		}
		ch <- result{block, err}
	}()
	select {
	case r := <-ch:
		return r.block, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// OffsetIndex records what one read found at each offset of each
// partition, to compare with another read: a hash of key and value and the
// sequence, when the record is one of the run's.
type OffsetIndex struct {
	parts map[int32]*indexPart
}

type indexPart struct {
	start   int64
	entries []indexEntry
}

type indexEntry struct {
	hash uint64 // 0: nothing read here
	seq  int64
}

// NewOffsetIndex returns an index of the offsets [starts[i], ends[i]) of partitions.
func NewOffsetIndex(partitions []int32, starts, ends []int64) *OffsetIndex {
	x := &OffsetIndex{parts: map[int32]*indexPart{}}
	for i, p := range partitions {
		x.parts[p] = &indexPart{start: starts[i], entries: make([]indexEntry, max(0, ends[i]-starts[i]))}
	}
	return x
}

// put records the record at p, off. One goroutine per partition.
func (x *OffsetIndex) put(p int32, off int64, key, value []byte, exp Expect) {
	ip := x.parts[p]
	if ip == nil || off < ip.start || off-ip.start >= int64(len(ip.entries)) {
		return
	}
	h := fnv.New64a()
	h.Write(key)
	h.Write([]byte{0})
	h.Write(value)
	e := indexEntry{hash: h.Sum64() | 1, seq: -1}
	if pl, err := decodePayload(value, key); err == nil && pl.RunID == exp.RunID {
		e.seq = int64(pl.Seq)
	}
	ip.entries[off-ip.start] = e
}

// seqAt returns the sequence of the record read at p, off (-1: not the
// run's) and whether a record was read there.
func (x *OffsetIndex) seqAt(p int32, off int64) (int64, bool) {
	ip := x.parts[p]
	if ip == nil || off < ip.start || off-ip.start >= int64(len(ip.entries)) {
		return 0, false
	}
	e := ip.entries[off-ip.start]
	return e.seq, e.hash != 0
}

// Inconsistent compares two reads' indexes and lists every offset at which
// both read a record and the records differ; what names the reads.
func Inconsistent(a, b *OffsetIndex, whatA, whatB string, txns *Txns) Examples {
	ex := Examples{Kind: AnomalyInconsistent}
	ids := make([]int32, 0, len(a.parts))
	for p := range a.parts {
		ids = append(ids, p)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, p := range ids {
		pa, pb := a.parts[p], b.parts[p]
		if pb == nil {
			continue
		}
		for i, ea := range pa.entries {
			off := pa.start + int64(i)
			j := off - pb.start
			if ea.hash == 0 || j < 0 || j >= int64(len(pb.entries)) {
				continue
			}
			eb := pb.entries[j]
			if eb.hash == 0 || eb.hash == ea.hash {
				continue
			}
			ex.Add("partition %d offset %d: %s read %s, %s read %s", p, off, whatA, describeSeq(ea.seq, txns), whatB, describeSeq(eb.seq, txns))
		}
	}
	return ex
}

// describeSeq names a record of an index: "sequence 12 (transaction x#3)".
func describeSeq(seq int64, txns *Txns) string {
	if seq < 0 {
		return "a record that is not this run's"
	}
	s := fmt.Sprintf("sequence %d", seq)
	if t := txns.Of(int(seq)); t != nil {
		s += fmt.Sprintf(" (transaction %s, %s)", t.Name(), t.Outcome)
	}
	return s
}
