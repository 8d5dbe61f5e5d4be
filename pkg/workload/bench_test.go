package workload

// Benchmarks of the per-message hot paths: building and verifying a payload,
// and recording a message's life in the ledger. make bench runs them.

import (
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
