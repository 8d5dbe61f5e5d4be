package verify

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/chronik-e2e/chronik-e2e/pkg/workload"
)

// record builds the record of message seq of run, as the producer writes it.
func record(run uint64, seq int, keys int, partition int32, offset int64) Record {
	k := uint32(seq % keys)
	key := workload.Key(k)
	v := make([]byte, workload.HeaderSize+8)
	workload.Encode(v, workload.Payload{RunID: run, Seq: uint64(seq), Key: k}, key)
	return Record{Partition: partition, Offset: offset, Key: key, Value: v}
}

// Every kind of answer a producer can get, in order, classified.
func TestAnswers(t *testing.T) {
	type answer struct {
		partition int32
		offset    int64
		err       error
	}
	tests := []struct {
		name       string
		acks       string
		answers    []answer
		wantStates []State
		wantReason []string
	}{
		{"acknowledged", "all", []answer{{0, 5, nil}, {1, 0, nil}}, []State{Acked, Acked}, []string{"", ""}},
		{"named error", "all", []answer{{0, 0, sarama.ErrRequestTimedOut}}, []State{Failed},
			[]string{"REQUEST_TIMED_OUT (commit timeout: the leader did not hear from enough replicas for acks=all in time)"}},
		{"not enough replicas", "1", []answer{{0, 0, sarama.ErrNotEnoughReplicas}}, []State{Failed},
			[]string{"NOT_ENOUGH_REPLICAS (fewer in-sync replicas than min.insync.replicas)"}},
		{"network error keeps no address", "all", []answer{{0, 0, errors.New("dial tcp 127.0.0.1:9092: connection refused")}}, []State{Failed},
			[]string{"dial (network)"}},
		// sarama numbers a batch's later messages from the base offset -1:
		// -1, 0, 1 on partition 2 are one failed batch; 0 on partition 1 and
		// 2 on partition 2 (not the run's next number) are acknowledged.
		{"offset -1 batch", "all", []answer{{2, -1, nil}, {2, 0, nil}, {1, 0, nil}, {2, 1, nil}, {2, 7, nil}},
			[]State{Failed, Failed, Acked, Failed, Acked}, []string{OffsetMinusOne, OffsetMinusOne, "", OffsetMinusOne, ""}},
		{"acks=0 acknowledges nothing", "0", []answer{{0, -1, nil}, {1, 3, nil}}, []State{SentNoAck, SentNoAck}, []string{"", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := NewLedger(len(tt.answers))
			a := NewAnswers(l, tt.acks)
			for seq, an := range tt.answers {
				l.Sent(seq)
				var reason string
				if an.err != nil {
					reason = a.Failure(seq, an.partition, an.err)
				} else {
					_, reason = a.Success(seq, an.partition, an.offset)
				}
				if reason != tt.wantReason[seq] {
					t.Errorf("answer %d: reason %q, want %q", seq, reason, tt.wantReason[seq])
				}
				if got := l.State(seq); got != tt.wantStates[seq] {
					t.Errorf("answer %d: state %v, want %v", seq, got, tt.wantStates[seq])
				}
			}
		})
	}
}

func TestFailUnanswered(t *testing.T) {
	l := NewLedger(4)
	l.Sent(0)
	l.Ack(0, 0, 0)
	l.Sent(1)
	l.Sent(2)
	if n := FailUnanswered(l, 4); n != 2 || l.State(1) != Failed || l.State(2) != Failed || l.State(3) != Unsent {
		t.Fatalf("FailUnanswered = %d; states %v %v %v", n, l.State(1), l.State(2), l.State(3))
	}
}

