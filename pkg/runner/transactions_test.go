package runner_test

// Tests of the transactions scenario: a healthy embedded cluster passes it
// again and again; each anomaly, staged on kfake, fails it by name.

import (
	"context"
	"encoding/binary"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"

	"github.com/chronik-e2e/chronik-e2e/pkg/cluster"
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

// txnOf returns the report's only transactions section, failing the test without one.
func txnOf(t *testing.T, rep *report.Report) *report.Transactions {
	t.Helper()
	if len(rep.Transactions) != 1 {
		t.Fatalf("%d transactions sections, want 1", len(rep.Transactions))
	}
	return rep.Transactions[0]
}

// anomaly returns the report's count of the named anomaly.
func anomaly(rep *report.Report, name string) int64 {
	if len(rep.Transactions) != 1 {
		return -1
	}
	for _, a := range rep.Transactions[0].Anomalies {
		if a.Name == name {
			return a.Count
		}
	}
	return 0
}

// TestTransactionsHealthy: a healthy embedded cluster passes the scenario,
// inARow runs in a row, with commits and aborts both exercised and both reads
// seeing what they must.
func TestTransactionsHealthy(t *testing.T) {
	t.Parallel()
	c := startEmbedded(t, 3)
	for i := range inARow {
		rep := run(t, txnProfile(t, false, nil), c)
		verdicts(t, rep, map[string]bool{"transactions": true})
		tx := txnOf(t, rep)
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
	tx := txnOf(t, rep)
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
	tx := txnOf(t, rep)
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
	for _, p := range txnOf(t, rep).Partitions {
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

// proxyRack marks the fetches tamperFetch sends itself, which it lets through.
const proxyRack = "chronik-e2e-tamper"

// tamperFetch makes kfake answer every Fetch of the transactions scenario's
// topic at isolation level iso (0 read_uncommitted, 1 read_committed)
// through a second client, and lets edit change each partition's answer
// before it goes back: a broker whose fetch answers differ from its log.
func tamperFetch(t *testing.T, c *cluster.Embedded, iso int8, edit func(sp *kmsg.FetchResponseTopicPartition)) {
	t.Helper()
	tamperFetchWith(t, c, fetchTamper{iso: iso, as: iso, edit: edit, topic: isTxnTopic})
}

// fetchTamper says which fetches tamperFetchWith answers and how.
type fetchTamper struct {
	iso, as   int8                                       // the isolation level of the fetches tampered with, and the one they are answered at
	onRequest func(req *kmsg.FetchRequest)               // sees each tampered fetch before it is answered; nil: none
	edit      func(sp *kmsg.FetchResponseTopicPartition) // nil: none
	topic     func(string) bool                          // the topics tampered with
}

// newProxy returns a second client whose requests are the versions sarama
// sends (Fetch v12 at most: topics by name), closed when the test ends.
func newProxy(t *testing.T, c *cluster.Embedded) *kgo.Client {
	t.Helper()
	proxy, err := kgo.NewClient(kgo.SeedBrokers(c.Bootstrap()...), kgo.MaxVersions(kversion.V2_7_0()))
	if err != nil {
		t.Fatalf("proxy client: %v", err)
	}
	t.Cleanup(proxy.Close)
	return proxy
}

// tamperFetchWith is tamperFetch with more say.
func tamperFetchWith(t *testing.T, c *cluster.Embedded, ft fetchTamper) {
	t.Helper()
	proxy := newProxy(t, c)
	eachKfake(t, c, func(kc *kfake.Cluster) { tamperFetchOn(kc, proxy, ft) })
}

// tamperFetchOn installs tamperFetchWith's control on kc.
func tamperFetchOn(kc *kfake.Cluster, proxy *kgo.Client, ft fetchTamper) {
	kc.ControlKey(int16(kmsg.Fetch), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
		kc.KeepControl()
		req := kreq.(*kmsg.FetchRequest)
		if req.IsolationLevel != ft.iso || req.Rack == proxyRack || len(req.Topics) != 1 || !ft.topic(req.Topics[0].Topic) {
			return nil, nil, false
		}
		if ft.onRequest != nil {
			ft.onRequest(req)
		}
		node := kc.CurrentNode()
		var kresp kmsg.Response
		var err error
		kc.SleepControl(func() {
			cp := *req
			cp.Rack, cp.IsolationLevel = proxyRack, ft.as
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			kresp, err = proxy.Broker(int(node)).Request(ctx, &cp)
		})
		if err != nil || kresp == nil {
			return nil, nil, false // kfake answers it itself
		}
		resp := kresp.(*kmsg.FetchResponse)
		resp.SetVersion(req.Version)
		for i := range resp.Topics {
			for j := range resp.Topics[i].Partitions {
				if ft.edit != nil {
					ft.edit(&resp.Topics[i].Partitions[j])
				}
			}
		}
		return resp, nil, true
	})
}

// eachKfake runs install on c's kfake cluster now and on each one a
// whole-cluster restart puts in its place (which starts without controls),
// until the test ends.
func eachKfake(t *testing.T, c *cluster.Embedded, install func(kc *kfake.Cluster)) {
	t.Helper()
	last := c.Kfake()
	install(last)
	stop, done := make(chan struct{}), make(chan struct{})
	t.Cleanup(func() { close(stop); <-done })
	go func() {
		defer close(done)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			if kc := c.Kfake(); kc != nil && kc != last {
				install(kc)
				last = kc
			}
		}
	}()
}

// batch is one record batch of a fetch answer, as raw bytes.
type batch []byte

// Offsets of a record batch's header fields (format v2).
const (
	batchAttributes = 21
	batchLastDelta  = 23
	batchProducerID = 43
	batchHeaderSize = 61
)

func (b batch) firstOffset() int64     { return int64(binary.BigEndian.Uint64(b)) }
func (b batch) setFirstOffset(o int64) { binary.BigEndian.PutUint64(b, uint64(o)) }
func (b batch) lastDelta() int32       { return int32(binary.BigEndian.Uint32(b[batchLastDelta:])) }
func (b batch) producerID() int64      { return int64(binary.BigEndian.Uint64(b[batchProducerID:])) }
func (b batch) control() bool          { return binary.BigEndian.Uint16(b[batchAttributes:])&0x20 != 0 }
func (b batch) transactional() bool    { return binary.BigEndian.Uint16(b[batchAttributes:])&0x10 != 0 }

// commitMarker reports whether a control batch holds a commit marker: its
// one record's key is version (int16) and type (int16, 1 commit).
func (b batch) commitMarker() bool {
	r := b[batchHeaderSize:]
	skip := func() { _, n := binary.Varint(r); r = r[n:] }
	skip()    // record length
	r = r[1:] // attributes
	skip()    // timestamp delta
	skip()    // offset delta
	kl, n := binary.Varint(r)
	r = r[n:]
	return kl >= 4 && binary.BigEndian.Uint16(r[2:4]) == 1
}

// splitBatches splits a fetch answer's records into batches.
func splitBatches(raw []byte) []batch {
	var out []batch
	for len(raw) >= 12 {
		n := 12 + int(binary.BigEndian.Uint32(raw[8:12]))
		if n > len(raw) {
			break
		}
		out = append(out, batch(raw[:n:n]))
		raw = raw[n:]
	}
	return out
}

// joinBatches concatenates batches into a fetch answer's records.
func joinBatches(bs []batch) []byte {
	var out []byte
	for _, b := range bs {
		out = append(out, b...)
	}
	return out
}

// committedData reports whether bs[i] is a data batch of a transaction
// whose marker, later in bs, is a commit.
func committedData(bs []batch, i int) bool {
	b := bs[i]
	if b.control() || !b.transactional() {
		return false
	}
	for _, m := range bs[i+1:] { // its producer's next marker
		if m.control() && m.producerID() == b.producerID() {
			return m.commitMarker()
		}
	}
	return false
}

// TestTxnPartialTransaction: read_committed answers for partition 0 leave
// out one batch of a committed transaction (the first one seen, in every
// answer after): the transaction is partly visible, and its records there
// are lost.
func TestTxnPartialTransaction(t *testing.T) {
	t.Parallel()
	c := startEmbedded(t, 3)
	var mu sync.Mutex
	dropped, at := 0, int64(-1)
	tamperFetch(t, c, 1, func(sp *kmsg.FetchResponseTopicPartition) {
		mu.Lock()
		defer mu.Unlock()
		if sp.Partition != 0 {
			return
		}
		bs := splitBatches(sp.RecordBatches)
		for i, b := range bs {
			if at < 0 && committedData(bs, i) {
				dropped, at = int(b.lastDelta())+1, b.firstOffset()
			}
			if b.firstOffset() == at {
				sp.RecordBatches = joinBatches(append(bs[:i:i], bs[i+1:]...))
				return
			}
		}
	})
	rep := run(t, txnProfile(t, false, nil), c)
	verdicts(t, rep, map[string]bool{"transactions": false})
	if dropped == 0 {
		t.Fatal("no committed batch was dropped")
	}
	if n := anomaly(rep, verify.AnomalyPartial); n != 1 {
		t.Errorf("partial_transaction = %d, want 1", n)
	}
	if n := anomaly(rep, verify.AnomalyLost); n != int64(dropped) {
		t.Errorf("lost = %d, want the %d records of the dropped batch", n, dropped)
	}
	wantFinding(t, section(t, rep, "transactions"), "partial_transaction: read_committed: transaction chronik-e2e-", "(committed): ", "records visible (partition ", "), not partition 0 offset ")
}

// TestTxnInconsistentOffsets: read_uncommitted answers for partition 1 swap
// two committed batches of one record each (once), so that read_uncommitted
// returns other records than read_committed at their offsets.
func TestTxnInconsistentOffsets(t *testing.T) {
	t.Parallel()
	c := startEmbedded(t, 3)
	var mu sync.Mutex
	swapped := false
	tamperFetch(t, c, 0, func(sp *kmsg.FetchResponseTopicPartition) {
		mu.Lock()
		defer mu.Unlock()
		if sp.Partition != 1 || swapped {
			return
		}
		bs := splitBatches(sp.RecordBatches)
		var data []int
		for i, b := range bs {
			if committedData(bs, i) && b.lastDelta() == 0 {
				data = append(data, i)
			}
		}
		if len(data) < 2 {
			return
		}
		i, j := data[0], data[1]
		a, b := bs[i], bs[j]
		ao, bo := a.firstOffset(), b.firstOffset()
		a.setFirstOffset(bo)
		b.setFirstOffset(ao)
		bs[i], bs[j] = b, a
		sp.RecordBatches = joinBatches(bs)
		swapped = true
	})
	rep := run(t, txnProfile(t, false, nil), c)
	verdicts(t, rep, map[string]bool{"transactions": false})
	if !swapped {
		t.Fatal("no two batches were swapped")
	}
	if n := anomaly(rep, verify.AnomalyInconsistent); n != 2 {
		t.Errorf("inconsistent_offsets = %d, want 2", n)
	}
	wantFinding(t, section(t, rep, "transactions"), "inconsistent_offsets: partition 1 offset ", ": read_committed read ", ", read_uncommitted read sequence ")
}

// TestTransactionsFailover: the transaction coordinator killed
// mid-transaction on a healthy embedded cluster (data on disk, as for
// every fault scenario): the scenario passes, inARow runs in a row, and the
// kill and the start are on the timeline.
func TestTransactionsFailover(t *testing.T) {
	t.Parallel()
	for i := range inARow {
		p := txnProfile(t, false, func(p *profile.Profile) {
			p.Scenarios = []string{"transactions-failover"}
			p.Faults.Settle.Duration = 0
		})
		rep := run(t, p, nil)
		verdicts(t, rep, map[string]bool{"transactions-failover": true})
		tx := txnOf(t, rep)
		if !strings.Contains(tx.Faults, "kill node ") || !strings.Contains(tx.Faults, "start node ") {
			t.Errorf("run %d: faults %q, want a kill and a start", i, tx.Faults)
		}
		if tx.Begun != 30 || tx.Committed+tx.Aborted+tx.Unknown != 30 {
			t.Errorf("run %d: begun %d, committed %d, aborted %d, unknown %d", i, tx.Begun, tx.Committed, tx.Aborted, tx.Unknown)
		}
		if len(notesWith(section(t, rep, "transactions-failover"), "its coordinator node ", " killed before it ended")) != 1 {
			t.Errorf("run %d: no note names the killed coordinator", i)
		}
	}
}

// proxyTimeout marks the produce requests a tampering control sends itself.
const proxyTimeout = 12345

// TestTxnPrecommittedRead: read_committed fetches are answered as
// read_uncommitted, and the first transactional produce is answered only
// once the reader running alongside the producers has read past it: the
// reader gets records of a transaction its producer has not yet asked to
// commit, a precommitted read.
func TestTxnPrecommittedRead(t *testing.T) {
	t.Parallel()
	c := startEmbedded(t, 3)
	kc := c.Kfake()
	var mu sync.Mutex
	want := map[int32]int64{} // the held produce: partition -> base offset
	read := make(chan struct{})
	var readOnce sync.Once
	tamperFetchWith(t, c, fetchTamper{iso: 1, as: 0, topic: isTxnTopic, onRequest: func(req *kmsg.FetchRequest) {
		mu.Lock()
		defer mu.Unlock()
		for _, rp := range req.Topics[0].Partitions {
			if base, ok := want[rp.Partition]; ok && rp.FetchOffset > base {
				readOnce.Do(func() { close(read) })
			}
		}
	}})
	proxy := newProxy(t, c)
	var held sync.Once
	kc.ControlKey(int16(kmsg.Produce), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
		kc.KeepControl()
		req := kreq.(*kmsg.ProduceRequest)
		if req.TimeoutMillis == proxyTimeout || req.TransactionID == nil || len(req.Topics) != 1 || !isTxnTopic(req.Topics[0].Topic) {
			return nil, nil, false
		}
		hold := false
		held.Do(func() { hold = true })
		if !hold {
			return nil, nil, false
		}
		node := kc.CurrentNode()
		var kresp kmsg.Response
		var err error
		kc.SleepControl(func() {
			cp := *req
			cp.TimeoutMillis = proxyTimeout
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if kresp, err = proxy.Broker(int(node)).Request(ctx, &cp); err != nil {
				return
			}
			mu.Lock()
			for _, rt := range kresp.(*kmsg.ProduceResponse).Topics {
				for _, rp := range rt.Partitions {
					want[rp.Partition] = rp.BaseOffset
				}
			}
			mu.Unlock()
			select { // the reader alongside has read past the records
			case <-read:
			case <-ctx.Done():
			}
		})
		if err != nil {
			t.Errorf("proxy the held produce: %v", err)
			return nil, nil, false
		}
		kresp.SetVersion(req.Version)
		return kresp, nil, true
	})
	rep := run(t, txnProfile(t, false, nil), c)
	verdicts(t, rep, map[string]bool{"transactions": false})
	if !closed(read) {
		t.Fatal("the reader alongside the producers never read past the held produce")
	}
	if n := anomaly(rep, verify.AnomalyPrecommitted); n < 1 {
		t.Errorf("precommitted_read = %d, want at least 1", n)
	}
	wantFinding(t, section(t, rep, "transactions"), "precommitted_read: read_committed alongside the producers: partition ", "of transaction chronik-e2e-", "#0 returned before its producer asked to commit it")
}

// TestTxnAbortedListMissing: read_committed answers leave out the aborted
// transactions they cover, so a client cannot filter them: aborted reads.
func TestTxnAbortedListMissing(t *testing.T) {
	t.Parallel()
	c := startEmbedded(t, 3)
	tamperFetch(t, c, 1, func(sp *kmsg.FetchResponseTopicPartition) { sp.AbortedTransactions = nil })
	rep := run(t, txnProfile(t, false, nil), c)
	verdicts(t, rep, map[string]bool{"transactions": false})
	tx := txnOf(t, rep)
	if want := int64(tx.Aborted * 6); anomaly(rep, verify.AnomalyAbortedRead) != want {
		t.Errorf("aborted_read = %d, want %d", anomaly(rep, verify.AnomalyAbortedRead), want)
	}
	if n := anomaly(rep, verify.AnomalyLost); n != 0 {
		t.Errorf("lost = %d, want 0", n)
	}
	wantFinding(t, section(t, rep, "transactions"), "aborted_read: read_committed: sequence ", "of aborted transaction chronik-e2e-")
}

// TestTxnEndMoves: a second client writes a record to partition 2 when
// the scenario lists the end offsets again after its reads, after every
// transaction ended: the high watermark moved while the topic was read.
func TestTxnEndMoves(t *testing.T) {
	t.Parallel()
	c := startEmbedded(t, 3)
	kc := c.Kfake()
	var mu sync.Mutex
	latest := 0
	kc.ControlKey(int16(kmsg.ListOffsets), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
		kc.KeepControl()
		for _, rt := range kreq.(*kmsg.ListOffsetsRequest).Topics {
			for _, rp := range rt.Partitions {
				if !isTxnTopic(rt.Topic) || rp.Partition != 2 || rp.Timestamp != -1 {
					continue
				}
				mu.Lock()
				latest++
				second := latest == 2 // the first lists the ends to read to; the second comes after the reads
				mu.Unlock()
				if !second {
					continue
				}
				topic := rt.Topic
				kc.SleepControl(func() {
					ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
					defer cancel()
					cl, err := kgo.NewClient(kgo.SeedBrokers(c.Bootstrap()...), kgo.MaxVersions(kversion.V3_6_0()), kgo.RecordPartitioner(kgo.ManualPartitioner()))
					if err != nil {
						t.Errorf("second client: %v", err)
						return
					}
					defer cl.Close()
					if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Partition: 2, Value: []byte("late")}).FirstErr(); err != nil {
						t.Errorf("write the late record: %v", err)
					}
				})
			}
		}
		return nil, nil, false
	})
	rep := run(t, txnProfile(t, false, nil), c)
	verdicts(t, rep, map[string]bool{"transactions": false})
	if n := anomaly(rep, verify.AnomalyEndMoved); n != 1 {
		t.Errorf("end_moved = %d, want 1", n)
	}
	wantFinding(t, section(t, rep, "transactions"), "end_moved: partition 2: the high watermark moved from ", "after every transaction had ended")
}

