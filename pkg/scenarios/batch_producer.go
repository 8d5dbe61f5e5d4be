package scenarios

// The batch engine (workload.engine: batch): a producer that does per record
// batch what sarama's AsyncProducer does per message. It stays on sarama,
// one level down: per partition it writes the payloads straight into a
// reusable window of records, hands each leader a ProduceRequest of v2
// record batches (the client's compression) through Broker.AsyncProduce,
// pipelined up to Net.MaxOpenRequests requests per broker, and records each
// answer in the ledger through the same verify.Answers as the sarama engine:
// acknowledged at the batch's base offset plus the record's place, failed
// by the error Kafka named (the whole batch), or failed as offset -1.
//
// Sending allocates per request, never per message: no channel send, no
// goroutine, no allocation. sarama encodes a request before AsyncProduce
// returns, so a partition's window is reused at once; the answer needs only
// the batch's sequence numbers and due times, whose slices change hands
// with the batch.
//
// Leader changes follow the rule of the sarama engine without retries: a
// batch answered NOT_LEADER_OR_FOLLOWER (or any error that says the leader
// moved, or a broken connection) is failed and named, and the partition's
// leader is looked up again, from fresh metadata, before its next batch. A
// partition without a leader fails the batch waiting for it with the
// lookup's error. Nothing is retried: idempotent and retrying producers use
// the sarama engine.
//
// A leader whose answer asks for a throttle (throttle_time_ms) gets no
// request until it has passed: sarama's broker would otherwise hold the
// sender inside AsyncProduce for that long, beyond any deadline.
//
// A batch is sent when its leader has room for another request and either
// the batch is full or the leader has nothing in flight (with a rate: before
// the sender sleeps), so that batches grow while the cluster is busy and
// stay small while it is idle. A sender stopped with records not yet sent
// keeps them, unsent in the ledger, and sends them first when resumed.

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"

	"github.com/chronik-e2e/chronik-e2e/pkg/workload"
)

// Bounds of one partition's record batch: batchBytes of values, shared out
// of inFlightBytes between the partitions, and at most maxBatchRecords. A
// partition's window starts at firstBatchRecords and doubles, up to the
// bound, each time its batch is full while its leader has no room: batches
// grow only while the cluster is busy, and a short run allocates little.
const (
	maxBatchBytes     = 512 << 10
	minBatchBytes     = 16 << 10
	maxBatchRecords   = 8192
	firstBatchRecords = 64
)

// maxWindowBytes bounds what the batch engine's record windows may take
// (every partition of every producer holds at least one record, of at least
// minBatchBytes, or value_bytes): beyond it the sarama engine sends, whose
// messages in flight share inFlightBytes.
const maxWindowBytes = 64 << 20

// batchBytes is the bound of one partition's window of values: its share of
// inFlightBytes, within minBatchBytes..maxBatchBytes.
func batchBytes(partitions, producers int) int {
	return min(maxBatchBytes, max(minBatchBytes, inFlightBytes/partitions/producers))
}

// windowBytes is what the batch engine's windows take at most.
func windowBytes(partitions, producers, valueBytes int) int64 {
	return int64(partitions) * int64(producers) * int64(max(batchBytes(partitions, producers), valueBytes))
}

// How often at most the batch engine asks for metadata: every refreshEvery
// while a partition's leader is unknown (and at most a fifth of the time:
// sarama retries a refresh that finds a partition without a leader, holding
// the sender), every refreshMin when an answer
// says a leader moved or a connection broke (so that a dead leader's refused
// connections do not turn every batch into a metadata request).
const (
	refreshEvery = 50 * time.Millisecond
	refreshMin   = 10 * time.Millisecond
)

// pumpEvery is how many messages at least the sender adds between looks for
// a leader with room for a request (at least one per partition: a look
// goes through every partition).
const pumpEvery = 64

