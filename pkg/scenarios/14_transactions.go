package scenarios

// transactions writes transactions.producers transactional producers'
// transactions (transactions.count each, transactions.size records over
// two to four partitions), committing or aborting each at random
// (transactions.abort_ratio, seeded), into its own topic, while a
// read_committed reader reads alongside. Once every transaction has ended
// it reads every partition twice, read_committed and
// read_uncommitted, with its own Fetch requests, and judges every record by
// its transaction's outcome: a committed one's must be read once by both, an
// aborted one's never by read_committed.
//
// Measures: transactions per second; per partition, the last stable offset,
// records each read returned, aborted records filtered, markers.
// Fails: on a committed record not read (lost) or read twice (duplicate);
// an aborted record read_committed returns (aborted read); a record the
// reader alongside got before its producer asked to commit it (precommitted
// read); a transaction
// read_committed shows in part (partial transaction); two different
// records at one offset between the reads (inconsistent offsets); a last
// stable offset below the high watermark after every transaction ended
// (stuck LSO); records read elsewhere than acknowledged, or not this run's.
// Reports without failing: read_uncommitted not returning aborted records.
// Not applicable: kafka_version below 0.11 (no transactions).
// Cannot detect: a precommitted read in the moment between the producer's
// commit request and the broker's markers (it counts as asked); reads
// through followers.

import "context"

func init() {
	Register(faultScenario{
		name:    "transactions",
		summary: "transactional producers commit and abort across partitions: read_committed and read_uncommitted see each as they must",
		body:    transactions,
	})
}

func transactions(ctx context.Context, k *faultKit) error {
	return runTxns(ctx, k, "txn", txnHooks{})
}
