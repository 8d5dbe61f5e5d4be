package scenarios

import (
	"github.com/chronik-e2e/chronik-e2e/pkg/verify"
	"github.com/chronik-e2e/chronik-e2e/pkg/workload"
)

// Kinds of BadRecord.
const (
	RecordLost        = verify.RecordLost
	RecordDuplicated  = verify.RecordDuplicated
	RecordMisplaced   = verify.RecordMisplaced
	RecordUnackedRead = verify.RecordUnackedRead
)

// BadRecord is one message the consume scenario found lost, duplicated,
// misplaced or read back unacknowledged: a row of the artifacts' ledger CSV.
type BadRecord struct {
	Kind      string
	Partition int32 // where it was acknowledged (or headed; -1 if unknown)
	Offset    int64 // where it was acknowledged; -1 when it never was
	Key       string
	Seq       int
	Reads     int    // how often it was read back
	Cause     string // why it was lost
}

// RecordSink receives every bad record of a run as the consume scenario
// walks its ledger, one at a time: nothing is held in memory, whatever the
// message count.
type RecordSink interface {
	Record(BadRecord)
}

// badRecord passes one bad record to the run's sink, if it has one.
func (e *Env) badRecord(r verify.BadRecord) {
	if e.Records == nil {
		return
	}
	key := r.Seq % e.Profile.Workload.Keys
	if e.Shard != nil {
		key = e.Shard.KeyOf(r.Seq)
	}
	e.Records.Record(BadRecord{Kind: r.Kind, Partition: r.Partition, Offset: r.Offset,
		Key: string(workload.Key(uint32(key))), Seq: r.Seq, Reads: r.Reads, Cause: r.Cause})
}