// TestExactlyOnce: consume-transform-produce on a healthy embedded cluster,
// one processor killed mid-transaction and another joining in its slot:
// every input record is in the output once, in order, and the group's
// offsets are at the input's ends; inARow runs in a row.
func TestExactlyOnce(t *testing.T) {
	t.Parallel()
	c := startEmbedded(t, 3)
	for i := range inARow {
		rep := run(t, eosProfile(t, "exactly-once"), c)
		verdicts(t, rep, map[string]bool{"exactly-once": true})
		tx := txnOf(t, rep)
		if tx.Records != 240 || tx.Committed == 0 || len(tx.Anomalies) != 0 {
			t.Errorf("run %d: records %d, committed %d, anomalies %+v", i, tx.Records, tx.Committed, tx.Anomalies)
		}
		var out int64
		for _, p := range tx.Partitions {
			out += p.Committed
		}
		if out != 240 {
			t.Errorf("run %d: %d output records read_committed, want 240", i, out)
		}
	}
}

// TestExactlyOnceFailedAbort: a processor's commit fails (EndTxn answers
// UNKNOWN_PRODUCER_ID) and so does its abort: sarama's producer is left in
// an abortable error from which it can begin no transaction, as when the
// coordinator is killed and not back within sarama's retries. The processor
// replaces its producer (a new one with its transactional id ends the open
// transaction) and goes on: every input record in the output once, the
// transaction ended unknown, the replacement noted. Before, every BeginTxn
// failed and the processor and its partitions stalled until the deadline.
func TestExactlyOnceFailedAbort(t *testing.T) {
	t.Parallel()
	c := startEmbedded(t, 3)
	kc := c.Kfake()
	var (
		mu     sync.Mutex
		victim string // the transactional id whose commit failed
		failed int    // EndTxn requests answered with the error
	)
	kc.ControlKey(int16(kmsg.EndTxn), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
		req := kreq.(*kmsg.EndTxnRequest)
		mu.Lock()
		defer mu.Unlock()
		switch {
		case failed == 0 && req.Commit && strings.Contains(req.TransactionalID, "-eos-"):
			victim = req.TransactionalID
		case failed == 1 && !req.Commit && req.TransactionalID == victim:
		default:
			return nil, nil, false // the cluster answers; the control stays
		}
		failed++
		if failed < 2 {
			kc.KeepControl()
		}
		resp := req.ResponseKind().(*kmsg.EndTxnResponse)
		resp.ErrorCode = kerr.UnknownProducerID.Code
		return resp, nil, true
	})
	rep := run(t, eosProfile(t, "exactly-once"), c)
	mu.Lock()
	if failed != 2 {
		t.Errorf("%d EndTxn requests of %q answered with the error, want its commit and its abort", failed, victim)
	}
	mu.Unlock()
	verdicts(t, rep, map[string]bool{"exactly-once": true})
	tx := txnOf(t, rep)
	if tx.Records != 240 || len(tx.Anomalies) != 0 {
		t.Errorf("records %d, anomalies %+v", tx.Records, tx.Anomalies)
	}
	if n := len(notesWith(section(t, rep, "exactly-once"), "processor producer(s) replaced", "a commit and an abort that both failed")); n != 1 {
		t.Errorf("%d notes on a replaced producer, want 1: %q", n, section(t, rep, "exactly-once").Notes)
	}
}

