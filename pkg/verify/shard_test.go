package verify

import (
	"strings"
	"testing"
	"time"

	"github.com/chronik-e2e/chronik-e2e/pkg/workload"
)

// shardRecord builds the record of the group's message seq, as shard
// Owner(seq)'s producer writes it.
func shardRecord(run uint64, g Shard, seq int, offset int64) Record {
	k := uint32(g.KeyOf(seq))
	key := workload.Key(k)
	v := make([]byte, workload.HeaderSize+8)
	workload.Encode(v, workload.Payload{RunID: run, Seq: uint64(seq), Key: k}, key)
	return Record{Partition: 0, Offset: offset, Key: key, Value: v}
}

// The shards' ranges cover the group's sequences and keys once each, every
// shard's messages use only its own keys, and one shard is an unsharded run.
func TestShardSplit(t *testing.T) {
	for _, g := range []Shard{{Count: 1, Messages: 1000, Keys: 100}, {Count: 3, Messages: 1000, Keys: 100}, {Count: 7, Messages: 50, Keys: 7}, {Count: 4, Messages: 4, Keys: 9}} {
		next, nextKey := 0, 0
		for i := range g.Count {
			lo, hi := g.Seqs(i)
			klo, khi := g.KeyRange(i)
			if lo != next || klo != nextKey || hi <= lo || khi <= klo {
				t.Fatalf("%+v: shard %d has sequences %d..%d, keys %d..%d after %d, %d", g, i, lo, hi, klo, khi, next, nextKey)
			}
			next, nextKey = hi, khi
			for seq := lo; seq < hi; seq++ {
				if o := g.Owner(seq); o != i {
					t.Fatalf("%+v: sequence %d owned by %d, want %d", g, seq, o, i)
				}
				if k := g.KeyOf(seq); k < klo || k >= khi {
					t.Fatalf("%+v: sequence %d has key %d outside shard %d's %d..%d", g, seq, k, i, klo, khi)
				}
				if g.Count == 1 && g.KeyOf(seq) != seq%g.Keys {
					t.Fatalf("one shard: sequence %d has key %d, want %d as unsharded", seq, g.KeyOf(seq), seq%g.Keys)
				}
			}
		}
		if next != g.Messages || nextKey != g.Keys {
			t.Fatalf("%+v: ranges end at %d, %d", g, next, nextKey)
		}
	}
	for _, bad := range []Shard{{Index: 3, Count: 3, Messages: 10, Keys: 10}, {Count: 3, Messages: 2, Keys: 10}, {Count: 3, Messages: 10, Keys: 2}} {
		if bad.Validate() == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
}

// A shard checks its own messages against its ledger, counts its siblings'
// records apart, and lists records of another run, or a sibling's sequence
// with the wrong key, as unexpected.
func TestShardChecker(t *testing.T) {
	const run = 0xabc
	g := Shard{Index: 1, Count: 3, Messages: 30, Keys: 6}
	exp := g.Own(run)
	if exp.SeqBase != 10 || exp.N != 10 || exp.KeyBase != 2 || len(exp.Keys) != 2 {
		t.Fatalf("shard 1 of 3 expects %+v", exp)
	}
	l := NewLedger(exp.N)
	for i := range exp.N {
		l.Sent(i)
		l.Ack(i, 0, int64(100+i))
	}
	f := NewFindings()
	c := NewChecker(exp, l, f)
	now := time.Now()
	for seq := range 30 { // every shard's messages; this shard's at offsets 100..109
		off := int64(seq)
		if seq >= 10 && seq < 20 {
			off = int64(100 + seq - 10)
		}
		c.Check(shardRecord(run, g, seq, off), now, false)
	}
	c.Check(shardRecord(0xdef, g, 3, 200), now, false) // another run's
	wrong := shardRecord(run, g, 25, 201)              // shard 2's sequence with shard 0's key
	wrong.Key = workload.Key(0)
	c.Check(wrong, now, false)
	c.Check(shardRecord(run, Shard{Count: 1, Messages: 40, Keys: 6}, 35, 202), now, false) // beyond the group

	if n := f.Siblings.Load(); n != 20 {
		t.Errorf("%d sibling records, want 20", n)
	}
	if f.Unexpected.Count != 3 {
		t.Errorf("%d unexpected, want 3: %v", f.Unexpected.Count, f.Unexpected.Lines())
	}
	for i, want := range []string{"payload of another run", "", "sequence 35 of run group"} {
		if want != "" && (i >= len(f.Unexpected.List) || !strings.Contains(f.Unexpected.List[i], want)) {
			t.Errorf("unexpected[%d] = %q, want it to say %q", i, f.Unexpected.List[i], want)
		}
	}
	if f.Reordered.Count != 0 {
		t.Errorf("reordered: %v", f.Reordered.Lines())
	}
	tl := TallyLedger(l, TallyOptions{N: exp.N, Keys: len(exp.Keys), SeqBase: exp.SeqBase, KeyBase: exp.KeyBase})
	if tl.Consumed != 10 || tl.Lost.Count != 0 || tl.Duplicated.Count != 0 || tl.Misplaced.Count != 0 {
		t.Errorf("tally %+v, want 10 consumed, nothing lost, duplicated or misplaced", tl)
	}
}

// A lost message of a shard is named by its sequence and key in the group.
func TestShardTallyNames(t *testing.T) {
	g := Shard{Index: 2, Count: 3, Messages: 30, Keys: 6}
	exp := g.Own(1)
	l := NewLedger(exp.N)
	l.Sent(3)
	l.Ack(3, 0, 7)
	tl := TallyLedger(l, TallyOptions{N: exp.N, Keys: len(exp.Keys), SeqBase: exp.SeqBase, KeyBase: exp.KeyBase,
		Coverage: map[int32]*Coverage{0: {End: 10, Next: 10, Done: true}}})
	if len(tl.Lost.List) != 1 || !strings.HasPrefix(tl.Lost.List[0], "sequence 23 (key-5) acknowledged at partition 0 offset 7") {
		t.Errorf("lost: %v", tl.Lost.List)
	}
}

// FuzzShardStream checks random streams of a run group's records against
// one shard: every record is exactly one of the shard's own reads (in its
// ledger), a sibling's record, or unexpected, and which one follows from the
// record alone: the group's run id, whose range its sequence is in, and
// whether its key is that sequence's key.
func FuzzShardStream(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 40, 41, 120, 250}, uint8(1), uint8(3))
	f.Add([]byte{9, 9, 9, 60, 61, 62}, uint8(0), uint8(1))
	f.Fuzz(func(t *testing.T, stream []byte, index, count uint8) {
		const run, messages, keys = 7, 48, 12
		g := Shard{Count: int(count%6) + 1, Messages: messages, Keys: keys}
		g.Index = int(index) % g.Count
		exp := g.Own(run)
		l := NewLedger(exp.N)
		for i := range exp.N {
			l.Sent(i)
			l.Ack(i, 0, int64(i))
		}
		found := NewFindings()
		c := NewChecker(exp, l, found)
		var own, siblings, unexpected, again int64
		seen := map[int]bool{}
		for i, b := range stream {
			seq := int(b) % (messages + 4) // some beyond the group
			var r Record
			switch {
			case b >= 240: // garbage
				r = Record{Offset: int64(i), Key: []byte{b}, Value: []byte{b}}
				unexpected++
			case b >= 200 && seq < messages: // another run
				r = shardRecord(run+1, g, seq, int64(i))
				unexpected++
			case seq >= messages: // the group's run id, beyond its messages
				r = shardRecord(run, Shard{Count: 1, Messages: messages + 4, Keys: keys}, seq, int64(i))
				unexpected++
			case b >= 150: // the group's sequence with another key
				r = shardRecord(run, g, seq, int64(i))
				r.Key = workload.Key(uint32((g.KeyOf(seq) + 1) % keys))
				unexpected++
			case exp.Owns(uint64(seq)):
				r = shardRecord(run, g, seq, int64(seq-exp.SeqBase))
				own++
			default:
				r = shardRecord(run, g, seq, int64(i))
				siblings++
				if seen[seq] {
					again++
				}
				seen[seq] = true
			}
			c.Check(r, time.Time{}, false)
		}
		var reads int64
		for i := range exp.N {
			n, _ := l.Reads(i)
			reads += int64(n)
		}
		if found.SiblingDuplicated.Count != again {
			t.Fatalf("shard %d/%d: %d sibling records read again, want %d", g.Index, g.Count, found.SiblingDuplicated.Count, again)
		}
		if reads != own || found.Siblings.Load() != siblings || found.Unexpected.Count != unexpected {
			t.Fatalf("shard %d/%d: %d reads, %d siblings, %d unexpected; want %d, %d, %d: %v",
				g.Index, g.Count, reads, found.Siblings.Load(), found.Unexpected.Count, own, siblings, unexpected, found.Unexpected.Lines())
		}
	})
}

