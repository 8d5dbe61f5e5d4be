package verify

import (
	"fmt"
	"slices"
	"strings"
)

// Causes of loss: why an acknowledged message was never read.
const (
	// CauseBelowLogStart: the log start moved past the record (deleted or truncated).
	CauseBelowLogStart = "below log start"
	// CauseAboveHighWatermark: the broker acknowledged an offset its high watermark does not expose.
	CauseAboveHighWatermark = "above the high watermark"
	// CauseGap: the offset lies between the log start and the high watermark, but no record came back for it.
	CauseGap = "in range but missing"
	// CauseUnreadable: the partition could not be read there (fetch errors, named).
	CauseUnreadable = "unreadable"
)

// Coverage is what the read of one partition covered: the tally names a
// cause for every lost message from it.
type Coverage struct {
	Partition int32
	// Start is the first offset the read asked for; End the offset it read up
	// to (exclusive): the high watermark of the final audit.
	Start, End int64
	// LogStart is the partition's log start offset at the final audit.
	LogStart int64
	// Next is the offset the read would have read next.
	Next int64
	// Done reports whether the read reached End.
	Done bool
	// Stopped says why the read stopped before End; Failed is set when a
	// broker's errors stopped it (fetch errors), rather than a deadline.
	Stopped string
	Failed  bool
	// Skipped are offset ranges the read had to jump over, with why.
	Skipped []Skip
	// Beyond is what fetching past the high watermark found, when the
	// ledger holds acknowledgements at or beyond End; Below what fetching
	// below the log start found, when it holds acknowledgements below LogStart.
	Beyond, Below *Probe
}

// Skip is a range of offsets [From, To) a reader could not read.
type Skip struct {
	From, To int64
	Cause    string // one of the Cause constants
	Detail   string
}

// Probe is what one fetch past a partition's high watermark found.
type Probe struct {
	From, To int64 // asked for offsets [From, To]
	Found    int64 // records of this run found there
	// FetchHighWatermark is the high watermark the fetch answer carried (-1: none).
	FetchHighWatermark int64
	Err                string
	// BelowLogStart marks a probe below the listed log start (else past the high watermark).
	BelowLogStart bool
}

// String says what the probe found, for a loss's detail.
func (p *Probe) String() string {
	where, offset := "past it", "high watermark"
	if p.BelowLogStart {
		where, offset = "below it", "log start offset"
	}
	if p.Err != "" {
		return fmt.Sprintf("fetching offsets %d..%d %s failed: %s", p.From, p.To, where, p.Err)
	}
	s := fmt.Sprintf("fetching offsets %d..%d %s returned %d of this run's records", p.From, p.To, where, p.Found)
	if p.Found > 0 {
		s += fmt.Sprintf(" (the records are stored; the %s is wrong)", offset)
	} else {
		s += " (the records are not there)"
	}
	if !p.BelowLogStart && p.FetchHighWatermark >= 0 && p.FetchHighWatermark != p.From {
		s += fmt.Sprintf("; the fetch answer's high watermark was %d", p.FetchHighWatermark)
	}
	return s
}

// Loss is the messages of one partition lost for one cause.
type Loss struct {
	Partition   int32
	Cause       string
	Count       int64
	First, Last int64 // offsets acknowledged, lowest and highest
	Detail      string
}

// String renders a loss: "partition 2: 12 below log start (offsets 0-11): log start is 12".
func (l *Loss) String() string {
	offs := fmt.Sprintf("offset %d", l.First)
	if l.Last != l.First {
		offs = fmt.Sprintf("offsets %d-%d", l.First, l.Last)
	}
	s := fmt.Sprintf("partition %d: %d %s (%s)", l.Partition, l.Count, l.Cause, offs)
	if l.Detail != "" {
		s += ": " + l.Detail
	}
	return s
}

