// Package verify decides verdicts: it is the one place that says what became
// of every message a run sent. Every scenario that writes or reads messages
// goes through it and nothing else:
//
//   - Ledger: 16 bytes per message, what the producer was told and how often
//     and where the message was read back (ledger.go);
//   - Answers: what one produce answer means: acknowledged, failed by a named
//     error, or an offset -1 batch (answer.go);
//   - Checker: the record check of everything read back (check.go);
//   - Reading: the partition readers, which survive partitions that fail
//     under them, and the final audit that reads what appeared after producing
//     stopped (reading.go, audit.go);
//   - Tally: one walk of the ledger that sorts every message into a verdict and
//     names a cause for every loss (tally.go);
//   - Allowed: the guarantee rules, what a producer mode may lose or duplicate
//     through a fault (rules.go);
//   - Txns, ReadIsolated, TallyTxns, Visible: transactions beside the ledger
//     (runs of sequences with their id and outcome), the read of a
//     transactional topic at one isolation level with its own Fetch requests,
//     the transactional anomalies and the rule they are judged by
//     (txn.go, txn_read.go, txn_tally.go, txn_rules.go).
package verify
