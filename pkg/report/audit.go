package report

// Audit is what the final audit found: it waited until the topic was quiet,
// listed every partition's log start and end again and read whatever lay
// beyond what had been read.
type Audit struct {
	Topic string `json:"topic"`
	// Settled reports whether the end offsets stopped moving for the settle
	// time (timeouts.settle); SettleS is how long the wait took.
	Settled bool    `json:"settled"`
	SettleS float64 `json:"settle_s"`
	// LateRecords counts the records that appeared after producing stopped.
	LateRecords int64            `json:"late_records"`
	Partitions  []AuditPartition `json:"partitions"`
	// Findings fail the run (an end offset that went back); Notes do not.
	Findings []string `json:"findings"`
	Notes    []string `json:"notes,omitempty"`
}

// AuditPartition is one partition at the final audit.
type AuditPartition struct {
	Partition int32 `json:"partition"`
	LogStart  int64 `json:"log_start"`
	// ReadEnd is the end offset the first read went to; End the final one.
	ReadEnd int64 `json:"read_end"`
	End     int64 `json:"end"`
	Late    int64 `json:"late"`
}

// Loss is the messages of one partition lost for one cause.
type Loss struct {
	Partition int32 `json:"partition"`
	// Cause is "below log start", "above the high watermark", "in range but missing" or "unreadable".
	Cause       string `json:"cause"`
	Count       int64  `json:"count"`
	FirstOffset int64  `json:"first_offset"`
	LastOffset  int64  `json:"last_offset"`
	Detail      string `json:"detail"`
}
