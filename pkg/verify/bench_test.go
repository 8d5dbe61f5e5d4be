package verify

// Benchmarks of the ledger: make bench runs them.

import (
	"runtime"
	"testing"
)

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
		if l.State(seq) != Acked || l.Read(seq, int32(seq%100), int64(seq), false) < 1 {
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
