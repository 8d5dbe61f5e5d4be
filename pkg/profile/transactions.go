package profile

// Transactions says what the transactions scenario writes: how many
// transactional producers, how many transactions each, how many records in
// each, and how often one aborts.
type Transactions struct {
	// Producers is how many transactional producers write at once, each with its own transactional id.
	Producers int `yaml:"producers"`
	// Count is how many transactions each producer writes.
	Count int `yaml:"count"`
	// Size is how many records each transaction holds, spread over several partitions.
	Size int `yaml:"size"`
	// AbortRatio is the share of transactions aborted rather than committed, 0..1.
	AbortRatio float64 `yaml:"abort_ratio"`
	// Seed makes the choices of partitions and aborts replayable; 0 uses faults.seed.
	Seed int `yaml:"seed"`
}

// Limits of the transactions section.
const (
	MaxTxnProducers = 64
	MaxTxnCount     = 100000
	MaxTxnSize      = 10000
	MaxTxnRecords   = 10000000 // producers × count × size
)

// DefaultTransactions returns the transactions section a profile gets when it has none.
func DefaultTransactions() Transactions {
	return Transactions{Producers: 3, Count: 50, Size: 10, AbortRatio: 0.3}
}

// validateTransactions checks the transactions section.
func (p *Profile) validateTransactions(v *validator) {
	t := p.Transactions
	if t.Producers < 1 || t.Producers > MaxTxnProducers {
		v.add("transactions.producers", "must be 1..%d, not %d", MaxTxnProducers, t.Producers)
	}
	if t.Count < 1 || t.Count > MaxTxnCount {
		v.add("transactions.count", "must be 1..%d transactions per producer, not %d", MaxTxnCount, t.Count)
	}
	if t.Size < 1 || t.Size > MaxTxnSize {
		v.add("transactions.size", "must be 1..%d records per transaction, not %d", MaxTxnSize, t.Size)
	}
	if t.AbortRatio < 0 || t.AbortRatio > 1 || t.AbortRatio != t.AbortRatio {
		v.add("transactions.abort_ratio", "must be a share from 0 (commit all) to 1 (abort all), not %v", t.AbortRatio)
	}
	if t.Seed < 0 {
		v.add("transactions.seed", "must be 0 (use faults.seed) or a positive number, not %d", t.Seed)
	}
	if n := t.Producers * t.Count * t.Size; t.Producers > 0 && t.Count > 0 && t.Size > 0 && n > MaxTxnRecords {
		v.add("transactions.count", "producers × count × size is %d records; the limit is %d", n, MaxTxnRecords)
	}
}