// clockEvery is how many messages, without a rate, share one reading of the
// clock as their send time: a reading costs more than building the message,
// and 16 messages take well under a microsecond to add.
const clockEvery = 16

// batcher is the batch engine's side of one producer.
type batcher struct {
	topic   string
	acks    sarama.RequiredAcks
	timeout int32 // ms
	version int16
	codec   sarama.CompressionCodec
	level   int
	keyPart []int32 // the partition of each key index, as the client's partitioner says
	// perBroker bounds the requests in flight to one broker.
	perBroker int32
	// maxRecords bounds a partition's window, of valueBytes values.
	maxRecords, valueBytes int

	// The sender's own.
	parts       []partBatch
	brokers     []*brokerLane
	lastRefresh time.Time
	refreshTook time.Duration // how long the last refresh held the sender
	leaderless  bool          // the last lookup found a partition without a leader
	throttled   time.Time     // the earliest end of a throttle that holds back a waiting batch (zero: none)

	// Shared with the answer callbacks, which run on sarama's goroutines
	// that read each broker's responses.
	mu       sync.Mutex // guards answers, rec, reported, free, judged
	judged   bool       // the messages in flight were failed unanswered, or the engine closed: later answers are not recorded
	rec      *workload.Recorder
	progress Progress
	reported int64
	free     []*sentBatch
	requests atomic.Int64  // requests in flight
	ready    chan struct{} // holds a token once a request was answered
	stale    []atomic.Bool // per partition: look its leader up before its next batch
	anyStale atomic.Bool
	brokenMu sync.Mutex
	broken   []*sarama.Broker // connections that failed: closed before they are used again
}

// partBatch is one partition's records waiting to be sent.
type partBatch struct {
	recs      []sarama.Record
	ptrs      []*sarama.Record // &recs[i], for sarama.RecordBatch
	values    []byte           // the window: record i's value is values[i*valueBytes:]
	seqs      []int
	dues      []time.Duration
	leader    *brokerLane
	leaderErr error // why there is no leader
}

// brokerLane is one leader and the requests the producer has in flight to it.
type brokerLane struct {
	b        *sarama.Broker
	parts    []int32 // the partitions it leads
	inFlight atomic.Int32
	// throttledUntil is when the throttle the leader last asked for ends
	// (Unix nanoseconds).
	throttledUntil atomic.Int64
}

// sentBatch is one record batch in flight.
type sentBatch struct {
	partition int32
	seqs      []int
	dues      []time.Duration
}

// newBatcher returns the batch side of a producer sending with cfg what o says.
func newBatcher(cfg *sarama.Config, o engineOptions, keyPart []int32, partitions int) *batcher {
	bt := &batcher{
		topic: o.topic, acks: cfg.Producer.RequiredAcks, timeout: int32(cfg.Producer.Timeout / time.Millisecond),
		version: produceVersion(cfg.Version), codec: cfg.Producer.Compression, level: cfg.Producer.CompressionLevel,
		keyPart: keyPart, perBroker: int32(max(1, cfg.Net.MaxOpenRequests)),
		parts: make([]partBatch, partitions), ready: make(chan struct{}, 1), stale: make([]atomic.Bool, partitions),
		progress: o.progress,
	}
	if bt.progress == nil {
		bt.progress = noProgress{}
	}
	bt.maxRecords, bt.valueBytes = min(maxBatchRecords, max(1, batchBytes(partitions, o.producers)/o.valueBytes)), o.valueBytes
	for i := range bt.parts {
		bt.grow(&bt.parts[i], min(firstBatchRecords, bt.maxRecords))
		bt.stale[i].Store(true)
	}
	bt.anyStale.Store(true)
	return bt
}

