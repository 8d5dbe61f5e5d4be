package scenarios

import (
	"time"

	"github.com/chronik-e2e/chronik-e2e/pkg/report"
	"github.com/chronik-e2e/chronik-e2e/pkg/workload"
)

// Kinds of BadRecord.
const (
	RecordLost        = "lost"
	RecordDuplicated  = "duplicated"
	RecordMisplaced   = "misplaced"
	RecordUnackedRead = "unacked_read"
)

// BadRecord is one message the consume scenario found lost, duplicated,
// misplaced or read back unacknowledged: a row of the artifacts' ledger CSV.
type BadRecord struct {
	Kind      string
	Partition int32 // where it was acknowledged (or headed; -1 if unknown)
	Offset    int64 // where it was acknowledged; -1 when it never was
	Key       string
	Seq       int
	Reads     int // how often it was read back
}

// RecordSink receives every bad record of a run as the consume scenario
// walks its ledger, one at a time: nothing is held in memory, whatever the
// message count.
type RecordSink interface {
	Record(BadRecord)
}

// badRecord passes one bad record to the run's sink, if it has one.
func (e *Env) badRecord(kind string, seq int, partition int32, offset int64, reads int) {
	if e.Records == nil {
		return
	}
	e.Records.Record(BadRecord{Kind: kind, Partition: partition, Offset: offset,
		Key: string(workload.Key(uint32(seq % e.Profile.Workload.Keys))), Seq: seq, Reads: reads})
}

// latencyBuckets converts a latency histogram into the report's chart buckets.
func latencyBuckets(l *workload.Latency) []report.Bucket {
	var out []report.Bucket
	for _, b := range l.Buckets() {
		out = append(out, report.Bucket{LeMs: float64(b.Le) / float64(time.Millisecond), Count: b.Count})
	}
	return out
}
