package verify

import (
	"runtime"
	"sync/atomic"
	"unsafe"
)

// State is where one message stands in the produce phase.
type State uint8

// Message states.
const (
	Unsent    State = iota // never handed to the producer
	InFlight               // handed to the producer, no answer yet
	Acked                  // acknowledged with a partition and offset
	Failed                 // the produce failed, or the broker's answer was not an acknowledgement
	SentNoAck              // sent with acks=0: no acknowledgement exists
)

// String returns the state in words, e.g. "in flight".
func (s State) String() string {
	switch s {
	case Unsent:
		return "unsent"
	case InFlight:
		return "in flight"
	case Acked:
		return "acked"
	case Failed:
		return "failed"
	case SentNoAck:
		return "sent (acks=0)"
	}
	return "unknown"
}

// meta packs a message's state and read bookkeeping into one word:
// bits 0-15 read count (saturating), bit 16 read at the acked position,
// bit 17 a lock on the entry's position fields, bit 18 the position fields
// hold where the message was first read (it was read before its answer
// arrived), bit 19 read late (after producing stopped, by the final audit),
// bits 24-31 state.
const (
	readMask   = 0xFFFF
	matchedBit = 1 << 16
	lockBit    = 1 << 17
	readPosBit = 1 << 18
	lateBit    = 1 << 19
	stateShift = 24
	stateMask  = 0xFF << stateShift
	maxReads   = readMask
)

// entry is 16 bytes: the whole per-message cost of the ledger.
type entry struct {
	offset    int64
	partition int32
	meta      atomic.Uint32
}

// lock takes the entry's lock and returns its meta word (without the lock
// bit). Two goroutines meet on one entry only when a message is read back
// while its answer is being recorded, so the lock is almost never contended.
func (e *entry) lock() uint32 {
	for spins := 0; ; spins++ {
		old := e.meta.Load()
		if old&lockBit == 0 && e.meta.CompareAndSwap(old, old|lockBit) {
			return old
		}
		if spins > 16 {
			runtime.Gosched()
		}
	}
}

// unlock stores meta and releases the lock.
func (e *entry) unlock(meta uint32) { e.meta.Store(meta &^ lockBit) }

// Ledger records, per message sequence number, what the producer was told and
// how often and where the message was read back. Every method may be called
// from many goroutines at once; a message may be read before its answer is
// recorded (consuming while producing).
type Ledger struct {
	entries []entry
}

// NewLedger returns a ledger for n messages, sequence numbers 0..n-1.
func NewLedger(n int) *Ledger { return &Ledger{entries: make([]entry, n)} }

// Len is the number of messages the ledger holds.
func (l *Ledger) Len() int { return len(l.entries) }

// BytesPerMessage is the ledger's memory cost per message.
func BytesPerMessage() int { return int(unsafe.Sizeof(entry{})) }

// setState changes seq's state alone: one compare-and-swap, taken only
// while the entry is not locked.
func (l *Ledger) setState(seq int, s State) {
	e := &l.entries[seq]
	for spins := 0; ; spins++ {
		old := e.meta.Load()
		if old&lockBit == 0 && e.meta.CompareAndSwap(old, old&^stateMask|uint32(s)<<stateShift) {
			return
		}
		if spins > 16 {
			runtime.Gosched()
		}
	}
}

// Sent marks seq as handed to the producer.
func (l *Ledger) Sent(seq int) { l.setState(seq, InFlight) }

// Ack records that seq was acknowledged at partition and offset. If seq was
// read before this answer arrived, the read counts as at the acknowledged
// position only if it was at partition and offset.
func (l *Ledger) Ack(seq int, partition int32, offset int64) {
	e := &l.entries[seq]
	old := e.lock()
	nw := old&^(stateMask|readPosBit) | uint32(Acked)<<stateShift
	if old&readPosBit != 0 && e.partition == partition && e.offset == offset {
		nw |= matchedBit
	}
	e.partition, e.offset = partition, offset
	e.unlock(nw)
}

// Fail records that producing seq failed; partition is where it was headed
// (-1 if unknown, in which case a partition it was read from is kept).
func (l *Ledger) Fail(seq int, partition int32) { l.unacked(seq, partition, Failed) }

// SentNoAck records that seq was sent with acks=0 to partition.
func (l *Ledger) SentNoAck(seq int, partition int32) { l.unacked(seq, partition, SentNoAck) }

func (l *Ledger) unacked(seq int, partition int32, s State) {
	e := &l.entries[seq]
	old := e.lock()
	if partition >= 0 || old&readPosBit == 0 {
		e.partition = partition
	}
	e.offset = -1
	e.unlock(old&^(stateMask|readPosBit) | uint32(s)<<stateShift)
}

// State returns seq's produce state.
func (l *Ledger) State(seq int) State { return State(l.entries[seq].meta.Load() >> stateShift) }

// Position returns where seq was acknowledged (or headed, or first read when
// no answer came). Call it once the reads and answers are recorded.
func (l *Ledger) Position(seq int) (partition int32, offset int64) {
	e := &l.entries[seq]
	e.meta.Load() // pairs with the last unlock, which followed the last write of the fields
	return e.partition, e.offset
}

// Read records that seq was read at partition and offset and returns how many
// times it has been read now, including this one (saturating at 65535). It
// returns 0, recording nothing, when seq was never sent. late marks a read
// of a record that appeared after producing stopped (see Audit).
func (l *Ledger) Read(seq int, partition int32, offset int64, late bool) int {
	e := &l.entries[seq]
	old := e.lock()
	state := State(old >> stateShift)
	if state == Unsent {
		e.unlock(old)
		return 0
	}
	n := old & readMask
	if n < maxReads {
		n++
	}
	nw := old&^readMask | n
	if late {
		nw |= lateBit
	}
	switch state {
	case Acked:
		if e.partition == partition && e.offset == offset {
			nw |= matchedBit
		}
	case InFlight:
		// No answer yet: keep where the first read was, for Ack to judge.
		if old&readPosBit == 0 {
			e.partition, e.offset = partition, offset
			nw |= readPosBit
		}
	}
	e.unlock(nw)
	return int(n)
}

// Reads returns how often seq was read and whether one read was at its acked position.
func (l *Ledger) Reads(seq int) (n int, atAckedPosition bool) {
	m := l.entries[seq].meta.Load()
	return int(m & readMask), m&matchedBit != 0
}

// Late reports whether one of seq's reads was of a record that appeared
// after producing stopped.
func (l *Ledger) Late(seq int) bool { return l.entries[seq].meta.Load()&lateBit != 0 }

// ResetReads forgets every read, for a second read pass.
func (l *Ledger) ResetReads() {
	for i := range l.entries {
		e := &l.entries[i]
		e.unlock(e.lock() &^ (readMask | matchedBit | readPosBit | lateBit))
	}
}

// AckedRange returns, per partition, the lowest and highest offsets at
// which one of the messages 0..n-1 was acknowledged.
func (l *Ledger) AckedRange(n int) map[int32][2]int64 {
	out := map[int32][2]int64{}
	for seq := range n {
		if l.State(seq) != Acked {
			continue
		}
		p, off := l.Position(seq)
		r, ok := out[p]
		if !ok {
			r = [2]int64{off, off}
		}
		out[p] = [2]int64{min(r[0], off), max(r[1], off)}
	}
	return out
}

// Unsend returns seq to unsent, for a message that was never handed over.
func (l *Ledger) Unsend(seq int) { l.setState(seq, Unsent) }