// grow gives pb a window of n records, keeping the records waiting in it.
func (bt *batcher) grow(pb *partBatch, n int) {
	vb := bt.valueBytes
	recs, ptrs, values := make([]sarama.Record, n), make([]*sarama.Record, n), make([]byte, n*vb)
	copy(values, pb.values[:len(pb.seqs)*vb])
	for j := range recs {
		if j < len(pb.seqs) {
			recs[j].Key = pb.recs[j].Key
		}
		recs[j].OffsetDelta = int64(j)
		recs[j].Value = values[j*vb : (j+1)*vb : (j+1)*vb]
		ptrs[j] = &recs[j]
	}
	pb.recs, pb.ptrs, pb.values = recs, ptrs, values
}

// produceVersion is the Produce request version sarama's own producer
// speaks for protocol v (at least 3: record batches).
func produceVersion(v sarama.KafkaVersion) int16 {
	for _, c := range []struct {
		v       sarama.KafkaVersion
		version int16
	}{{sarama.V3_7_0_0, 10}, {sarama.V2_8_0_0, 9}, {sarama.V2_4_0_0, 8}, {sarama.V2_1_0_0, 7}, {sarama.V2_0_0_0, 6}, {sarama.V1_0_0_0, 5}} {
		if v.IsAtLeast(c.v) {
			return c.version
		}
	}
	return 3
}

// startBatches readies p's batch side once the engine has started.
func (e *engine) startBatches(p *producer) {
	if e.o.latency != nil {
		p.batch.rec = e.o.latency.Recorder()
	}
}

// sendBatches adds p's messages to their partitions' batches and sends the
// batches, each message at its scheduled time when there is a rate, until
// the ledger's messages are all sent or ctx ends.
func (e *engine) sendBatches(ctx context.Context, p *producer) {
	o, bt := &e.o, p.batch
	var timer *time.Timer
	if o.rate > 0 {
		timer = time.NewTimer(time.Hour)
		defer timer.Stop()
	}
	sched := e.newSchedule(p)
	e.pump(p, true) // what a stopped sender kept
	added, every := 0, max(pumpEvery, len(bt.parts))
	var now time.Duration // without a rate: the send time, read every clockEvery messages and after a wait
	for {
		seq, k, more := p.cursor(o)
		if !more {
			break
		}
		var due time.Duration
		if o.rate > 0 {
			var wait time.Duration
			if due, wait = sched.due(seq); wait > 0 {
				e.pump(p, true) // send what waits before sleeping
				timer.Reset(wait)
				if !e.sleep(ctx, p, timer) {
					return
				}
			}
		}
		part := bt.keyPart[k]
		pb := &bt.parts[part]
		for len(pb.seqs) == len(pb.recs) { // full: it goes first, or it grows
			e.pump(p, false)
			if len(pb.seqs) < len(pb.recs) {
				break
			}
			if n := len(pb.recs); n < bt.maxRecords {
				bt.grow(pb, min(2*n, bt.maxRecords))
				break
			}
			if !e.await(ctx, p) {
				return
			}
			added = 0
		}
		if o.rate == 0 {
			if added%clockEvery == 0 {
				now = time.Since(e.start)
			}
			due = now
		}
		i := len(pb.seqs)
		r := &pb.recs[i]
		r.Key = o.keys[k]
		e.encode(r.Value, seq, k, due)
		pb.seqs, pb.dues = append(pb.seqs, seq), append(pb.dues, due)
		p.advance(o)
		if added++; added%every == 0 || i+1 == len(pb.recs) {
			e.pump(p, false)
		}
	}
	// Every message is in a batch: send the rest.
	for e.pump(p, true) {
		if !e.await(ctx, p) {
			return
		}
	}
	e.full.Store(true)
}

// await waits until an answer makes room for a request or a throttle that
// holds a batch back ends; false when ctx ended first.
func (e *engine) await(ctx context.Context, p *producer) bool {
	var end <-chan time.Time
	if t := p.batch.throttled; !t.IsZero() {
		timer := time.NewTimer(time.Until(t))
		defer timer.Stop()
		end = timer.C
	}
	select {
	case <-p.batch.ready:
	case <-end:
	case <-ctx.Done():
		return false
	}
	return true
}

