package verify

// The verdicts of a transactional read: one walk of the ledger, transaction
// by transaction, after one read at one isolation level. The anomalies are
// Jepsen's names for what a Kafka transaction must never show.

import (
	"fmt"
	"strings"
	"time"
)

// Anomalies of transactional reads: each fails the run, but AnomalyAbortedHidden.
const (
	// AnomalyLost: a record of a committed transaction was not read.
	AnomalyLost = "lost"
	// AnomalyDuplicate: a record was read more than once.
	AnomalyDuplicate = "duplicate"
	// AnomalyAbortedRead: read_committed returned a record of an aborted transaction.
	AnomalyAbortedRead = "aborted_read"
	// AnomalyPartial: read_committed returned some records of a transaction and not others below the last stable offset.
	AnomalyPartial = "partial_transaction"
	// AnomalyInconsistent: two reads returned different records at one offset.
	AnomalyInconsistent = "inconsistent_offsets"
	// AnomalyPrecommitted: read_committed, read alongside the producers,
	// returned a record before its producer had asked to commit it.
	AnomalyPrecommitted = "precommitted_read"
	// AnomalyStuckLSO: the last stable offset stayed below the high watermark after every transaction ended.
	AnomalyStuckLSO = "stuck_lso"
	// AnomalyPollSkip: a consumer's poll skipped offsets without a rebalance between.
	AnomalyPollSkip = "poll_skip"
	// AnomalyNonMonotonic: a consumer's poll went back over offsets without a rebalance between.
	AnomalyNonMonotonic = "non_monotonic_poll"
	// AnomalyReordered: an output partition holds records in another order than its input partition.
	AnomalyReordered = "reordered"
	// AnomalyUncommittedOffsets: the group's committed offsets are not the input's end offsets.
	AnomalyUncommittedOffsets = "committed_offsets"
	// AnomalyEndMoved: a high watermark changed while the topic was read, after every transaction had ended.
	AnomalyEndMoved = "end_moved"
	// AnomalyMisplaced: a record was read at another partition or offset than acknowledged.
	AnomalyMisplaced = "misplaced"
	// AnomalyUnexpected: a record that is not one of the run's, or one never sent.
	AnomalyUnexpected = "unexpected"
	// AnomalyUnread: a read stopped before a record without a broker error (a deadline).
	AnomalyUnread = "unread"
	// AnomalyAbortedHidden: read_uncommitted did not return a record of an
	// aborted transaction. Reported, not failed: a broker may drop an
	// aborted transaction's records.
	AnomalyAbortedHidden = "aborted_not_returned"
)

// anomalyOrder is the order anomalies are reported in.
var anomalyOrder = []string{AnomalyStuckLSO, AnomalyLost, AnomalyDuplicate, AnomalyAbortedRead, AnomalyPrecommitted, AnomalyPartial, AnomalyInconsistent,
	AnomalyEndMoved, AnomalyPollSkip, AnomalyNonMonotonic, AnomalyReordered, AnomalyUncommittedOffsets, AnomalyMisplaced, AnomalyUnexpected, AnomalyUnread, AnomalyAbortedHidden}

// AnomalyFails reports whether an anomaly fails the run.
func AnomalyFails(kind string) bool { return kind != AnomalyAbortedHidden }

// Anomalies counts a transactional scenario's anomalies by kind, with examples.
type Anomalies struct {
	byKind map[string]*Examples
}

// NewAnomalies returns an empty collection.
func NewAnomalies() *Anomalies { return &Anomalies{byKind: map[string]*Examples{}} }

// Get returns the examples of kind, created on first use.
func (a *Anomalies) Get(kind string) *Examples {
	e := a.byKind[kind]
	if e == nil {
		e = &Examples{Kind: kind}
		a.byKind[kind] = e
	}
	return e
}

// Add records one anomaly of kind.
func (a *Anomalies) Add(kind, format string, args ...any) { a.Get(kind).Add(format, args...) }

// Merge adds e's count and examples to kind.
func (a *Anomalies) Merge(kind string, e *Examples) {
	if e.Count > 0 {
		a.Get(kind).Merge(e)
	}
}

// Count is how many anomalies of kind were found.
func (a *Anomalies) Count(kind string) int64 {
	if e := a.byKind[kind]; e != nil {
		return e.Count
	}
	return 0
}

// Kinds returns the kinds found, in report order.
func (a *Anomalies) Kinds() []string {
	var out []string
	for _, k := range anomalyOrder {
		if a.Count(k) > 0 {
			out = append(out, k)
		}
	}
	return out
}

// Failed reports whether an anomaly that fails the run was found.
func (a *Anomalies) Failed() bool {
	for _, k := range a.Kinds() {
		if AnomalyFails(k) {
			return true
		}
	}
	return false
}

