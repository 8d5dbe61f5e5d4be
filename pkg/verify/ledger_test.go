package verify

import (
	"sync"
	"testing"
	"unsafe"
)

func TestLedgerIs16BytesPerMessage(t *testing.T) {
	if got := unsafe.Sizeof(entry{}); got != 16 || BytesPerMessage() != 16 {
		t.Fatalf("entry is %d bytes, BytesPerMessage says %d; the ledger promises 16", got, BytesPerMessage())
	}
}

func TestLedgerAccounting(t *testing.T) {
	l := NewLedger(4)
	l.Sent(0)
	l.Ack(0, 2, 10)
	l.Sent(1)
	l.Fail(1, 1)
	l.Sent(2)
	if s := l.State(2); s != InFlight {
		t.Fatalf("state of 2 = %v, want in flight", s)
	}
	if s := l.State(3); s != Unsent {
		t.Fatalf("state of 3 = %v, want unsent", s)
	}

	if n := l.Read(0, 2, 10, false); n != 1 {
		t.Fatalf("first read count = %d", n)
	}
	if n, at := l.Reads(0); n != 1 || !at {
		t.Fatalf("Reads(0) = %d, %v; want 1, true", n, at)
	}
	if n := l.Read(0, 2, 11, false); n != 2 {
		t.Fatalf("second read count = %d", n)
	}
	if l.State(0) != Acked {
		t.Fatalf("reads changed the state to %v", l.State(0))
	}
	if p, off := l.Position(0); p != 2 || off != 10 {
		t.Fatalf("Position(0) = %d/%d", p, off)
	}

	l.Read(1, 1, 5, false) // a failed message that appeared anyway
	if n, at := l.Reads(1); n != 1 || at {
		t.Fatalf("Reads(1) = %d, %v; want 1, false", n, at)
	}

	l.ResetReads()
	if n, _ := l.Reads(0); n != 0 {
		t.Fatalf("after ResetReads: %d reads", n)
	}
	if l.State(0) != Acked {
		t.Fatal("ResetReads changed the state")
	}
}

func TestLedgerMisplacedRead(t *testing.T) {
	l := NewLedger(1)
	l.Ack(0, 1, 5)
	l.Read(0, 0, 5, false) // right offset, wrong partition
	if n, at := l.Reads(0); n != 1 || at {
		t.Fatalf("Reads = %d, %v; want 1, false", n, at)
	}
}

func TestLedgerConcurrentReads(t *testing.T) {
	l := NewLedger(1)
	l.Ack(0, 0, 0)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 1000 {
				l.Read(0, 0, 0, false)
			}
		}()
	}
	wg.Wait()
	if n, at := l.Reads(0); n != 8000 || !at {
		t.Fatalf("Reads = %d, %v; want 8000, true", n, at)
	}
}

func TestLedgerReadsSaturate(t *testing.T) {
	l := NewLedger(1)
	l.Ack(0, 0, 0)
	for range maxReads + 10 {
		l.Read(0, 0, 0, false)
	}
	if n, _ := l.Reads(0); n != maxReads {
		t.Fatalf("Reads = %d, want %d", n, maxReads)
	}
	if l.State(0) != Acked {
		t.Fatal("saturating reads spilled into the state")
	}
}

// Consuming while producing: a read that arrives before the answer is judged
// when the answer comes.
func TestLedgerReadBeforeAck(t *testing.T) {
	tests := []struct {
		name      string
		readP     int32
		readOff   int64
		ackP      int32
		ackOff    int64
		atAcked   bool
		wantReads int
	}{
		{"same position", 2, 7, 2, 7, true, 1},
		{"other offset", 2, 8, 2, 7, false, 1},
		{"other partition", 1, 7, 2, 7, false, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := NewLedger(1)
			l.Sent(0)
			if n := l.Read(0, tt.readP, tt.readOff, false); n != 1 {
				t.Fatalf("Read = %d", n)
			}
			l.Ack(0, tt.ackP, tt.ackOff)
			n, at := l.Reads(0)
			if n != tt.wantReads || at != tt.atAcked {
				t.Fatalf("Reads = %d, %v; want %d, %v", n, at, tt.wantReads, tt.atAcked)
			}
			if p, off := l.Position(0); p != tt.ackP || off != tt.ackOff || l.State(0) != Acked {
				t.Fatalf("after Ack: %v at %d/%d, want acked at %d/%d", l.State(0), p, off, tt.ackP, tt.ackOff)
			}
		})
	}
}

// A duplicate read before the answer is judged by the first read's position.
func TestLedgerTwoReadsBeforeAck(t *testing.T) {
	l := NewLedger(1)
	l.Sent(0)
	l.Read(0, 0, 4, false)
	l.Read(0, 0, 9, false)
	l.Ack(0, 0, 4)
	if n, at := l.Reads(0); n != 2 || !at {
		t.Fatalf("Reads = %d, %v; want 2, true", n, at)
	}
}

// A message read before its produce failed keeps where it was read when the
// failure does not say where it was headed.
func TestLedgerReadBeforeFail(t *testing.T) {
	l := NewLedger(2)
	l.Sent(0)
	l.Read(0, 3, 11, false)
	l.Fail(0, -1)
	if p, off := l.Position(0); p != 3 || off != -1 || l.State(0) != Failed {
		t.Fatalf("seq 0: %v at %d/%d, want failed, partition 3 (where it was read)", l.State(0), p, off)
	}
	l.Sent(1)
	l.Read(1, 3, 12, false)
	l.Fail(1, 2)
	if p, _ := l.Position(1); p != 2 {
		t.Fatalf("seq 1: partition %d, want 2 (where it was headed)", p)
	}
	if n, at := l.Reads(1); n != 1 || at {
		t.Fatalf("seq 1: Reads = %d, %v; want 1, false", n, at)
	}
}

// Reads and answers of the same messages from many goroutines at once
// (run with -race): every read is counted and judged at its position.
func TestLedgerConcurrentReadAndAck(t *testing.T) {
	const n = 2000
	l := NewLedger(n)
	for seq := range n {
		l.Sent(seq)
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for seq := range n {
			l.Ack(seq, int32(seq%3), int64(seq))
		}
	}()
	go func() {
		defer wg.Done()
		for seq := n - 1; seq >= 0; seq-- {
			l.Read(seq, int32(seq%3), int64(seq), false)
		}
	}()
	wg.Wait()
	for seq := range n {
		if r, at := l.Reads(seq); r != 1 || !at || l.State(seq) != Acked {
			t.Fatalf("seq %d: %v, %d reads, at acked position %v; want acked, 1, true", seq, l.State(seq), r, at)
		}
	}
}
