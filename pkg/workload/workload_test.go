package workload

import (
	"errors"
	"sync"
	"testing"
	"time"
	"unsafe"
)

func TestPayloadRoundTrip(t *testing.T) {
	for _, size := range []int{HeaderSize, 100, 4096} {
		p := Payload{RunID: 0xdeadbeefcafef00d, Seq: 123456789, Key: 42}
		key := Key(42)
		buf := make([]byte, size)
		Encode(buf, p, key)
		got, err := Decode(buf, key)
		if err != nil {
			t.Fatalf("size %d: Decode: %v", size, err)
		}
		if got != p {
			t.Fatalf("size %d: got %+v, want %+v", size, got, p)
		}
	}
}

func TestDecodeRejects(t *testing.T) {
	key := Key(7)
	good := make([]byte, 100)
	Encode(good, Payload{RunID: 1, Seq: 7, Key: 7}, key)
	flip := func(i int) []byte {
		b := append([]byte(nil), good...)
		b[i] ^= 0x01
		return b
	}
	tests := []struct {
		name  string
		value []byte
		key   []byte
		want  error
	}{
		{"short", []byte("hello"), key, ErrNotPayload},
		{"foreign", make([]byte, 100), key, ErrNotPayload},
		{"bad version", flip(2), key, ErrNotPayload},
		{"flipped sequence", flip(15), key, ErrChecksum},
		{"flipped filler", flip(99), key, ErrChecksum},
		{"other key", good, Key(8), ErrChecksum},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Decode(tt.value, tt.key); !errors.Is(err, tt.want) {
				t.Fatalf("Decode = %v, want %v", err, tt.want)
			}
		})
	}
}

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

	if n := l.Read(0, 2, 10); n != 1 {
		t.Fatalf("first read count = %d", n)
	}
	if n, at := l.Reads(0); n != 1 || !at {
		t.Fatalf("Reads(0) = %d, %v; want 1, true", n, at)
	}
	if n := l.Read(0, 2, 11); n != 2 {
		t.Fatalf("second read count = %d", n)
	}
	if l.State(0) != Acked {
		t.Fatalf("reads changed the state to %v", l.State(0))
	}
	if p, off := l.Position(0); p != 2 || off != 10 {
		t.Fatalf("Position(0) = %d/%d", p, off)
	}

	l.Read(1, 1, 5) // a failed message that appeared anyway
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
	l.Read(0, 0, 5) // right offset, wrong partition
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
				l.Read(0, 0, 0)
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
		l.Read(0, 0, 0)
	}
	if n, _ := l.Reads(0); n != maxReads {
		t.Fatalf("Reads = %d, want %d", n, maxReads)
	}
	if l.State(0) != Acked {
		t.Fatal("saturating reads spilled into the state")
	}
}

func TestLatencyPercentiles(t *testing.T) {
	l := NewLatency()
	for i := 1; i <= 1000; i++ {
		l.Record(time.Duration(i) * time.Millisecond)
	}
	if l.Count() != 1000 {
		t.Fatalf("Count = %d", l.Count())
	}
	within := func(name string, got, want time.Duration) {
		t.Helper()
		if d := got - want; d < -want/100 || d > want/100 {
			t.Errorf("%s = %v, want %v ±1%%", name, got, want)
		}
	}
	within("p50", l.Percentile(50), 500*time.Millisecond)
	within("p99", l.Percentile(99), 990*time.Millisecond)
	within("max", l.Max(), time.Second)
	l.Record(time.Hour) // clamped, not dropped
	if l.Count() != 1001 {
		t.Fatalf("an out-of-range value was dropped")
	}
}
