package verify

import (
	"strings"
	"testing"

	"github.com/IBM/sarama"
)

// txnWorld is two transactions of 3 records each, acknowledged at
// partition 0 offsets 0-2 (a) and partition 1 offsets 0-2 (b), of which a
// and b ended as the test says.
func txnWorld(a, b Outcome) (*Ledger, *Txns) {
	l := NewLedger(6)
	ts := NewTxns()
	for i, o := range []Outcome{a, b} {
		t := ts.Begin("p", i, 3)
		for j := range 3 {
			l.Sent(t.First + j)
			l.Ack(t.First+j, int32(i), int64(j))
		}
		ts.End(t, o, "")
	}
	return l, ts
}

// coverAll is a coverage of partitions 0 and 1 read to offset 4.
func coverAll() map[int32]*Coverage {
	return map[int32]*Coverage{
		0: {Partition: 0, Start: 0, End: 4, Next: 4, Done: true},
		1: {Partition: 1, Start: 0, End: 4, Next: 4, Done: true},
	}
}

// TestTallyTxns: what one read showed of two transactions, judged by how
// they ended, at each isolation level.
func TestTallyTxns(t *testing.T) {
	tests := []struct {
		name      string
		a, b      Outcome
		committed bool
		reads     map[int]int // seq -> times read (at its acked position)
		cov       func(map[int32]*Coverage)
		want      map[string]int64
	}{
		{"committed read whole, aborted hidden", TxnCommitted, TxnAborted, true, map[int]int{0: 1, 1: 1, 2: 1}, nil, map[string]int64{}},
		{"committed missing one: lost and partial", TxnCommitted, TxnAborted, true, map[int]int{0: 1, 2: 1}, nil,
			map[string]int64{AnomalyLost: 1, AnomalyPartial: 1}},
		{"committed read twice", TxnCommitted, TxnAborted, true, map[int]int{0: 2, 1: 1, 2: 1}, nil, map[string]int64{AnomalyDuplicate: 1}},
		{"aborted read by read_committed", TxnCommitted, TxnAborted, true, map[int]int{0: 1, 1: 1, 2: 1, 3: 1, 4: 1, 5: 1}, nil,
			map[string]int64{AnomalyAbortedRead: 3}},
		{"aborted partly read: aborted read and partial", TxnCommitted, TxnAborted, true, map[int]int{0: 1, 1: 1, 2: 1, 4: 1}, nil,
			map[string]int64{AnomalyAbortedRead: 1, AnomalyPartial: 1}},
		{"unknown outcome whole or nothing", TxnUnknown, TxnUnknown, true, map[int]int{0: 1, 1: 1, 2: 1}, nil, map[string]int64{}},
		{"unknown outcome in part", TxnUnknown, TxnCommitted, true, map[int]int{0: 1, 3: 1, 4: 1, 5: 1}, nil, map[string]int64{AnomalyPartial: 1}},
		{"read_uncommitted sees all", TxnCommitted, TxnAborted, false, map[int]int{0: 1, 1: 1, 2: 1, 3: 1, 4: 1, 5: 1}, nil, map[string]int64{}},
		{"read_uncommitted without aborted: reported", TxnCommitted, TxnAborted, false, map[int]int{0: 1, 1: 1, 2: 1}, nil,
			map[string]int64{AnomalyAbortedHidden: 3}},
		{"read_uncommitted partial is no anomaly", TxnCommitted, TxnAborted, false, map[int]int{0: 1, 1: 1, 2: 1, 3: 1}, nil,
			map[string]int64{AnomalyAbortedHidden: 2}},
		{"past a stuck LSO: lost, not partial", TxnCommitted, TxnCommitted, true, map[int]int{0: 1, 1: 1, 2: 1, 3: 1}, func(c map[int32]*Coverage) {
			c[1].Next, c[1].Failed = 1, true
			c[1].Skipped = []Skip{{From: 1, To: 4, Cause: CauseAboveLSO}}
		}, map[string]int64{AnomalyLost: 2}},
		{"a read stopped by a deadline: unread", TxnCommitted, TxnCommitted, true, map[int]int{0: 1, 1: 1, 2: 1, 3: 1}, func(c map[int32]*Coverage) {
			c[1].Next, c[1].Done, c[1].Stopped = 1, false, "the deadline passed"
		}, map[string]int64{AnomalyUnread: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, ts := txnWorld(tt.a, tt.b)
			for seq, n := range tt.reads {
				p, off := l.Position(seq)
				for range n {
					l.Read(seq, p, off, false)
				}
			}
			cov := coverAll()
			if tt.cov != nil {
				tt.cov(cov)
			}
			a := NewAnomalies()
			TallyTxns(l, ts, tt.committed, cov, a)
			for _, k := range anomalyOrder {
				if got := a.Count(k); got != tt.want[k] {
					t.Errorf("%s = %d, want %d (%v)", k, got, tt.want[k], a.Get(k).List)
				}
			}
			failing := false
			for k := range tt.want {
				failing = failing || AnomalyFails(k)
			}
			if a.Failed() != failing {
				t.Errorf("Failed() = %v, want %v", a.Failed(), failing)
			}
		})
	}
}