// Tally is one walk of a ledger: every message sorted into a verdict.
type Tally struct {
	// Consumed counts the reads of this run's messages; NotReadNoAck the
	// messages sent with acks=0 that were never read.
	Consumed, NotReadNoAck                   int64
	Lost, Duplicated, Misplaced, UnackedRead Examples
	// LateAcked are acknowledged messages read only after producing stopped:
	// the high watermark had not reached them when the read began.
	LateAcked Examples
	// Losses groups Lost by partition and cause, in partition order.
	Losses []*Loss
	// Unread counts acknowledged messages of partitions whose read stopped
	// before them without a broker error (a deadline, no answer): not
	// proven lost, not read either.
	Unread int64
}

// LostByCause returns the lost messages' counts per cause.
func (t *Tally) LostByCause() map[string]int64 {
	out := map[string]int64{}
	for _, l := range t.Losses {
		out[l.Cause] += l.Count
	}
	return out
}

// BadRecord is one message the tally found lost, duplicated, misplaced or
// read back unacknowledged.
type BadRecord struct {
	Kind      string // one of the Record* constants
	Seq       int
	Partition int32 // where it was acknowledged (or headed; -1 if unknown)
	Offset    int64 // where it was acknowledged; -1 when it never was
	Reads     int
	Cause     string // why it was lost
}

// Kinds of BadRecord.
const (
	RecordLost        = "lost"
	RecordDuplicated  = "duplicated"
	RecordMisplaced   = "misplaced"
	RecordUnackedRead = "unacked_read"
)

// TallyOptions say how to tally a ledger.
type TallyOptions struct {
	// N is how many messages (sequences 0..N-1) to walk; Keys how many keys they use.
	N, Keys int
	// SeqBase and KeyBase offset the sequences and key indexes the tally
	// names (a shard's, Expect.SeqBase and KeyBase).
	SeqBase, KeyBase int
	// Coverage is what was read of each partition; a partition without one
	// was not read at all.
	Coverage map[int32]*Coverage
	// Leader, when set, names where a partition is led, for a loss's description.
	Leader func(p int32) string
	// Record, when set, receives every bad message.
	Record func(BadRecord)
}

// TallyLedger walks messages 0..N-1 of l once: the one ledger accounting of
// every scenario that reads its messages back. An acknowledged message never
// read is lost, with a cause from the partition's coverage.
func TallyLedger(l *Ledger, o TallyOptions) Tally {
	t := Tally{
		Lost: Examples{Kind: "lost"}, Duplicated: Examples{Kind: "duplicated"}, Misplaced: Examples{Kind: "misplaced"},
		UnackedRead: Examples{Kind: "read back although not acknowledged (allowed: a broker may apply a write it fails to acknowledge)"},
		LateAcked:   Examples{Kind: "acknowledged, but readable only after producing stopped"},
	}
	record := o.Record
	if record == nil {
		record = func(BadRecord) {}
	}
	keys := max(o.Keys, 1)
	losses := map[[2]string]*Loss{}
	for i := range o.N {
		seq, keyIdx := o.SeqBase+i, o.KeyBase+i%keys // as the payload names them
		state := l.State(i)
		reads, atAcked := l.Reads(i)
		p, off := l.Position(i)
		late := reads > 0 && l.Late(i)
		t.Consumed += int64(reads)
		switch {
		case state == Acked && reads == 0 && unfinished(o.Coverage[p], off):
			t.Unread++
		case state == Acked && reads == 0:
			cause, detail := lossCause(o.Coverage[p], off)
			key := [2]string{fmt.Sprint(p), cause}
			ls := losses[key]
			if ls == nil {
				ls = &Loss{Partition: p, Cause: cause, First: off, Last: off, Detail: detail}
				losses[key] = ls
			}
			ls.Count++
			ls.First, ls.Last = min(ls.First, off), max(ls.Last, off)
			where := ""
			if o.Leader != nil {
				where = o.Leader(p)
			}
			t.Lost.Add("sequence %d (key-%d) acknowledged at partition %d offset %d, never read%s: %s", seq, keyIdx, p, off, where, cause)
			record(BadRecord{Kind: RecordLost, Seq: seq, Partition: p, Offset: off, Cause: cause})
		case state == Acked && !atAcked:
			t.Misplaced.Add("sequence %d acknowledged at partition %d offset %d but read elsewhere", seq, p, off)
			record(BadRecord{Kind: RecordMisplaced, Seq: seq, Partition: p, Offset: off, Reads: reads})
		case state == Acked && late && reads == 1:
			t.LateAcked.Add("sequence %d at partition %d offset %d", seq, p, off)
		case state == SentNoAck && reads == 0:
			t.NotReadNoAck++
		case (state == Failed || state == InFlight) && reads > 0:
			prefix := ""
			if late {
				prefix = LatePrefix
			}
			t.UnackedRead.Add("%ssequence %d (%s, partition %d)", prefix, seq, state, p)
			record(BadRecord{Kind: RecordUnackedRead, Seq: seq, Partition: p, Offset: off, Reads: reads})
		}
		if reads > 1 {
			prefix := ""
			if late {
				prefix = LatePrefix
			}
			t.Duplicated.Add("%ssequence %d read %d times (acknowledged at partition %d offset %d)", prefix, seq, reads, p, off)
			t.Duplicated.Count += int64(reads - 2) // Add counted one; every read after the first is a duplicate
			record(BadRecord{Kind: RecordDuplicated, Seq: seq, Partition: p, Offset: off, Reads: reads})
		}
	}
	for _, ls := range losses {
		t.Losses = append(t.Losses, ls)
	}
	slices.SortFunc(t.Losses, func(a, b *Loss) int {
		if a.Partition != b.Partition {
			return int(a.Partition - b.Partition)
		}
		return int(a.First - b.First)
	})
	for _, ls := range t.Losses {
		if ls.Cause == CauseGap {
			ls.Detail += around(l, o.N, ls)
		}
	}
	return t
}