// sleep waits for timer, sending what waits whenever an answer makes room;
// false when ctx ended first.
func (e *engine) sleep(ctx context.Context, p *producer, timer *time.Timer) bool {
	for {
		select {
		case <-timer.C:
			return true
		case <-p.batch.ready:
			e.pump(p, true)
		case <-ctx.Done():
			return false
		}
	}
}

// pump sends a request to every leader that has room for one and a batch
// worth sending: a full one, any when the leader has nothing in flight, or
// with all any at all. A partition without a leader fails its batch. It
// reports whether records still wait.
func (e *engine) pump(p *producer, all bool) (waiting bool) {
	bt := p.batch
	e.lookUpLeaders(p)
	for part := range bt.parts {
		if pb := &bt.parts[part]; bt.leaderless && pb.leader == nil && len(pb.seqs) > 0 {
			e.failWaiting(p, int32(part), pb.leaderErr)
		}
	}
	bt.throttled = time.Time{}
	now := time.Now().UnixNano()
	for _, l := range bt.brokers {
		n := l.inFlight.Load()
		send, some := all || n == 0, false
		for _, part := range l.parts {
			if c := len(bt.parts[part].seqs); c > 0 {
				some = true
				send = send || c == len(bt.parts[part].recs)
			}
		}
		until := l.throttledUntil.Load()
		switch {
		case !some:
		case until > now:
			waiting = true
			if t := time.Unix(0, until); bt.throttled.IsZero() || t.Before(bt.throttled) {
				bt.throttled = t
			}
		case n >= bt.perBroker || !send:
			waiting = true
		default:
			e.sendRequest(p, l)
		}
	}
	return waiting
}

// lookUpLeaders opens again the connections that failed and looks up the leaders
// of the partitions marked stale and of those without one, from fresh
// metadata (see refreshEvery and refreshMin).
func (e *engine) lookUpLeaders(p *producer) {
	bt := p.batch
	bt.brokenMu.Lock()
	broken := bt.broken
	bt.broken = nil
	bt.brokenMu.Unlock()
	for _, b := range broken {
		// Closing fails the requests still in flight on the connection,
		// whose answers mark it broken again: they must not close the
		// next one, with its own requests in flight. Then a new
		// connection at once, as sarama's own lookup would open it: a
		// closed one fails every batch sent to it, unsent, until the next
		// lookup.
		_ = b.Close()
		bt.brokenMu.Lock()
		bt.broken = slices.DeleteFunc(bt.broken, func(x *sarama.Broker) bool { return x == b })
		bt.brokenMu.Unlock()
		_ = b.Open(p.client.Config())
	}
	if !bt.anyStale.Load() && !bt.leaderless {
		return
	}
	since := time.Since(bt.lastRefresh)
	if since < refreshMin || !bt.anyStale.Load() && since < max(refreshEvery, 4*bt.refreshTook) {
		return
	}
	bt.anyStale.Store(false)
	bt.lastRefresh, bt.leaderless = time.Now(), false
	_ = p.client.RefreshMetadata(bt.topic) // a failure shows in the lookups below
	// Only partitions with a leader are looked up: sarama's Leader refreshes
	// the metadata again, with its retries, for each partition without one.
	writable := map[int32]bool{}
	if ids, err := p.client.WritablePartitions(bt.topic); err == nil {
		for _, id := range ids {
			writable[id] = true
		}
	}
	lanes := map[*sarama.Broker]*brokerLane{}
	for _, l := range bt.brokers {
		l.parts = l.parts[:0]
		lanes[l.b] = l
	}
	for part := range bt.parts {
		pb := &bt.parts[part]
		if bt.stale[part].Swap(false) || pb.leader == nil {
			b, err := (*sarama.Broker)(nil), error(sarama.ErrLeaderNotAvailable)
			if writable[int32(part)] {
				b, err = p.client.Leader(bt.topic, int32(part))
			}
			pb.leader, pb.leaderErr = nil, err
			if err == nil {
				if lanes[b] == nil {
					lanes[b] = &brokerLane{b: b}
					bt.brokers = append(bt.brokers, lanes[b])
				}
				pb.leader = lanes[b]
			} else {
				bt.leaderless = true // look again after refreshEvery
			}
		}
		if pb.leader != nil {
			pb.leader.parts = append(pb.leader.parts, int32(part))
		}
	}
	bt.refreshTook = time.Since(bt.lastRefresh)
}