// TestTallyTxnsNames: findings name the anomaly's partition, offset and transaction.
func TestTallyTxnsNames(t *testing.T) {
	l, ts := txnWorld(TxnCommitted, TxnAborted)
	l.Read(3, 1, 0, false)
	a := NewAnomalies()
	TallyTxns(l, ts, true, coverAll(), a)
	lost := a.Get(AnomalyLost).List
	if len(lost) != 3 || !strings.Contains(lost[0], "read_committed: partition 0 offset 0: sequence 0 of committed transaction p#0 never read: in range but missing") {
		t.Errorf("lost = %q", lost)
	}
	if got := a.Get(AnomalyAbortedRead).List; len(got) != 1 || got[0] != "read_committed: sequence 3 of aborted transaction p#1 read at partition 1 offset 0" {
		t.Errorf("aborted_read = %q", got)
	}
}

// TestStuckLSONamesHolder: a stuck last stable offset names its partition,
// offsets and the run's transaction lying past it.
func TestStuckLSONamesHolder(t *testing.T) {
	l, ts := txnWorld(TxnCommitted, TxnCommitted)
	a := NewAnomalies()
	StuckLSO([]*IsolatedPartition{{Partition: 1, End: 3, LSO: 1, Stuck: true}, {Partition: 0, End: 3, LSO: 3}}, 0, l, ts, a)
	got := a.Get(AnomalyStuckLSO).List
	if len(got) != 1 || !strings.Contains(got[0], "partition 1: the last stable offset stayed at 1 below the high watermark 3") ||
		!strings.Contains(got[0], "offsets 1..2; the first of the run's records past it is at offset 1, of transaction p#1 (committed)") {
		t.Errorf("stuck_lso = %q", got)
	}
}

// TestTxnsOf: every sequence belongs to the transaction that holds it.
func TestTxnsOf(t *testing.T) {
	ts := NewTxns()
	a, b := ts.Begin("x", 0, 2), ts.Begin("y", 0, 3)
	for seq, want := range []*Txn{a, a, b, b, b, nil} {
		if got := ts.Of(seq); got != want {
			t.Errorf("Of(%d) = %v, want %v", seq, got, want)
		}
	}
	if ts.Sequences() != 5 {
		t.Errorf("Sequences() = %d, want 5", ts.Sequences())
	}
}

// TestVisibleTable: the table is the rule.
func TestVisibleTable(t *testing.T) {
	for _, g := range TxnTable() {
		if g.Visible != Visible(g.Outcome, g.Reader == "read_committed") || g.Why == "" {
			t.Errorf("row %+v does not match Visible", g)
		}
	}
	if Visible(TxnAborted, true) != MustNotSee || Visible(TxnCommitted, false) != MustSee || Visible(TxnUnknown, true) != AllOrNone {
		t.Error("Visible does not say what the guarantees say")
	}
}