// Each bad record is named for what is wrong with it.
func TestChecker(t *testing.T) {
	const run, n, keys = 0xabc, 10, 3
	exp := Expect{RunID: run, N: n, Keys: workload.Keys(keys)}
	wrongKey := Record{Partition: 0, Offset: 9, Key: workload.Key(2), Value: make([]byte, workload.HeaderSize)}
	workload.Encode(wrongKey.Value, workload.Payload{RunID: run, Seq: 4, Key: 2}, wrongKey.Key)
	corrupt := record(run, 5, keys, 0, 9)
	corrupt.Value[workload.HeaderSize+1] ^= 1
	tests := []struct {
		name           string
		rec            Record
		late           bool
		wantUnexpected string
	}{
		{"not a payload", Record{Partition: 0, Offset: 9, Value: []byte("hello")}, false, "partition 0 offset 9: not a chronik-e2e payload (5 bytes)"},
		{"corrupt", corrupt, false, "partition 0 offset 9: checksum mismatch"},
		{"other run", record(0xdef, 1, keys, 0, 9), false, "payload of another run (run id 0000000000000def)"},
		{"beyond the run", record(run, n, keys, 0, 9), false, "sequence 10 beyond the 10 messages of this run"},
		{"wrong key", wrongKey, false, `sequence 4 carries key "key-2", want key-1`},
		{"never sent", record(run, 7, keys, 0, 9), false, "sequence 7 was never sent"},
		{"late", record(0xdef, 1, keys, 0, 9), true, LatePrefix + "partition 0 offset 9: payload of another run"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := NewLedger(n)
			for seq := range 7 {
				l.Ack(seq, 0, int64(seq))
			}
			f := NewFindings()
			NewChecker(exp, l, f).Check(tt.rec, time.Time{}, tt.late)
			if f.Unexpected.Count != 1 || !strings.Contains(f.Unexpected.List[0], tt.wantUnexpected) {
				t.Fatalf("unexpected = %d %q, want one containing %q", f.Unexpected.Count, f.Unexpected.List, tt.wantUnexpected)
			}
		})
	}
}

// A key's sequences read out of order are reordered; a second read is a
// duplicate for the tally, not a reordering.
func TestCheckerOrder(t *testing.T) {
	const run, keys = 1, 2
	exp := Expect{RunID: run, N: 10, Keys: workload.Keys(keys)}
	l := NewLedger(10)
	for seq := range 10 {
		l.Ack(seq, 0, int64(seq))
	}
	f := NewFindings()
	c := NewChecker(exp, l, f)
	for _, seq := range []int{0, 1, 4, 2, 3, 2} {
		c.Check(record(run, seq, keys, 0, int64(seq)), time.Time{}, false)
	}
	if f.Reordered.Count != 1 || !strings.Contains(f.Reordered.List[0], "sequence 2 (key-0) read after sequence 4") {
		t.Fatalf("reordered = %d %q", f.Reordered.Count, f.Reordered.List)
	}
	if n, _ := l.Reads(2); n != 2 {
		t.Fatalf("sequence 2 read %d times, want 2", n)
	}
	u := NewFindings()
	uc := NewUnorderedChecker(exp, l, u)
	uc.Check(record(run, 4, keys, 0, 4), time.Time{}, false)
	uc.Check(record(run, 2, keys, 0, 2), time.Time{}, false)
	if u.Reordered.Count != 0 {
		t.Fatalf("the unordered checker found %d reordered", u.Reordered.Count)
	}
}

// Every lost message gets a cause from what the read of its partition covered.
func TestTallyLossCauses(t *testing.T) {
	// 12 messages on partition 0 at offsets 0..11, all acknowledged.
	l := NewLedger(12)
	for seq := range 12 {
		l.Ack(seq, 0, int64(seq))
	}
	read := func(offsets ...int64) {
		for _, o := range offsets {
			l.Read(int(o), 0, o, false)
		}
	}
	read(3, 4, 6, 8)
	cov := &Coverage{Partition: 0, Start: 2, End: 9, LogStart: 2, Next: 9, Done: true,
		Skipped: []Skip{{From: 7, To: 8, Cause: CauseUnreadable, Detail: "CORRUPT_MESSAGE"}},
		Beyond:  &Probe{From: 9, To: 11, Found: 3, FetchHighWatermark: 12}}
	tl := TallyLedger(l, TallyOptions{N: 12, Keys: 1, Coverage: map[int32]*Coverage{0: cov}})
	got := map[string]string{}
	for _, ls := range tl.Losses {
		got[ls.Cause] = ls.String()
	}
	want := map[string]string{
		CauseBelowLogStart:      "partition 0: 2 below log start (offsets 0-1): the log starts at 2: deleted or truncated",
		CauseGap:                "partition 0: 2 in range but missing (offsets 2-5)",
		CauseUnreadable:         "partition 0: 1 unreadable (offset 7): CORRUPT_MESSAGE",
		CauseAboveHighWatermark: "partition 0: 3 above the high watermark (offsets 9-11): the high watermark is 9: the broker acknowledged offsets it does not expose; fetching offsets 9..11 past it returned 3 of this run's records (the records are stored; the high watermark is wrong); the fetch answer's high watermark was 12",
	}
	for cause, w := range want {
		if !strings.HasPrefix(got[cause], w) {
			t.Errorf("cause %s: %q, want it to start %q", cause, got[cause], w)
		}
	}
	if tl.Lost.Count != 8 || len(tl.Losses) != 4 {
		t.Errorf("lost %d in %d groups, want 8 in 4", tl.Lost.Count, len(tl.Losses))
	}
	if bc := tl.LostByCause(); bc[CauseGap] != 2 || bc[CauseAboveHighWatermark] != 3 {
		t.Errorf("LostByCause = %v", bc)
	}
	// The gap names the offsets read around it.
	if !strings.Contains(got[CauseGap], "read 6 after it") {
		t.Errorf("gap %q does not name the offset read after it", got[CauseGap])
	}
}

