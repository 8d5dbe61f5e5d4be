package workload

// Benchmarks of the per-message hot paths: building and verifying a payload,
// and recording a message's life in the ledger. make bench runs them.

import (
	"runtime"
	"testing"
	"time"
)

// benchValueBytes is the benchmarked value size, the default profile's.
const benchValueBytes = 100

// BenchmarkPayloadEncode builds one 100-byte payload per op.
func BenchmarkPayloadEncode(b *testing.B) {
	keys := Keys(100)
	buf := make([]byte, benchValueBytes)
	sent := StampOf(time.Now())
	b.SetBytes(benchValueBytes)
	for i := 0; b.Loop(); i++ {
		k := uint32(i % len(keys))
		Encode(buf, Payload{RunID: 1, Seq: uint64(i), Key: k, Sent: sent}, keys[k])
	}
}

// BenchmarkPayloadVerify decodes and verifies one 100-byte payload per op.
func BenchmarkPayloadVerify(b *testing.B) {
	keys := Keys(100)
	values := make([][]byte, len(keys))
	for k := range values {
		values[k] = make([]byte, benchValueBytes)
		Encode(values[k], Payload{RunID: 1, Seq: uint64(k), Key: uint32(k)}, keys[k])
	}
	b.SetBytes(benchValueBytes)
	for i := 0; b.Loop(); i++ {
		k := i % len(keys)
		if _, err := Decode(values[k], keys[k]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLedgerRecord records one message's produce side per op: handed
// over, then acknowledged. It also reports the ledger's measured heap bytes
// per message (ledger-B/msg), for a ledger of 2^20 messages.
func BenchmarkLedgerRecord(b *testing.B) {
	const n = 1 << 20
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	l := NewLedger(n)
	runtime.ReadMemStats(&after)
	for i := 0; b.Loop(); i++ {
		seq := i % n
		l.Sent(seq)
		l.Ack(seq, int32(seq%100), int64(seq))
	}
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/n, "ledger-B/msg")
}

// BenchmarkLedgerCheck records one read of an acknowledged message per op
// and then accounts for it as the consume scenario does.
func BenchmarkLedgerCheck(b *testing.B) {
	const n = 1 << 20
	l := NewLedger(n)
	for seq := range n {
		l.Ack(seq, int32(seq%100), int64(seq))
	}
	var bad int
	for i := 0; b.Loop(); i++ {
		seq := i % n
		if l.State(seq) != Acked || l.Read(seq, int32(seq%100), int64(seq)) < 1 {
			bad++
		}
		if n, at := l.Reads(seq); n < 1 || !at {
			bad++
		}
		if p, _ := l.Position(seq); p != int32(seq%100) {
			bad++
		}
	}
	if bad > 0 {
		b.Fatalf("%d checks failed", bad)
	}
}