// unfinished reports whether the read of a partition stopped before offset
// off for no reason a broker gave (a deadline, fetches never answered).
func unfinished(cov *Coverage, off int64) bool {
	return cov != nil && !cov.Done && off >= cov.Next && off < cov.End && !cov.Failed
}

// lossCause names why an acknowledged message at offset off of a partition
// read as cov says was never read.
func lossCause(cov *Coverage, off int64) (cause, detail string) {
	switch {
	case cov == nil:
		return CauseUnreadable, "the partition was not read"
	}
	for _, s := range cov.Skipped { // what the reader saw happen is more precise than the final offsets
		if off >= s.From && off < s.To {
			return s.Cause, s.Detail
		}
	}
	switch {
	case off < cov.LogStart && cov.Below != nil && cov.Below.Found > 0:
		return CauseBelowLogStart, fmt.Sprintf("the log start offset is listed as %d, but %s", cov.LogStart, cov.Below)
	case off < cov.LogStart:
		d := fmt.Sprintf("the log starts at %d: deleted or truncated", cov.LogStart)
		if cov.Below != nil {
			d += "; " + cov.Below.String()
		}
		return CauseBelowLogStart, d
	case off >= cov.End:
		d := fmt.Sprintf("the high watermark is %d: the broker acknowledged offsets it does not expose", cov.End)
		if cov.Beyond != nil {
			d += "; " + cov.Beyond.String()
		}
		return CauseAboveHighWatermark, d
	}
	if !cov.Done && off >= cov.Next {
		return CauseUnreadable, fmt.Sprintf("the read stopped at offset %d of %d: %s", cov.Next, cov.End, cov.Stopped)
	}
	return CauseGap, fmt.Sprintf("offsets %d..%d were read, but no record came back at this offset", cov.Start, cov.End-1)
}

// around finds the offsets read nearest below and above a gap, in a second
// walk of the ledger, and says so.
func around(l *Ledger, n int, ls *Loss) string {
	below, above := int64(-1), int64(-1)
	for seq := range n {
		if l.State(seq) != Acked {
			continue
		}
		if r, at := l.Reads(seq); r == 0 || !at {
			continue
		}
		p, off := l.Position(seq)
		if p != ls.Partition {
			continue
		}
		if off < ls.First && off > below {
			below = off
		}
		if off > ls.Last && (above < 0 || off < above) {
			above = off
		}
	}
	var parts []string
	if below >= 0 {
		parts = append(parts, fmt.Sprintf("read %d before it", below))
	}
	if above >= 0 {
		parts = append(parts, fmt.Sprintf("read %d after it", above))
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}