// A read that stopped (a deadline, no answers) leaves messages unread, not
// lost; one stopped by fetch errors makes them lost, unreadable.
func TestTallyUnfinishedRead(t *testing.T) {
	l := NewLedger(4)
	for seq := range 4 {
		l.Ack(seq, 0, int64(seq))
	}
	l.Read(0, 0, 0, false)
	cov := &Coverage{Partition: 0, End: 4, Next: 1, Stopped: "no answer to its fetches"}
	tl := TallyLedger(l, TallyOptions{N: 4, Keys: 1, Coverage: map[int32]*Coverage{0: cov}})
	if tl.Unread != 3 || tl.Lost.Count != 0 {
		t.Fatalf("unread %d, lost %d; want 3, 0", tl.Unread, tl.Lost.Count)
	}
	cov.Failed, cov.Stopped = true, "no answer to its fetches (fetch errors: [2 × NOT_LEADER_FOR_PARTITION])"
	tl = TallyLedger(l, TallyOptions{N: 4, Keys: 1, Coverage: map[int32]*Coverage{0: cov}})
	if tl.Unread != 0 || tl.Lost.Count != 3 || tl.Losses[0].Cause != CauseUnreadable {
		t.Fatalf("unread %d, lost %d (%v); want 0, 3 unreadable", tl.Unread, tl.Lost.Count, tl.Losses)
	}
}

// Late reads are named: a late duplicate, a late unacknowledged record, an
// acknowledged record readable only late.
func TestTallyLate(t *testing.T) {
	l := NewLedger(3)
	l.Ack(0, 0, 0)
	l.Read(0, 0, 0, false)
	l.Read(0, 0, 0, true) // a second copy appeared after producing stopped
	l.Sent(1)
	l.Fail(1, 0)
	l.Read(1, 0, 1, true)
	l.Ack(2, 0, 2)
	l.Read(2, 0, 2, true)
	tl := TallyLedger(l, TallyOptions{N: 3, Keys: 1, Coverage: map[int32]*Coverage{0: {End: 3, Next: 3, Done: true}}})
	if tl.Duplicated.Count != 1 || !strings.HasPrefix(tl.Duplicated.List[0], LatePrefix) {
		t.Errorf("duplicated %d %q, want one, late", tl.Duplicated.Count, tl.Duplicated.List)
	}
	if tl.UnackedRead.Count != 1 || !strings.HasPrefix(tl.UnackedRead.List[0], LatePrefix) {
		t.Errorf("unacked read %d %q, want one, late", tl.UnackedRead.Count, tl.UnackedRead.List)
	}
	if tl.LateAcked.Count != 1 {
		t.Errorf("late acknowledged %d, want 1", tl.LateAcked.Count)
	}
}

// The table the report shows says what Allowed decides.
func TestGuaranteeTableMatchesRules(t *testing.T) {
	for _, g := range Table() {
		rf := 1
		if g.ReplicationFactor != "1" {
			rf = 3
		}
		mode := Mode{Acks: g.Acks, Idempotent: g.Idempotent}
		a := Allowed(mode, rf, true)
		if got := map[bool]string{true: "allowed", false: "never"}[a.Loss]; got != g.Loss {
			t.Errorf("%s rf %s: table says loss %s, rules say %s (%s)", mode, g.ReplicationFactor, g.Loss, got, a.Why)
		}
		retried := Allowed(Mode{Acks: g.Acks, Idempotent: g.Idempotent, Retries: 3}, rf, true)
		wantDups := map[bool]string{true: "if retried", false: "never"}[retried.Duplicates]
		if g.Duplicates != wantDups {
			t.Errorf("%s rf %s: table says duplicates %s, rules say %s", mode, g.ReplicationFactor, g.Duplicates, wantDups)
		}
		if healthy := Allowed(mode, rf, false); healthy.Loss && g.Acks != "0" {
			t.Errorf("%s: a healthy cluster may lose acknowledged messages? %s", mode, healthy.Why)
		}
	}
}

