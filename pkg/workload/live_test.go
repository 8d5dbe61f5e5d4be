package workload

import (
	"errors"
	"sync"
	"testing"
	"time"
)

// A payload carries its send stamp through a round trip, and the stamp
// measures the span to a later time.
func TestPayloadCarriesSendStamp(t *testing.T) {
	sent := time.Now()
	key := Key(3)
	buf := make([]byte, 100)
	Encode(buf, Payload{RunID: 9, Seq: 3, Key: 3, Sent: StampOf(sent)}, key)
	got, err := Decode(buf, key)
	if err != nil {
		t.Fatal(err)
	}
	if d := got.Sent.Since(sent.Add(1500 * time.Microsecond)); d != 1500*time.Microsecond {
		t.Fatalf("Since = %v, want 1.5ms", d)
	}
}

func TestPayloadFillerAndVersion(t *testing.T) {
	buf := make([]byte, HeaderSize+600)
	Encode(buf, Payload{RunID: 1, Seq: 250, Key: 0}, Key(0))
	for i := HeaderSize; i < len(buf); i++ {
		if want := byte(250 + i - HeaderSize); buf[i] != want {
			t.Fatalf("filler byte %d = %d, want %d", i, buf[i], want)
		}
	}
	if buf[2] != PayloadVersion || PayloadVersion != 2 {
		t.Fatalf("version byte %d, PayloadVersion %d; want 2", buf[2], PayloadVersion)
	}
	buf[2] = 1 // a version 1 payload is another layout: not accepted
	if _, err := Decode(buf, Key(0)); err == nil {
		t.Fatal("Decode accepted payload version 1")
	}
}

// The filler is compared byte for byte, however long the value.
func TestDecodeRejectsFillerAnywhere(t *testing.T) {
	key := Key(5)
	buf := make([]byte, 4096)
	Encode(buf, Payload{RunID: 1, Seq: 77, Key: 5}, key)
	for _, i := range []int{HeaderSize, 287, 288, 3000, 4095} {
		bad := append([]byte(nil), buf...)
		bad[i]++
		if _, err := Decode(bad, key); !errors.Is(err, ErrChecksum) {
			t.Errorf("byte %d changed: Decode = %v, want %v", i, err, ErrChecksum)
		}
	}
	if _, err := Decode(buf, key); err != nil {
		t.Fatalf("Decode of the intact value: %v", err)
	}
}

// Stamps wrap at 2^32 microseconds; differences stay right across the wrap.
func TestStampWraps(t *testing.T) {
	base := epoch.Add(time.Duration(1<<32-10) * time.Microsecond) // 10 µs before the wrap
	s := StampOf(base)
	if s != 1<<32-10 {
		t.Fatalf("stamp = %d", s)
	}
	later := base.Add(25 * time.Microsecond)
	if StampOf(later) != 15 {
		t.Fatalf("stamp after the wrap = %d, want 15", StampOf(later))
	}
	if d := s.Since(later); d != 25*time.Microsecond {
		t.Fatalf("Since across the wrap = %v, want 25µs", d)
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
			if n := l.Read(0, tt.readP, tt.readOff); n != 1 {
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
	l.Read(0, 0, 4)
	l.Read(0, 0, 9)
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
	l.Read(0, 3, 11)
	l.Fail(0, -1)
	if p, off := l.Position(0); p != 3 || off != -1 || l.State(0) != Failed {
		t.Fatalf("seq 0: %v at %d/%d, want failed, partition 3 (where it was read)", l.State(0), p, off)
	}
	l.Sent(1)
	l.Read(1, 3, 12)
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
			l.Read(seq, int32(seq%3), int64(seq))
		}
	}()
	wg.Wait()
	for seq := range n {
		if r, at := l.Reads(seq); r != 1 || !at || l.State(seq) != Acked {
			t.Fatalf("seq %d: %v, %d reads, at acked position %v; want acked, 1, true", seq, l.State(seq), r, at)
		}
	}
}

func TestSharedLatencyRecorders(t *testing.T) {
	s := NewSharedLatency()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := s.Recorder()
			defer r.Flush()
			for i := range 1000 { // not a multiple of the buffer: Flush matters
				r.Record(time.Duration(g*1000+i+1) * time.Microsecond)
			}
		}()
	}
	wg.Wait()
	l := s.Latency()
	if l.Count() != 4000 {
		t.Fatalf("Count = %d, want 4000", l.Count())
	}
	if m := l.Max(); m < 3990*time.Microsecond || m > 4010*time.Microsecond {
		t.Fatalf("Max = %v, want about 4ms", m)
	}
}

func TestLatencyMerge(t *testing.T) {
	a, b := NewLatency(), NewLatency()
	a.Record(time.Millisecond)
	b.Record(3 * time.Millisecond)
	b.Record(5 * time.Millisecond)
	a.Merge(b)
	if a.Count() != 3 || a.Max() < 4990*time.Microsecond {
		t.Fatalf("merged: count %d, max %v; want 3, 5ms", a.Count(), a.Max())
	}
}