// TestExactlyOnceReordered: read_committed answers of output partition 1
// swap two committed batches of the same size (once): the output holds the
// input's records out of order. (When the swapped-back batch comes in a
// later, untampered answer, the read also misses a record: lost is not
// checked here.)
func TestExactlyOnceReordered(t *testing.T) {
	t.Parallel()
	c := startEmbedded(t, 3)
	var mu sync.Mutex
	swapped := false
	tamperFetchWith(t, c, fetchTamper{iso: 1, as: 1, topic: func(s string) bool { return strings.HasSuffix(s, "-eos-out") },
		edit: func(sp *kmsg.FetchResponseTopicPartition) {
			mu.Lock()
			defer mu.Unlock()
			if sp.Partition != 1 || swapped {
				return
			}
			bs := splitBatches(sp.RecordBatches)
			for i := range bs {
				for j := i + 1; j < len(bs); j++ {
					if committedData(bs, i) && committedData(bs, j) && bs[i].lastDelta() == bs[j].lastDelta() {
						a, b := bs[i], bs[j]
						ao, bo := a.firstOffset(), b.firstOffset()
						a.setFirstOffset(bo)
						b.setFirstOffset(ao)
						bs[i], bs[j] = b, a
						sp.RecordBatches = joinBatches(bs)
						swapped = true
						return
					}
				}
			}
		}})
	p := txnProfile(t, false, func(p *profile.Profile) {
		p.Scenarios = []string{"exactly-once"}
		p.Faults.SessionTimeout.Duration = 2 * time.Second
		p.Transactions.Count = 40
	})
	rep := run(t, p, c)
	verdicts(t, rep, map[string]bool{"exactly-once": false})
	if !swapped {
		t.Fatal("no two output batches were swapped")
	}
	if n := anomaly(rep, verify.AnomalyReordered); n < 1 {
		t.Errorf("reordered = %d, want at least 1", n)
	}
	if n := anomaly(rep, verify.AnomalyDuplicate); n != 0 {
		t.Errorf("duplicate = %d, want 0", n)
	}
	wantFinding(t, section(t, rep, "exactly-once"), "reordered: output partition 1: sequence ", " after sequence ")
}