// A producer that may have reordered its own messages (sarama without
// retries after a failed answer) is allowed a reordering, and nothing else
// more; without that, a producer without retries is allowed none.
func TestClientReorderedAllowsReorderOnly(t *testing.T) {
	for _, acks := range []string{"1", "all"} {
		plain := Allowed(Mode{Acks: acks}, 3, false)
		a := Allowed(Mode{Acks: acks, ClientReordered: true}, 3, false)
		if plain.Reorder || !a.Reorder || a.Duplicates != plain.Duplicates || a.Loss != plain.Loss || !strings.Contains(a.Why, ClientReorders) {
			t.Errorf("acks=%s: without %+v, with %+v; want only the reordering allowed, with why", acks, plain, a)
		}
	}
}

// FuzzReadStream checks random record streams against a ledger: whatever
// the broker returns, the checker and the tally never panic, and the tally
// accounts for every read: each message's reads are counted once, every
// read of a message beyond its first is a duplicate, and an acknowledged
// message is read, lost, or unread, never two of them.
func FuzzReadStream(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5}, uint8(3))
	f.Add([]byte{5, 5, 5, 200, 7, 1}, uint8(1))
	f.Fuzz(func(t *testing.T, stream []byte, keys uint8) {
		const run, n = 7, 16
		k := int(keys%4) + 1
		exp := Expect{RunID: run, N: n, Keys: workload.Keys(k)}
		l := NewLedger(n)
		for seq := range n { // half acknowledged, a quarter failed, a quarter in flight
			l.Sent(seq)
			switch seq % 4 {
			case 0, 1:
				l.Ack(seq, int32(seq%2), int64(seq))
			case 2:
				l.Fail(seq, int32(seq%2))
			}
		}
		f := NewFindings()
		checkers := []*Checker{NewChecker(exp, l, f), NewChecker(exp, l, f)}
		valid := 0
		for i, b := range stream {
			p := int32(b % 2)
			var r Record
			switch {
			case b >= 200: // garbage
				r = Record{Partition: p, Offset: int64(i), Key: []byte{b}, Value: []byte{b, b}}
			case b >= 100: // another run
				r = record(run+1, int(b)%n, k, p, int64(i))
			default:
				seq := int(b) % (n + 2) // some beyond the run
				r = record(run, seq, k, p, int64(seq))
				if seq < n {
					valid++
				}
			}
			checkers[p].Check(r, time.Time{}, i%3 == 0)
		}
		tl := TallyLedger(l, TallyOptions{N: n, Keys: k, Coverage: map[int32]*Coverage{
			0: {Partition: 0, End: n, Next: n, Done: true}, 1: {Partition: 1, End: n, Next: n / 2, Stopped: "test"}}})
		var reads, dups int64
		for seq := range n {
			r, _ := l.Reads(seq)
			reads += int64(r)
			if r > 1 {
				dups += int64(r - 1)
			}
		}
		if tl.Consumed != reads || int64(valid) != reads {
			t.Fatalf("consumed %d, ledger reads %d, valid records %d", tl.Consumed, reads, valid)
		}
		if tl.Duplicated.Count != dups {
			t.Fatalf("duplicated %d, want %d", tl.Duplicated.Count, dups)
		}
		var acked int64
		for seq := range n {
			if l.State(seq) == Acked {
				acked++
			}
		}
		readAcked := int64(0)
		for seq := range n {
			if r, _ := l.Reads(seq); r > 0 && l.State(seq) == Acked {
				readAcked++
			}
		}
		if readAcked+tl.Lost.Count+tl.Unread != acked {
			t.Fatalf("acked %d = read %d + lost %d + unread %d does not hold", acked, readAcked, tl.Lost.Count, tl.Unread)
		}
		var grouped int64
		for _, ls := range tl.Losses {
			grouped += ls.Count
			if ls.Cause == "" || ls.First > ls.Last {
				t.Fatalf("loss %s", ls)
			}
		}
		if grouped != tl.Lost.Count {
			t.Fatalf("losses group %d, lost %d", grouped, tl.Lost.Count)
		}
		_ = fmt.Sprint(f.Unexpected.Lines(), f.Reordered.Lines())
	})
}
