package runner_test

// Tests of the transactions scenario: a healthy embedded cluster passes it
// again and again; each anomaly, staged on kfake, fails it by name.

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"

	"github.com/chronik-e2e/chronik-e2e/pkg/profile"
	"github.com/chronik-e2e/chronik-e2e/pkg/report"
	"github.com/chronik-e2e/chronik-e2e/pkg/verify"
)

// txnProfile is a small profile running the transactions scenario (after
// the test hook, when hook is set) on 3 nodes, 4 partitions.
func txnProfile(t *testing.T, hook bool, edit func(*profile.Profile)) *profile.Profile {
	t.Helper()
	return smallProfile(t, 3, 4, 3, func(p *profile.Profile) {
		p.Scenarios = []string{"transactions"}
		if hook {
			p.Scenarios = []string{"topic-create", hookName, "transactions"}
		}
		p.Transactions = profile.Transactions{Producers: 2, Count: 15, Size: 6, AbortRatio: 0.4, Seed: 7}
		if edit != nil {
			edit(p)
		}
	})
}

// anomaly returns the report's count of the named anomaly.
func anomaly(rep *report.Report, name string) int64 {
	if rep.Transactions == nil {
		return -1
	}
	for _, a := range rep.Transactions.Anomalies {
		if a.Name == name {
			return a.Count
		}
	}
	return 0
}

// TestTransactionsHealthy: a healthy embedded cluster passes the scenario,
// five runs in a row, with commits and aborts both exercised and both reads
// seeing what they must.
func TestTransactionsHealthy(t *testing.T) {
	t.Parallel()
	c := startEmbedded(t, 3)
	for i := range 5 {
		rep := run(t, txnProfile(t, false, nil), c)
		verdicts(t, rep, map[string]bool{"transactions": true})
		tx := rep.Transactions
		if tx == nil {
			t.Fatalf("run %d: no transactions section", i)
		}
		if tx.Begun != 30 || tx.Committed+tx.Aborted != 30 || tx.Committed == 0 || tx.Aborted == 0 {
			t.Errorf("run %d: begun %d, committed %d, aborted %d; want 30 ending both ways", i, tx.Begun, tx.Committed, tx.Aborted)
		}
		var committed, uncommitted, filtered int64
		for _, p := range tx.Partitions {
			committed += p.Committed
			uncommitted += p.Uncommitted
			filtered += p.Filtered
			if p.LastStableOffset != p.HighWatermark {
				t.Errorf("run %d: partition %d: LSO %d, HWM %d", i, p.Partition, p.LastStableOffset, p.HighWatermark)
			}
		}
		if committed != int64(tx.Committed*6) || uncommitted != tx.Records || filtered != int64(tx.Aborted*6) {
			t.Errorf("run %d: read_committed %d, read_uncommitted %d, filtered %d; want %d, %d, %d", i, committed, uncommitted, filtered, tx.Committed*6, tx.Records, tx.Aborted*6)
		}
		if len(tx.Anomalies) != 0 {
			t.Errorf("run %d: anomalies %+v", i, tx.Anomalies)
		}
	}
}

// isTxnTopic reports whether topic is the transactions scenario's own.
func isTxnTopic(topic string) bool { return strings.HasSuffix(topic, "-txn") }

// rewriteEndTxn makes the cluster end every transaction the other way than
// asked when flip says so, while answering the producer as if it had not:
// an abort written as a commit, or a commit written as an abort.
func rewriteEndTxn(kc *kfake.Cluster, flip func(commit bool) bool) {
	kc.ControlKey(int16(kmsg.EndTxn), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
		kc.KeepControl()
		req := kreq.(*kmsg.EndTxnRequest)
		if flip(req.Commit) {
			req.Commit = !req.Commit
		}
		return nil, nil, false
	})
}

// TestTxnAbortWrittenAsCommit: the broker answers every abort but writes
// commit markers: read_committed returns the aborted transactions' records,
// an aborted read, named with its transaction.
func TestTxnAbortWrittenAsCommit(t *testing.T) {
	t.Parallel()
	c := startEmbedded(t, 3)
	rewriteEndTxn(c.Kfake(), func(commit bool) bool { return !commit })
	rep := run(t, txnProfile(t, false, nil), c)
	verdicts(t, rep, map[string]bool{"transactions": false})
	tx := rep.Transactions
	if want := int64(tx.Aborted * 6); tx.Aborted == 0 || anomaly(rep, verify.AnomalyAbortedRead) != want {
		t.Errorf("aborted_read = %d, want %d (every record of the %d aborted transactions)", anomaly(rep, verify.AnomalyAbortedRead), want, tx.Aborted)
	}
	for _, name := range []string{verify.AnomalyLost, verify.AnomalyPartial, verify.AnomalyDuplicate, verify.AnomalyStuckLSO} {
		if n := anomaly(rep, name); n != 0 {
			t.Errorf("%s = %d, want 0", name, n)
		}
	}
	wantFinding(t, section(t, rep, "transactions"), "aborted_read: read_committed: sequence ", "of aborted transaction chronik-e2e-", " read at partition ")
}