// eosProfile is txnProfile running scenario, exactly-once or its failover.
func eosProfile(t *testing.T, scenario string) *profile.Profile {
	t.Helper()
	return txnProfile(t, false, func(p *profile.Profile) {
		p.Scenarios = []string{scenario}
		p.Faults.SessionTimeout.Duration = 2 * time.Second
		p.Faults.Settle.Duration = 0
		p.Transactions.Count = 40
	})
}

// TestExactlyOnceFailover: the partition leader and the transaction
// coordinator killed mid-transaction under consume-transform-produce on a
// healthy embedded cluster: every input record in the output once, in
// order, both kills and starts on the report; inARow runs in a row.
func TestExactlyOnceFailover(t *testing.T) {
	t.Parallel()
	c, err := cluster.StartEmbeddedDurable(3)
	if err != nil {
		t.Fatalf("start embedded cluster: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	for i := range inARow {
		rep := run(t, eosProfile(t, "exactly-once-failover"), c)
		verdicts(t, rep, map[string]bool{"exactly-once-failover": true})
		tx := txnOf(t, rep)
		if strings.Count(tx.Faults, "kill node ") != 2 || strings.Count(tx.Faults, "start node ") != 2 {
			t.Errorf("run %d: faults %q, want two kills and two starts", i, tx.Faults)
		}
		if tx.Records != 240 || len(tx.Anomalies) != 0 {
			t.Errorf("run %d: records %d, anomalies %+v", i, tx.Records, tx.Anomalies)
		}
		if n := len(notesWith(section(t, rep, "exactly-once-failover"), "its records written, node ", " killed before it committed")); n != 2 {
			t.Errorf("run %d: %d notes name a killed node, want 2", i, n)
		}
	}
}

// TestExactlyOnceFailoverAbortedRead: under the failover's kills and
// restarts, read_committed answers of the output leave out the aborted
// transactions they cover (installed again on the cluster a restart puts
// in place), so the transaction of the killed processor, which its
// replacement's fencing aborted, is visible: an aborted read, named with
// the transaction and the output offset, and its input records twice.
func TestExactlyOnceFailoverAbortedRead(t *testing.T) {
	t.Parallel()
	c, err := cluster.StartEmbeddedDurable(3)
	if err != nil {
		t.Fatalf("start embedded cluster: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	tamperFetchWith(t, c, fetchTamper{iso: 1, as: 1, topic: func(s string) bool { return strings.HasSuffix(s, "-eos-failover-out") },
		edit: func(sp *kmsg.FetchResponseTopicPartition) { sp.AbortedTransactions = nil }})
	rep := run(t, eosProfile(t, "exactly-once-failover"), c)
	verdicts(t, rep, map[string]bool{"exactly-once-failover": false})
	tx := txnOf(t, rep)
	if strings.Count(tx.Faults, "kill node ") != 2 {
		t.Errorf("faults %q, want two kills", tx.Faults)
	}
	if n := anomaly(rep, verify.AnomalyAbortedRead); n < 1 {
		t.Errorf("aborted_read = %d, want at least 1", n)
	}
	if n := anomaly(rep, verify.AnomalyDuplicate); n < 1 {
		t.Errorf("duplicate = %d, want at least 1 (the aborted copy and the committed one)", n)
	}
	wantFinding(t, section(t, rep, "exactly-once-failover"), "aborted_read: read_committed: output partition ", ": input sequence ", " of aborted transaction chronik-e2e-", "-eos-failover-")
}