// sendRequest sends l's waiting batches in one request.
func (e *engine) sendRequest(p *producer, l *brokerLane) {
	bt := p.batch
	req := &sarama.ProduceRequest{RequiredAcks: bt.acks, Timeout: bt.timeout, Version: bt.version}
	sent := make([]*sentBatch, 0, len(l.parts))
	now := time.Now()
	count := 0
	bt.mu.Lock()
	if bt.judged { // drain gave up while the sender was held up: nothing more is sent
		bt.mu.Unlock()
		return
	}
	for _, part := range l.parts {
		pb := &bt.parts[part]
		n := len(pb.seqs)
		if n == 0 {
			continue
		}
		req.AddBatch(bt.topic, part, &sarama.RecordBatch{
			Version: 2, Codec: bt.codec, CompressionLevel: bt.level,
			FirstTimestamp: now, MaxTimestamp: now, LastOffsetDelta: int32(n - 1),
			ProducerID: -1, ProducerEpoch: -1, FirstSequence: -1,
			Records: pb.ptrs[:n],
		})
		for _, seq := range pb.seqs {
			e.o.ledger.Sent(seq)
		}
		sent = append(sent, bt.handOver(part, pb))
		count += n
	}
	bt.mu.Unlock()
	p.sent.Add(int64(count))
	l.inFlight.Add(1)
	bt.requests.Add(1)
	if bt.acks == sarama.NoResponse {
		e.answerRequest(p, l, sent, nil, l.b.AsyncProduce(req, nil))
		return
	}
	if err := l.b.AsyncProduce(req, func(res *sarama.ProduceResponse, err error) { e.answerRequest(p, l, sent, res, err) }); err != nil {
		e.answerRequest(p, l, sent, nil, err)
	}
}

// handOver moves pb's waiting records' sequence numbers and due times to a
// batch in flight, leaving pb empty. bt.mu must be held.
func (bt *batcher) handOver(part int32, pb *partBatch) *sentBatch {
	var sb *sentBatch
	if n := len(bt.free); n > 0 {
		sb, bt.free = bt.free[n-1], bt.free[:n-1]
	} else {
		sb = &sentBatch{seqs: make([]int, 0, cap(pb.seqs)), dues: make([]time.Duration, 0, cap(pb.dues))}
	}
	sb.partition = part
	sb.seqs, pb.seqs = pb.seqs, sb.seqs[:0]
	sb.dues, pb.dues = pb.dues, sb.dues[:0]
	return sb
}

// failWaiting fails the records waiting for partition part, which has no
// leader (err says why).
func (e *engine) failWaiting(p *producer, part int32, err error) {
	bt := p.batch
	if err == nil {
		err = sarama.ErrLeaderNotAvailable
	}
	pb := &bt.parts[part]
	bt.mu.Lock()
	if bt.judged { // see sendRequest
		bt.mu.Unlock()
		return
	}
	for _, seq := range pb.seqs {
		e.o.ledger.Sent(seq)
	}
	p.sent.Add(int64(len(pb.seqs)))
	sb := bt.handOver(part, pb)
	bt.mu.Unlock()
	bt.requests.Add(1)
	e.answerRequest(p, nil, []*sentBatch{sb}, nil, err)
}

