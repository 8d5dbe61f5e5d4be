package verify

import (
	"bytes"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chronik-e2e/chronik-e2e/pkg/workload"
)

// LatePrefix names a finding about a record that appeared after producing
// stopped (read by the final audit).
const LatePrefix = "late: appeared after producing stopped: "

// Record is one record read back.
type Record struct {
	Partition int32
	Offset    int64
	Key       []byte
	Value     []byte
}

// Expect says which records belong to a run: messages SeqBase..SeqBase+N-1
// of RunID, message SeqBase+i carrying key index KeyBase+i%len(Keys), whose
// record key is Keys[i%len(Keys)]. Unsharded runs have both bases 0.
type Expect struct {
	RunID uint64
	N     int
	Keys  [][]byte
	// SeqBase and KeyBase offset the sequence numbers and key indexes of a
	// shard's messages into its group's (Shard.Own).
	SeqBase, KeyBase int
	// Group, when set, is the run group the run is a shard of: a record of
	// another shard of the group is counted in Findings.Siblings, not as
	// unexpected.
	Group *Shard
}

// Owns reports whether seq, a payload's sequence number, is one of the run's.
func (e Expect) Owns(seq uint64) bool {
	return seq >= uint64(e.SeqBase) && seq-uint64(e.SeqBase) < uint64(e.N)
}

// Findings collects the bad records found while reading one topic, from
// every partition's checker at once.
type Findings struct {
	mu         sync.Mutex
	Unexpected Examples // not a valid payload of this run, or never sent
	Reordered  Examples // read after a later sequence of the same key in the same partition
	// Siblings counts the records of the other shards of the run's group
	// that were read: expected in the shared topic, not checked further.
	Siblings atomic.Int64
	// SiblingDuplicated lists the siblings' records read more than once:
	// their owner may have finished reading before the copy was written.
	SiblingDuplicated Examples
	siblingOnce       sync.Once
	siblingSeen       []atomic.Uint64 // a bit per sequence of the group
}

// NewFindings returns an empty collection.
func NewFindings() *Findings {
	return &Findings{Unexpected: Examples{Kind: "unexpected"}, Reordered: Examples{Kind: "reordered"},
		SiblingDuplicated: Examples{Kind: "duplicated sibling"}}
}

// sibling counts a read of sibling record seq of group g and reports
// whether it was read before.
func (f *Findings) sibling(g *Shard, seq uint64) (again bool) {
	f.Siblings.Add(1)
	f.siblingOnce.Do(func() { f.siblingSeen = make([]atomic.Uint64, (g.Messages+63)/64) })
	w, bit := &f.siblingSeen[seq/64], uint64(1)<<(seq%64)
	return w.Or(bit)&bit != 0
}

// Checker checks the records of one partition, in the order they are read,
// against a ledger: the one record check of every scenario that reads its
// messages back. Nothing on its path locks, formats or allocates unless a
// record is bad.
type Checker struct {
	exp     Expect
	ledger  *Ledger
	found   *Findings
	order   bool
	lastSeq []int64 // per key: the highest sequence read so far in this partition
	// E2E, when set, receives each first read's end-to-end latency (from the
	// payload's send stamp to now).
	E2E *workload.Recorder
}

// NewChecker returns a checker of one partition that also checks order:
// each key's sequences must be read in increasing order.
func NewChecker(exp Expect, l *Ledger, f *Findings) *Checker {
	c := &Checker{exp: exp, ledger: l, found: f, order: true, lastSeq: make([]int64, len(exp.Keys))}
	for i := range c.lastSeq {
		c.lastSeq[i] = -1
	}
	return c
}

// NewUnorderedChecker returns a checker that does not check order, for
// readers whose order is not a property of the cluster (a consumer group
// re-delivers from its last commit after a rebalance). It may be used from
// several goroutines at once.
func NewUnorderedChecker(exp Expect, l *Ledger, f *Findings) *Checker {
	return &Checker{exp: exp, ledger: l, found: f}
}

// Check verifies one record and records its read in the ledger. now is when
// it was read (used only with E2E); late marks a record that appeared after
// producing stopped.
func (c *Checker) Check(r Record, now time.Time, late bool) {
	keys := c.exp.Keys
	p, err := workload.Decode(r.Value, r.Key)
	switch {
	case err != nil:
		c.unexpected(r, late, "%v", err)
		return
	case p.RunID != c.exp.RunID:
		c.unexpected(r, late, "payload of another run (run id %016x)", p.RunID)
		return
	case !c.exp.Owns(p.Seq) && c.exp.Group.sibling(p.Seq, p.Key, r.Key):
		if c.found.sibling(c.exp.Group, p.Seq) {
			f := c.found
			f.mu.Lock()
			f.SiblingDuplicated.Add("partition %d offset %d: sequence %d of shard %d read again", r.Partition, r.Offset, p.Seq, c.exp.Group.Owner(int(p.Seq)))
			f.mu.Unlock()
		}
		return
	case !c.exp.Owns(p.Seq) && c.exp.Group != nil:
		c.unexpected(r, late, "sequence %d of run group %016x is neither this shard's (%d..%d) nor, with its key %q, another shard's", p.Seq, c.exp.RunID, c.exp.SeqBase, c.exp.SeqBase+c.exp.N-1, r.Key)
		return
	case !c.exp.Owns(p.Seq):
		c.unexpected(r, late, "sequence %d beyond the %d messages of this run", p.Seq, c.exp.N)
		return
	}
	seq := int(p.Seq) - c.exp.SeqBase
	if want := seq % len(keys); int(p.Key) != c.exp.KeyBase+want || !bytes.Equal(r.Key, keys[want]) {
		c.unexpected(r, late, "sequence %d carries key %q, want key-%d", p.Seq, r.Key, c.exp.KeyBase+want)
		return
	}
	switch c.ledger.Read(seq, r.Partition, r.Offset, late) {
	case 0:
		c.unexpected(r, late, "sequence %d was never sent", p.Seq)
		return
	case 1:
	default:
		return // counted as a duplicate when the ledger is tallied
	}
	if c.E2E != nil {
		c.E2E.Record(p.Sent.Since(now))
	}
	if !c.order {
		return
	}
	k := seq % len(keys)
	if last := c.lastSeq[k]; int64(seq) < last {
		c.found.mu.Lock()
		c.found.Reordered.Add("partition %d offset %d: sequence %d (key-%d) read after sequence %d of the same key", r.Partition, r.Offset, p.Seq, p.Key, last+int64(c.exp.SeqBase))
		c.found.mu.Unlock()
		return
	}
	c.lastSeq[k] = int64(seq)
}

// unexpected lists a record that is not a message of this run.
func (c *Checker) unexpected(r Record, late bool, format string, args ...any) {
	prefix := ""
	if late {
		prefix = LatePrefix
	}
	f := c.found
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.Unexpected.Full() {
		f.Unexpected.Count++
		return
	}
	f.Unexpected.Add("%spartition %d offset %d: %s", prefix, r.Partition, r.Offset, fmt.Sprintf(format, args...))
}

// decodePayload is workload.Decode, named for the audit's probe.
var decodePayload = workload.Decode