// TestTxnCommitWrittenAsAbort: the broker answers every commit but writes
// abort markers: every committed record is lost to read_committed, while
// read_uncommitted still returns it.
func TestTxnCommitWrittenAsAbort(t *testing.T) {
	t.Parallel()
	c := startEmbedded(t, 3)
	rewriteEndTxn(c.Kfake(), func(commit bool) bool { return commit })
	rep := run(t, txnProfile(t, false, nil), c)
	verdicts(t, rep, map[string]bool{"transactions": false})
	tx := rep.Transactions
	if want := int64(tx.Committed * 6); tx.Committed == 0 || anomaly(rep, verify.AnomalyLost) != want {
		t.Errorf("lost = %d, want %d (every record of the %d committed transactions, to read_committed)", anomaly(rep, verify.AnomalyLost), want, tx.Committed)
	}
	if n := anomaly(rep, verify.AnomalyAbortedRead); n != 0 {
		t.Errorf("aborted_read = %d, want 0", n)
	}
	wantFinding(t, section(t, rep, "transactions"), "lost: read_committed: partition ", "of committed transaction chronik-e2e-", "never read")
}

// TestTxnStuckLSO: the broker answers the last commit or abort of one
// producer without ending the transaction, so the last stable offset of
// its partitions stays below the high watermark: stuck LSO, with partition
// and offsets, and the records past it unreadable to read_committed.
func TestTxnStuckLSO(t *testing.T) {
	t.Parallel()
	c := startEmbedded(t, 3)
	kc := c.Kfake()
	var mu sync.Mutex
	ends := map[string]int{}
	kc.ControlKey(int16(kmsg.EndTxn), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
		kc.KeepControl()
		req := kreq.(*kmsg.EndTxnRequest)
		mu.Lock()
		ends[req.TransactionalID]++
		n := ends[req.TransactionalID]
		mu.Unlock()
		if !strings.HasSuffix(req.TransactionalID, "-0") || n != 15 { // the last of producer 0's 15
			return nil, nil, false
		}
		resp := req.ResponseKind().(*kmsg.EndTxnResponse)
		resp.SetVersion(req.Version)
		return resp, nil, true
	})
	rep := run(t, txnProfile(t, false, nil), c)
	verdicts(t, rep, map[string]bool{"transactions": false})
	if n := anomaly(rep, verify.AnomalyStuckLSO); n < 1 {
		t.Errorf("stuck_lso = %d, want at least 1", n)
	}
	stuck := 0
	for _, p := range rep.Transactions.Partitions {
		if p.LastStableOffset < p.HighWatermark {
			stuck++
		}
	}
	if int64(stuck) != anomaly(rep, verify.AnomalyStuckLSO) {
		t.Errorf("%d partitions with LSO below HWM, %d stuck_lso anomalies", stuck, anomaly(rep, verify.AnomalyStuckLSO))
	}
	wantFinding(t, section(t, rep, "transactions"), "stuck_lso: partition ", "the last stable offset stayed at ", "below the high watermark", "of transaction chronik-e2e-", "-0#14")
}

// TestTxnDuplicate: a second client writes a non-transactional copy of a
// committed record into partition 0 once every transaction has ended (when
// the scenario lists the end offsets): both reads return it twice.
func TestTxnDuplicate(t *testing.T) {
	t.Parallel()
	c := startEmbedded(t, 3)
	kc := c.Kfake()
	var once sync.Once
	kc.ControlKey(int16(kmsg.ListOffsets), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
		kc.KeepControl()
		for _, rt := range kreq.(*kmsg.ListOffsetsRequest).Topics {
			for _, rp := range rt.Partitions {
				if !isTxnTopic(rt.Topic) || rp.Partition != 0 || rp.Timestamp != -1 {
					continue
				}
				once.Do(func() { kc.SleepControl(func() { copyCommitted(t, c.Bootstrap(), rt.Topic) }) })
			}
		}
		return nil, nil, false
	})
	rep := run(t, txnProfile(t, false, nil), c)
	verdicts(t, rep, map[string]bool{"transactions": false})
	if n := anomaly(rep, verify.AnomalyDuplicate); n != 2 {
		t.Errorf("duplicate = %d, want 2 (one record, twice in each read)", n)
	}
	wantFinding(t, section(t, rep, "transactions"), "duplicate: read_committed: partition 0 offset ", "read 2 times")
	wantFinding(t, section(t, rep, "transactions"), "duplicate: read_uncommitted: partition 0 offset ", "read 2 times")
}

// copyCommitted writes, with a second client, a non-transactional copy of
// the first committed record of partition 0 of topic.
func copyCommitted(t *testing.T, bootstrap []string, topic string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(bootstrap...), kgo.MaxVersions(kversion.V3_6_0()),
		kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().AtStart()}}))
	if err != nil {
		t.Errorf("second client: %v", err)
		return
	}
	defer cl.Close()
	fs := cl.PollRecords(ctx, 1)
	if len(fs.Records()) == 0 {
		t.Errorf("no committed record in partition 0 of %s: %v", topic, fs.Errors())
		return
	}
	r := fs.Records()[0]
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Partition: 0, Key: r.Key, Value: r.Value}).FirstErr(); err != nil {
		t.Errorf("write the copy: %v", err)
	}
}