// TallyTxns walks every transaction of txns in l after one read at one
// isolation level (committed: read_committed), whose coverage is cov, and
// adds what the read showed that it must not to a. It returns how many of
// the transactions of unknown outcome the read showed committed.
func TallyTxns(l *Ledger, txns *Txns, committed bool, cov map[int32]*Coverage, a *Anomalies) (unknownVisible int) {
	level := Level(committed)
	for _, t := range txns.List() {
		var seen, hidden []string // of records below the last stable offset: where read, where not
		visible, decided := 0, 0
		for seq := t.First; seq < t.First+t.Len; seq++ {
			state := l.State(seq)
			reads, atAcked := l.Reads(seq)
			p, off := l.Position(seq)
			where := fmt.Sprintf("partition %d offset %d", p, off)
			if state != Acked {
				where = fmt.Sprintf("partition %d (%s)", p, state)
			}
			if reads > 1 {
				a.Add(AnomalyDuplicate, "%s: %s: sequence %d of transaction %s (%s) read %d times", level, where, seq, t.Name(), t.Outcome, reads)
			}
			if reads > 0 && state == Acked && !atAcked {
				a.Add(AnomalyMisplaced, "%s: sequence %d of transaction %s acknowledged at %s but read elsewhere", level, seq, t.Name(), where)
			}
			if reads > 0 {
				visible++
			}
			c := cov[p]
			stable := state == Acked && !aboveLSO(c, off)
			if state == Acked && reads == 0 && unfinished(c, off) {
				a.Add(AnomalyUnread, "%s: %s: sequence %d of transaction %s: the read stopped before it (%s)", level, where, seq, t.Name(), c.Stopped)
				continue
			}
			if stable || reads > 0 {
				decided++
				if reads > 0 {
					seen = append(seen, where)
				} else {
					hidden = append(hidden, where)
				}
			}
			switch vis := Visible(t.Outcome, committed); {
			case vis == MustSee && reads == 0 && state == Acked:
				cause, detail := lossCause(c, off)
				a.Add(AnomalyLost, "%s: %s: sequence %d of committed transaction %s never read: %s (%s)", level, where, seq, t.Name(), cause, detail)
			case vis == MustNotSee && reads > 0:
				a.Add(AnomalyAbortedRead, "%s: sequence %d of aborted transaction %s read at partition %d offset %d", level, seq, t.Name(), p, off)
			case vis == MaySee && t.Outcome == TxnAborted && reads == 0 && state == Acked:
				a.Add(AnomalyAbortedHidden, "%s: sequence %d of aborted transaction %s not returned", where, seq, t.Name())
			}
		}
		if committed && len(seen) > 0 && len(hidden) > 0 {
			a.Add(AnomalyPartial, "%s: transaction %s (%s): %d of %d records visible (%s), not %s", level, t.Name(), t.Outcome,
				len(seen), decided, firstFew(seen), firstFew(hidden))
		}
		if t.Outcome == TxnUnknown && visible > 0 && committed {
			unknownVisible++
		}
	}
	return unknownVisible
}

// aboveLSO reports whether off lies past a stuck last stable offset of cov.
func aboveLSO(c *Coverage, off int64) bool {
	if c == nil {
		return false
	}
	for _, s := range c.Skipped {
		if s.Cause == CauseAboveLSO && off >= s.From {
			return true
		}
	}
	return false
}

// firstFew joins up to three items and says how many more there are.
func firstFew(items []string) string {
	if len(items) <= 3 {
		return strings.Join(items, ", ")
	}
	return strings.Join(items[:3], ", ") + fmt.Sprintf(" and %d more", len(items)-3)
}

// StuckLSO adds a stuck-LSO anomaly for every partition of parts whose last
// stable offset stayed below its end for stall, naming the run's
// transaction with the lowest record at or past it.
func StuckLSO(parts []*IsolatedPartition, stall time.Duration, l *Ledger, txns *Txns, a *Anomalies) {
	for _, ip := range parts {
		if !ip.Stuck {
			continue
		}
		var holder *Txn
		at := int64(-1)
		for _, t := range txns.List() {
			for seq := t.First; seq < t.First+t.Len; seq++ {
				if p, off := l.Position(seq); l.State(seq) == Acked && p == ip.Partition && off >= ip.LSO && (at < 0 || off < at) {
					holder, at = t, off
				}
			}
		}
		what := "; no record of the run's transactions lies past it (another producer's transaction holds it open, or the broker lost track)"
		if holder != nil {
			what = fmt.Sprintf("; the first of the run's records past it is at offset %d, of transaction %s (%s)", at, holder.Name(), holder.Outcome)
		}
		a.Add(AnomalyStuckLSO, "partition %d: the last stable offset stayed at %d below the high watermark %d for %s after every transaction had ended: read_committed readers cannot read offsets %d..%d%s",
			ip.Partition, ip.LSO, ip.End, stall, ip.LSO, ip.End-1, what)
	}
}

// TallyCopies walks input records 0..n-1 of a consume-transform-produce
// run, whose copies were read from the output into l (records sent, read
// where found): each must be read once, in partition seq % partitions.
func TallyCopies(l *Ledger, n, partitions int, a *Anomalies) {
	for seq := range n {
		reads, _ := l.Reads(seq)
		p, off := l.Position(seq)
		switch {
		case reads == 0:
			a.Add(AnomalyLost, "input sequence %d (input partition %d) is not in the output", seq, seq%partitions)
		case reads > 1:
			a.Add(AnomalyDuplicate, "input sequence %d is in the output %d times (first at partition %d offset %d)", seq, reads, p, off)
		}
		if reads > 0 && int(p) != seq%partitions {
			a.Add(AnomalyMisplaced, "input sequence %d of input partition %d is in output partition %d (offset %d)", seq, seq%partitions, p, off)
		}
	}
}

// InOrder checks that each partition of x holds the run's sequences in
// increasing order, as its input partition did.
func InOrder(x *OffsetIndex, partitions []int32, a *Anomalies) {
	for _, p := range partitions {
		ip := x.parts[p]
		if ip == nil {
			continue
		}
		last, lastOff := int64(-1), int64(-1)
		for i, e := range ip.entries {
			if e.hash == 0 || e.seq < 0 {
				continue
			}
			off := ip.start + int64(i)
			if e.seq < last {
				a.Add(AnomalyReordered, "output partition %d: sequence %d at offset %d after sequence %d at offset %d", p, e.seq, off, last, lastOff)
			}
			last, lastOff = max(last, e.seq), off
		}
	}
}
