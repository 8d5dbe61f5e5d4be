package report

// Transactions is what the transactions scenario wrote and what its two
// reads (read_committed and read_uncommitted) found.
type Transactions struct {
	// Scenario names the scenario (transactions, transactions-failover).
	Scenario string `json:"scenario"`
	Topic    string `json:"topic"`
	// Faults are the faults injected while the transactions ran ("" none), e.g. "kill node 1, start node 1".
	Faults string `json:"faults,omitempty"`
	// Producers is how many transactional producers wrote; Seed seeded their
	// choices of partitions and aborts.
	Producers int   `json:"producers"`
	Seed      int64 `json:"seed"`
	// Begun counts the transactions begun; Committed, Aborted and Unknown
	// how they ended as their producers were told (unknown: ending failed).
	Begun     int `json:"begun"`
	Committed int `json:"committed"`
	Aborted   int `json:"aborted"`
	Unknown   int `json:"unknown"`
	// UnknownVisible counts the transactions of unknown outcome read_committed showed (committed).
	UnknownVisible int `json:"unknown_visible"`
	// Records counts the records sent in transactions.
	Records int64 `json:"records"`
	// Anomalies lists every anomaly found, by name, with its count and first examples.
	Anomalies []TxnAnomaly `json:"anomalies"`
	// Partitions is what each read found in each partition.
	Partitions []TxnPartition `json:"partitions"`
	// Guarantees is what each reader must see of a transaction, by how it ended.
	Guarantees []TxnGuarantee `json:"guarantees"`
	// Failures are what the producers were told went wrong (a failed commit, a produce error).
	Failures []string `json:"failures,omitempty"`
}

// TxnAnomaly is one kind of anomaly: stuck_lso, lost, duplicate,
// aborted_read, precommitted_read, partial_transaction, inconsistent_offsets, end_moved, misplaced,
// unexpected, unread, or aborted_not_returned (reported, never failed).
type TxnAnomaly struct {
	Name string `json:"name"`
	// Fails reports whether the anomaly fails the run.
	Fails    bool     `json:"fails"`
	Count    int64    `json:"count"`
	Examples []string `json:"examples"`
}

// TxnPartition is one partition as the two reads saw it.
type TxnPartition struct {
	Partition int32 `json:"partition"`
	// LogStart and HighWatermark are the offsets read from and to, listed once every transaction had ended.
	LogStart      int64 `json:"log_start"`
	HighWatermark int64 `json:"high_watermark"`
	// LastStableOffset is the last one read_committed's fetches answered (-1: none).
	LastStableOffset int64 `json:"last_stable_offset"`
	// Committed and Uncommitted count the records each read delivered;
	// Filtered those of aborted transactions read_committed dropped;
	// Markers the commit and abort markers.
	Committed   int64 `json:"committed"`
	Uncommitted int64 `json:"uncommitted"`
	Filtered    int64 `json:"filtered"`
	Markers     int64 `json:"markers"`
}

// Failed reports whether an anomaly that fails the run was found.
func (t *Transactions) Failed() bool {
	for _, a := range t.Anomalies {
		if a.Fails && a.Count > 0 {
			return true
		}
	}
	return false
}

// TxnGuarantee is one row of the transactional guarantee table.
type TxnGuarantee struct {
	Reader string `json:"reader"` // read_committed or read_uncommitted
	// Outcome is how the transaction ended as its producer was told: committed, aborted or unknown.
	Outcome string `json:"outcome"`
	// Visible is what the reader must see of its records: "all, once", "none", "all or none", "any".
	Visible string `json:"visible"`
	Why     string `json:"why"`
}
