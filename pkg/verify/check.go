package verify

import (
	"bytes"
	"fmt"
	"sync"
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

// Expect says which records belong to a run: messages 0..N-1 of RunID,
// message seq carrying key Keys[seq % len(Keys)].
type Expect struct {
	RunID uint64
	N     int
	Keys  [][]byte
}

// Findings collects the bad records found while reading one topic, from
// every partition's checker at once.
type Findings struct {
	mu         sync.Mutex
	Unexpected Examples // not a valid payload of this run, or never sent
	Reordered  Examples // read after a later sequence of the same key in the same partition
}

// NewFindings returns an empty collection.
func NewFindings() *Findings {
	return &Findings{Unexpected: Examples{Kind: "unexpected"}, Reordered: Examples{Kind: "reordered"}}
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
	case p.Seq >= uint64(c.exp.N):
		c.unexpected(r, late, "sequence %d beyond the %d messages of this run", p.Seq, c.exp.N)
		return
	case int(p.Key) >= len(keys) || p.Seq%uint64(len(keys)) != uint64(p.Key) || !bytes.Equal(r.Key, keys[p.Key]):
		c.unexpected(r, late, "sequence %d carries key %q, want key-%d", p.Seq, r.Key, p.Seq%uint64(len(keys)))
		return
	}
	seq := int(p.Seq)
	switch c.ledger.Read(seq, r.Partition, r.Offset, late) {
	case 0:
		c.unexpected(r, late, "sequence %d was never sent", seq)
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
	if last := c.lastSeq[p.Key]; int64(seq) < last {
		c.found.mu.Lock()
		c.found.Reordered.Add("partition %d offset %d: sequence %d (key-%d) read after sequence %d of the same key", r.Partition, r.Offset, seq, p.Key, last)
		c.found.mu.Unlock()
		return
	}
	c.lastSeq[p.Key] = int64(seq)
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