// TestAbortFilter: read_committed drops a producer's transactional batches
// from the first offset of its aborted transaction to its abort marker.
func TestAbortFilter(t *testing.T) {
	marker := func(first int64, pid int64, abort bool) *sarama.Records {
		typ := byte(1)
		if abort {
			typ = 0
		}
		return &sarama.Records{RecordBatch: &sarama.RecordBatch{FirstOffset: first, ProducerID: pid, Control: true, IsTransactional: true,
			Records: []*sarama.Record{{Key: []byte{0, 0, 0, typ}}}}}
	}
	data := func(first int64, pid int64, seq int) *sarama.Records {
		r := record(1, seq, 4, 0, first)
		return &sarama.Records{RecordBatch: &sarama.RecordBatch{FirstOffset: first, ProducerID: pid, IsTransactional: true,
			Records: []*sarama.Record{{Key: r.Key, Value: r.Value}}}}
	}
	// Producer 7: seq 0 committed; producer 8: seq 1 aborted; interleaved.
	set := []*sarama.Records{data(0, 7, 0), data(1, 8, 1), marker(2, 7, false), marker(3, 8, true), data(4, 8, 2), marker(5, 8, false)}
	l := NewLedger(3)
	for seq, off := range []int64{0, 1, 4} {
		l.Sent(seq)
		l.Ack(seq, 0, off)
	}
	ip := &IsolatedPartition{End: 6}
	f := &abortFilter{aborted: map[int64]bool{}}
	f.add([]*sarama.AbortedTransaction{{ProducerID: 8, FirstOffset: 1}})
	o := IsolatedOptions{Committed: true}
	check := NewUnorderedChecker(Expect{RunID: 1, N: 3, Keys: [][]byte{[]byte("key-0"), []byte("key-1"), []byte("key-2"), []byte("key-3")}}, l, NewFindings())
	for _, recs := range set {
		if !readBatch(o, ip, f, check, recs) {
			t.Fatal("a complete batch was called incomplete")
		}
	}
	if ip.Next != 6 || ip.Records != 2 || ip.Filtered != 1 || ip.Markers != 3 {
		t.Errorf("next %d, records %d, filtered %d, markers %d; want 6, 2, 1, 3", ip.Next, ip.Records, ip.Filtered, ip.Markers)
	}
	for seq, want := range []int{1, 0, 1} {
		if n, _ := l.Reads(seq); n != want {
			t.Errorf("sequence %d read %d times, want %d", seq, n, want)
		}
	}
}

// TestInconsistent: offsets read by both reads with different records are
// named; offsets only one read returned are not.
func TestInconsistent(t *testing.T) {
	exp := Expect{RunID: 1, N: 3, Keys: [][]byte{[]byte("key-0")}}
	ts := NewTxns()
	ts.End(ts.Begin("p", 0, 3), TxnCommitted, "")
	a := NewOffsetIndex([]int32{0}, []int64{0}, []int64{4})
	b := NewOffsetIndex([]int32{0}, []int64{0}, []int64{4})
	put := func(x *OffsetIndex, off int64, seq int) {
		r := record(1, seq, 1, 0, off)
		x.put(0, off, r.Key, r.Value, exp)
	}
	put(a, 0, 0)
	put(b, 0, 0)
	put(a, 1, 1)
	put(b, 1, 2)
	put(b, 2, 2) // only in b
	got := Inconsistent(a, b, "read_committed", "read_uncommitted", ts)
	if got.Count != 1 || got.List[0] != "partition 0 offset 1: read_committed read sequence 1 (transaction p#0, committed), read_uncommitted read sequence 2 (transaction p#0, committed)" {
		t.Errorf("inconsistent = %d %q", got.Count, got.List)
	}
}
