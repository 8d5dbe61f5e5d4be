package verify

import (
	"bytes"
	"fmt"
	"strconv"

	"github.com/chronik-e2e/chronik-e2e/pkg/workload"
)

// Shard is one runner's part of a run group (--shard I/N): Count runners
// share one topic and one run id, and the group's Messages sequence numbers
// and Keys key indexes are split into Count contiguous ranges, shard Index
// owning the Index-th of each. A message's key follows from its sequence
// alone: key lo + (seq - first) % keys, where first and lo start its
// owner's ranges and keys is how many keys its owner has; with one shard
// that is seq % Keys, the key of an unsharded run.
type Shard struct {
	Index, Count   int
	Messages, Keys int // the whole group's
}

// Validate says what is wrong with the split, if anything.
func (s Shard) Validate() error {
	switch {
	case s.Count < 1 || s.Index < 0 || s.Index >= s.Count:
		return fmt.Errorf("shard %d/%d: the index must be 0 to %d", s.Index, s.Count, s.Count-1)
	case s.Messages < s.Count:
		return fmt.Errorf("%d messages cannot be split among %d shards: give each shard one at least (workload.messages, --messages)", s.Messages, s.Count)
	case s.Keys < s.Count:
		return fmt.Errorf("%d keys cannot be split among %d shards: give each shard one key at least (workload.keys, --keys)", s.Keys, s.Count)
	}
	return nil
}

// split returns the i-th of n contiguous ranges of [0, total).
func split(total, i, n int) (lo, hi int) { return total * i / n, total * (i + 1) / n }

// Seqs returns the sequence numbers shard i owns: [lo, hi).
func (s Shard) Seqs(i int) (lo, hi int) { return split(s.Messages, i, s.Count) }

// KeyRange returns the key indexes shard i owns: [lo, hi).
func (s Shard) KeyRange(i int) (lo, hi int) { return split(s.Keys, i, s.Count) }

// Owner returns the shard whose range holds seq (seq < Messages).
func (s Shard) Owner(seq int) int {
	i := int(int64(seq) * int64(s.Count) / int64(s.Messages))
	for lo, _ := s.Seqs(i); seq < lo; lo, _ = s.Seqs(i) {
		i--
	}
	for _, hi := s.Seqs(i); seq >= hi; _, hi = s.Seqs(i) {
		i++
	}
	return i
}

// KeyOf returns the key index of message seq (seq < Messages).
func (s Shard) KeyOf(seq int) int {
	i := s.Owner(seq)
	first, _ := s.Seqs(i)
	lo, hi := s.KeyRange(i)
	return lo + (seq-first)%(hi-lo)
}

// Own returns what the shard checks of its own messages: its sequence
// numbers and keys, offset into the group's, for run id runID.
func (s Shard) Own(runID uint64) Expect {
	first, last := s.Seqs(s.Index)
	lo, hi := s.KeyRange(s.Index)
	keys := make([][]byte, hi-lo)
	for i := range keys {
		keys[i] = workload.Key(uint32(lo + i))
	}
	g := s
	return Expect{RunID: runID, N: last - first, Keys: keys, SeqBase: first, KeyBase: lo, Group: &g}
}

// sibling reports whether a payload of the group's run id, with sequence
// seq, key index key and record key rkey, is a message another shard of
// the group sent: a sequence of another shard's range, with its key.
func (s *Shard) sibling(seq uint64, key uint32, rkey []byte) bool {
	if s == nil || seq >= uint64(s.Messages) {
		return false
	}
	i := s.Owner(int(seq))
	if i == s.Index {
		return false
	}
	k := s.KeyOf(int(seq))
	var buf [24]byte
	return int(key) == k && bytes.Equal(rkey, strconv.AppendUint(append(buf[:0], "key-"...), uint64(k), 10))
}