// A sibling's record read twice is a duplicate the shard that read it
// names: the owner may have finished reading before the broker wrote the
// copy, so a shard that counts it as one more sibling record would let a
// duplicate through every shard's verdict.
func TestShardSiblingDuplicate(t *testing.T) {
	const run = 0xabc
	g := Shard{Index: 0, Count: 2, Messages: 20, Keys: 4}
	exp := g.Own(run)
	l := NewLedger(exp.N)
	f := NewFindings()
	c := NewChecker(exp, l, f)
	now := time.Now()
	for seq := 10; seq < 20; seq++ {
		c.Check(shardRecord(run, g, seq, int64(seq)), now, false)
	}
	c.Check(shardRecord(run, g, 13, 20), now, false) // shard 1's sequence 13 again
	if n := f.Siblings.Load(); n != 11 {
		t.Errorf("%d sibling records, want 11", n)
	}
	if f.SiblingDuplicated.Count != 1 || len(f.SiblingDuplicated.List) != 1 ||
		!strings.Contains(f.SiblingDuplicated.List[0], "partition 0 offset 20: sequence 13 of shard 1 read again") {
		t.Errorf("sibling duplicates %d: %v, want sequence 13 at offset 20", f.SiblingDuplicated.Count, f.SiblingDuplicated.Lines())
	}
	if f.Unexpected.Count != 0 {
		t.Errorf("unexpected: %v", f.Unexpected.Lines())
	}
}
