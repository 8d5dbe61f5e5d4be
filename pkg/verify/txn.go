package verify

// Transactions beside the ledger: a transaction is a contiguous run of
// sequence numbers of one producer, so the ledger keeps its 16 bytes per
// message and the transactions are a short sorted list of runs, each with
// its transactional id and how it ended. From the two, every record's
// visibility follows: a committed transaction's records must be visible to
// every reader, an aborted one's must not be visible to read_committed, and
// one whose end is unknown may be either, but all or nothing.

import (
	"fmt"
	"sort"
	"sync"
)

// Outcome is how a transaction ended, as its producer was told.
type Outcome uint8

// Transaction outcomes.
const (
	TxnOpen      Outcome = iota // begun, not ended (yet)
	TxnCommitted                // the commit was acknowledged
	TxnAborted                  // the abort was acknowledged
	TxnUnknown                  // ending failed: it may have committed or aborted
)

// String names the outcome: "committed".
func (o Outcome) String() string {
	switch o {
	case TxnOpen:
		return "open"
	case TxnCommitted:
		return "committed"
	case TxnAborted:
		return "aborted"
	case TxnUnknown:
		return "unknown"
	}
	return "invalid"
}

// Txn is one transaction: sequences First..First+Len-1 of the ledger.
type Txn struct {
	ID         string // the producer's transactional id
	N          int    // the producer's N-th transaction, from 0
	First, Len int
	Outcome    Outcome
	Why        string // why the outcome is unknown

	ending bool // its producer has asked to commit or abort it
}

// Name names the transaction in findings: "txn-id#3".
func (t *Txn) Name() string { return fmt.Sprintf("%s#%d", t.ID, t.N) }

// Txns records the transactions of a run. Safe for concurrent use.
type Txns struct {
	mu   sync.Mutex
	next int
	list []*Txn // by First
}

// NewTxns returns an empty record of transactions.
func NewTxns() *Txns { return &Txns{} }

// Begin records a transaction of size records begun by the producer id,
// its n-th, and gives it the next size sequence numbers.
func (ts *Txns) Begin(id string, n, size int) *Txn {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	t := &Txn{ID: id, N: n, First: ts.next, Len: size}
	ts.next += size
	ts.list = append(ts.list, t)
	return t
}

// End records how t ended; why says why an unknown outcome is unknown.
func (ts *Txns) End(t *Txn, o Outcome, why string) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	t.Outcome, t.Why = o, why
}

// Ending records that t's producer is about to ask to commit or abort it:
// from now on its records may become visible to read_committed.
func (ts *Txns) Ending(t *Txn) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	t.ending = true
}

// Precommitted reports whether seq belongs to a transaction whose producer
// has not yet asked to commit or abort it, and returns the transaction.
func (ts *Txns) Precommitted(seq int) (*Txn, bool) {
	t := ts.Of(seq)
	if t == nil {
		return nil, false
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return t, !t.ending
}

// Of returns the transaction holding seq, or nil.
func (ts *Txns) Of(seq int) *Txn {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	i := sort.Search(len(ts.list), func(i int) bool { return ts.list[i].First+ts.list[i].Len > seq })
	if i < len(ts.list) && ts.list[i].First <= seq {
		return ts.list[i]
	}
	return nil
}

// List returns the transactions, by first sequence.
func (ts *Txns) List() []*Txn {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]*Txn(nil), ts.list...)
}

// Sequences is how many sequence numbers the transactions hold in all.
func (ts *Txns) Sequences() int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.next
}

// Counts returns how many transactions ended each way.
func (ts *Txns) Counts() map[Outcome]int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	out := map[Outcome]int{}
	for _, t := range ts.list {
		out[t.Outcome]++
	}
	return out
}
