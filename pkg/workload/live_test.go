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
