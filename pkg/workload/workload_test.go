package workload

import (
	"errors"
	"testing"
	"time"
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