// stopRecording makes p record no answer from now on: its messages still
// in flight are about to be failed for want of one.
func (bt *batcher) stopRecording() {
	bt.mu.Lock()
	bt.judged = true
	bt.mu.Unlock()
}

// answerRequest records the answer to one request to l (nil: none was
// sent): res, or err for all its batches. With acks=0 both are nil.
func (e *engine) answerRequest(p *producer, l *brokerLane, sent []*sentBatch, res *sarama.ProduceResponse, err error) {
	bt := p.batch
	now := time.Since(e.start)
	if res != nil && res.ThrottleTime > 0 && l != nil {
		// sarama's broker holds its next request until then.
		until := time.Now().Add(res.ThrottleTime).UnixNano()
		for old := l.throttledUntil.Load(); until > old && !l.throttledUntil.CompareAndSwap(old, until); old = l.throttledUntil.Load() {
		}
	}
	if err != nil && l != nil { // the connection is no good: sarama's broker answers nothing more
		bt.brokenMu.Lock()
		bt.broken = append(bt.broken, l.b)
		bt.brokenMu.Unlock()
	}
	n := 0
	bt.mu.Lock()
	if bt.judged {
		// The messages in flight failed for want of an answer (see
		// drain), and the scenarios after this one read the ledger: a
		// late answer must not change it under them.
		sent = nil
	}
	for _, sb := range sent {
		berr, base := err, int64(-1)
		if err == nil && bt.acks != sarama.NoResponse {
			switch block := res.GetBlock(bt.topic, sb.partition); {
			case block == nil:
				berr = sarama.ErrIncompleteResponse
			case block.Err != sarama.ErrNoError:
				berr = block.Err
			default:
				base = block.Offset
			}
		}
		if berr != nil && l != nil { // (a partition failed for want of a leader is looked up anyway: see refreshEvery)
			bt.stale[sb.partition].Store(true)
			bt.anyStale.Store(true)
		}
		p.answers.Batch(sb.partition)
		for i, seq := range sb.seqs {
			var acked bool
			var reason string
			if berr != nil {
				reason = p.answers.Failure(seq, sb.partition, berr)
			} else {
				acked, reason = p.answers.Success(seq, sb.partition, base+int64(i))
			}
			if bt.rec != nil {
				bt.rec.Record(now - sb.dues[i])
			}
			e.tally(p, seq, sb.partition, acked, reason, now)
		}
		n += len(sb.seqs)
		bt.free = append(bt.free, sb)
	}
	if n > 0 {
		p.last.Store(int64(now))
	}
	answered := p.answered.Add(int64(n))
	if answered-bt.reported >= progressEvery {
		bt.progress.Add(int(answered - bt.reported))
		bt.reported = answered
	}
	bt.mu.Unlock()
	if l != nil {
		l.inFlight.Add(-1)
	}
	bt.requests.Add(-1)
	select {
	case bt.ready <- struct{}{}:
	default:
	}
	if answered >= p.sent.Load() {
		select {
		case p.idle <- struct{}{}:
		default:
		}
	}
}

// closeBatches closes p's client once its requests in flight are answered
// (bounded: a broker that answers nothing holds nobody), which answers the
// rest with errors; then p's answers are all recorded.
func (e *engine) closeBatches(ctx context.Context, p *producer) {
	bt := p.batch
	waitRequests := func(d time.Duration) {
		limit := time.Now().Add(d)
		for bt.requests.Load() > 0 && time.Now().Before(limit) && ctx.Err() == nil {
			select {
			case <-bt.ready:
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
	waitRequests(5 * time.Second)
	closeWithin(ctx, 5*time.Second, func() { _ = p.client.Close() })
	waitRequests(time.Second)
	bt.mu.Lock()
	bt.judged = true
	if bt.rec != nil {
		bt.rec.Flush()
	}
	bt.progress.Add(int(p.answered.Load() - bt.reported))
	bt.reported = p.answered.Load()
	bt.mu.Unlock()
	close(p.collected)
}
