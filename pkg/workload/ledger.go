package workload

import (
	"sync/atomic"
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
// bits 0-15 read count (saturating), bit 16 read at the acked position, bits 24-31 state.
const (
	readMask   = 0xFFFF
	matchedBit = 1 << 16
	stateShift = 24
	maxReads   = readMask
)

// entry is 16 bytes: the whole per-message cost of the ledger.
type entry struct {
	offset    int64
	partition int32
	meta      atomic.Uint32
}

// Ledger records, per message sequence number, what the producer was told and
// how often the message was read back. Produce-side methods are called from
// one goroutine; Read may be called from many.
type Ledger struct {
	entries []entry
}

// NewLedger returns a ledger for n messages, sequence numbers 0..n-1.
func NewLedger(n int) *Ledger { return &Ledger{entries: make([]entry, n)} }

// Len is the number of messages the ledger holds.
func (l *Ledger) Len() int { return len(l.entries) }

// BytesPerMessage is the ledger's memory cost per message.
func BytesPerMessage() int { return 16 }

func (l *Ledger) setState(seq int, s State) {
	e := &l.entries[seq]
	for {
		old := e.meta.Load()
		if e.meta.CompareAndSwap(old, old&^(0xFF<<stateShift)|uint32(s)<<stateShift) {
			return
		}
	}
}

// Sent marks seq as handed to the producer.
func (l *Ledger) Sent(seq int) { l.setState(seq, InFlight) }

// Ack records that seq was acknowledged at partition and offset.
func (l *Ledger) Ack(seq int, partition int32, offset int64) {
	e := &l.entries[seq]
	e.partition, e.offset = partition, offset
	l.setState(seq, Acked)
}

// Fail records that producing seq failed; partition is where it was headed (-1 if unknown).
func (l *Ledger) Fail(seq int, partition int32) {
	e := &l.entries[seq]
	e.partition, e.offset = partition, -1
	l.setState(seq, Failed)
}

// SentNoAck records that seq was sent with acks=0 to partition.
func (l *Ledger) SentNoAck(seq int, partition int32) {
	e := &l.entries[seq]
	e.partition, e.offset = partition, -1
	l.setState(seq, SentNoAck)
}

// State returns seq's produce state.
func (l *Ledger) State(seq int) State { return State(l.entries[seq].meta.Load() >> stateShift) }

// Position returns where seq was acknowledged (or headed).
func (l *Ledger) Position(seq int) (partition int32, offset int64) {
	e := &l.entries[seq]
	return e.partition, e.offset
}

// Read records that seq was read at partition and offset and returns how many
// times it has been read now, including this one (saturating at 65535).
func (l *Ledger) Read(seq int, partition int32, offset int64) int {
	e := &l.entries[seq]
	for {
		old := e.meta.Load()
		n := old & readMask
		if n < maxReads {
			n++
		}
		nw := old&^readMask | n
		if State(old>>stateShift) == Acked && e.partition == partition && e.offset == offset {
			nw |= matchedBit
		}
		if e.meta.CompareAndSwap(old, nw) {
			return int(n)
		}
	}
}

// Reads returns how often seq was read and whether one read was at its acked position.
func (l *Ledger) Reads(seq int) (n int, atAckedPosition bool) {
	m := l.entries[seq].meta.Load()
	return int(m & readMask), m&matchedBit != 0
}

// ResetReads forgets every read, for a second consume pass.
func (l *Ledger) ResetReads() {
	for i := range l.entries {
		e := &l.entries[i]
		for {
			old := e.meta.Load()
			if e.meta.CompareAndSwap(old, old&^(readMask|matchedBit)) {
				break
			}
		}
	}
}

// Unsend returns seq to unsent, for a message that was never handed over.
func (l *Ledger) Unsend(seq int) { l.setState(seq, Unsent) }
