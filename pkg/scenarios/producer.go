package scenarios

// The one producer engine of every scenario that writes messages: the produce
// scenario (a fixed count, as fast as the cluster takes them or at
// workload.rate) and the fault scenarios' continuous streams (faults.rate,
// until stopped, with stop, resume and drain). It sends keyed, self-verifying
// messages through workload.producers producers (each sending its own keys,
// so every key keeps one producer's order) and records every answer through
// verify.Answers. A producer sends in one of two ways (workload.engine):
// batch (batch_producer.go: record batches on sarama's protocol layer, the
// default) or sarama (a pipelined sarama AsyncProducer, below; always for
// idempotent and retrying producers, whose retries are sarama's).
//
// The sarama engine's hot path allocates nothing per message: each producer
// has a fixed window of messages and value buffers, reused as sarama hands
// each message back with its answer, which also bounds the messages in
// flight. A sender and a collector goroutine per producer share the free
// messages as a stack, so that the message answered last, still in the
// CPU's cache, is sent next.

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"

	"github.com/chronik-e2e/chronik-e2e/pkg/kafka"
	"github.com/chronik-e2e/chronik-e2e/pkg/profile"
	"github.com/chronik-e2e/chronik-e2e/pkg/safe"
	"github.com/chronik-e2e/chronik-e2e/pkg/verify"
	"github.com/chronik-e2e/chronik-e2e/pkg/workload"
)

// Bounds of the messages one producer has in flight. The runner's own
// window, not sarama's buffers, bounds them: enough to keep every broker's
// pipeline full (4,096 messages are 400 kmsg/s at 10 ms per round trip; more
// producers raise it), few enough that the messages cycling stay in the CPU's
// caches, which a window of 16,384 measurably does not, and that large values
// stay within inFlightBytes.
const (
	maxInFlight   = 4096
	minInFlight   = 16
	inFlightBytes = 16 << 20
)

// progressEvery is how many answers a producer counts before it moves the progress bar.
const progressEvery = 1024

// takeBatch is how many free messages a sender takes at once.
const takeBatch = 64

// Engines, the values of workload.engine.
const (
	engineBatch  = profile.EngineBatch
	engineSarama = profile.EngineSarama
)

// engineOptions say what an engine sends and how.
type engineOptions struct {
	topic string
	mode  verify.Mode
	// engine is workload.engine: batch or sarama ("" is batch). Idempotent
	// and retrying producers use sarama whatever it says.
	engine string
	// compression is workload.compression: none, gzip, snappy, lz4 or zstd ("" is none).
	compression string
	producers   int
	rate        int  // messages per second over all producers; 0: as fast as the cluster takes them
	noBurst     bool // a sender more than 100 ms behind its schedule restarts it rather than catch up in a burst
	valueBytes  int
	runID       uint64
	keys        [][]byte
	ledger      *verify.Ledger // its length bounds the messages sent
	// seqBase and keyBase offset the payloads' sequence numbers and key
	// indexes (a shard's ranges, verify.Shard.Own); the ledger, keys and
	// onAnswer count from 0 all the same. Every engine must honour them.
	seqBase, keyBase int
	// latency, when set, receives every answer's latency (from the scheduled send).
	latency *workload.SharedLatency
	// onAnswer, when set, is told every answer, from the producer's collector goroutine.
	onAnswer func(seq int, partition int32, acked bool, reason string, at time.Time)
	progress Progress
	// leaderOf names a partition's leader in a failure's description.
	leaderOf func(p int32) int32
}

// engine is the running producers of one scenario.
type engine struct {
	o   engineOptions
	env *Env
	// kind is the engine that runs (engineBatch or engineSarama), and why
	// when it is not the one workload.engine asked for.
	kind, why string
	prods     []*producer
	keyEnc    []sarama.Encoder // keys, each boxed once rather than once per message
	start     time.Time
	stamp     workload.Stamp // of start
	sending   sync.WaitGroup
	stop      context.CancelFunc
	full      atomic.Bool // a sender stopped because the ledger is full
	closed    sync.Once
}

// producer is one of the engine's producers: it sends the keys k with
// k % producers == idx.
type producer struct {
	idx     int
	client  sarama.Client        // the producer's own; closed after it
	ap      sarama.AsyncProducer // the sarama engine's
	batch   *batcher             // the batch engine's
	answers *verify.Answers
	base, k int // the sender's cursor: next sequence is base+k

	// The sarama engine's messages not in flight: a stack.
	mu    sync.Mutex
	free  []*slot
	freed chan struct{} // holds a token once free got a message while empty

	sent, answered atomic.Int64
	// The sarama engine's collector records answers under recording; once
	// judged (drain failed the messages in flight for want of an answer),
	// it records none.
	recording sync.Mutex
	judged    bool
	idle      chan struct{} // gets a token when answered catches up with sent
	collected chan struct{} // closed when the producer's answer channels are drained

	// Written by the collector, read by stats at any time: atomics on the
	// path of every answer, a mutex on the path of failures only.
	last         atomic.Int64   // when the last answer came, since the start
	perPartition []atomic.Int64 // acknowledged (acks=0: sent) per partition
	statsMu      sync.Mutex
	failedBy     map[string]int64
	failures     verify.Examples
}

// slot is one reusable message: sarama returns it with its answer.
type slot struct {
	msg   sarama.ProducerMessage
	value []byte
	enc   sarama.Encoder // value, boxed once
	seq   int
	due   time.Duration // when it was sent (with a rate: due to be), since the start
}

// freshSlot returns a new free message with a value of valueBytes.
func freshSlot(valueBytes int) *slot {
	s := &slot{value: make([]byte, valueBytes)}
	s.enc = sarama.ByteEncoder(s.value)
	return s
}

// startEngine connects the producers and starts sending.
func startEngine(ctx context.Context, env *Env, o engineOptions) (*engine, error) {
	cfg := env.Config()
	acks, err := kafka.RequiredAcks(o.mode.Acks)
	if err != nil {
		return nil, err
	}
	cfg.Producer.RequiredAcks = acks
	if o.compression != "" {
		if err := cfg.Producer.Compression.UnmarshalText([]byte(o.compression)); err != nil {
			return nil, fmt.Errorf("workload.compression: %w", err)
		}
	}
	cfg.Producer.Retry.Max = o.mode.Retries
	if o.mode.Retries == 0 {
		// Sarama waits the backoff after each failed leader lookup even
		// without retries: waiting would hold the next messages back.
		cfg.Producer.Retry.Backoff = 0
	} else {
		cfg.Producer.Retry.Backoff = retryBackoff
	}
	if o.mode.Idempotent {
		cfg.Producer.Idempotent = true
		cfg.Net.MaxOpenRequests = 1
	}
	e := &engine{o: o, env: env}
	e.kind, e.why = chooseEngine(o, cfg.Version, env.Profile.Topic.Partitions)
	e.keyEnc = make([]sarama.Encoder, len(o.keys))
	for i, k := range o.keys {
		e.keyEnc[i] = sarama.ByteEncoder(k)
	}
	window := min(maxInFlight, max(minInFlight, inFlightBytes/o.valueBytes/o.producers))
	partitions := env.Profile.Topic.Partitions
	var keyPart []int32
	if e.kind == engineBatch {
		keyPart = keyPartitions(cfg, o.topic, o.keys, partitions)
		if slices.Contains(keyPart, -1) {
			e.kind, e.why = engineSarama, "the partitioner did not place every key"
		}
	}
	for i := range o.producers {
		answers := verify.NewAnswers(o.ledger, o.mode.Acks)
		var p *producer
		if e.kind == engineBatch {
			client, _, err := startClient(ctx, env, o.topic, cfg, func(sarama.Client) (io.Closer, error) { return io.NopCloser(nil), nil })
			if err != nil {
				e.close()
				return nil, fmt.Errorf("start producer %d of %d (%s) against %v: %w", i+1, o.producers, o.mode, env.Cluster.Bootstrap(), err)
			}
			p = newProducer(i, client, nil, answers, 0, o.valueBytes, partitions)
			p.batch = newBatcher(cfg, o, keyPart, partitions)
		} else {
			client, ap, err := startClient(ctx, env, o.topic, cfg, sarama.NewAsyncProducerFromClient)
			if err != nil {
				e.close()
				return nil, fmt.Errorf("start producer %d of %d (%s) against %v: %w", i+1, o.producers, o.mode, env.Cluster.Bootstrap(), err)
			}
			p = newProducer(i, client, ap, answers, window, o.valueBytes, partitions)
		}
		e.prods = append(e.prods, p)
	}
	e.start = time.Now()
	e.stamp = workload.StampOf(e.start)
	for _, p := range e.prods {
		if p.ap != nil {
			env.Panics.Go(fmt.Sprintf("answer collector of producer %d (%s)", p.idx, o.mode), func() { e.collect(p) })
		} else {
			e.startBatches(p)
		}
	}
	e.resume()
	return e, nil
}

// chooseEngine returns the engine that sends for o, and why when it is not
// the one workload.engine asked for.
func chooseEngine(o engineOptions, v sarama.KafkaVersion, partitions int) (kind, why string) {
	switch {
	case o.engine == engineSarama:
		return engineSarama, ""
	case o.mode.Idempotent:
		return engineSarama, "idempotence is sarama's producer's"
	case o.mode.Retries > 0:
		return engineSarama, "retries are sarama's producer's"
	case !v.IsAtLeast(sarama.V0_11_0_0):
		return engineSarama, fmt.Sprintf("protocol %s has no record batches", v)
	case windowBytes(partitions, o.producers, o.valueBytes) > maxWindowBytes:
		return engineSarama, fmt.Sprintf("the batch engine's record windows would take %d MiB: %d partitions × %d producers × %d bytes",
			windowBytes(partitions, o.producers, o.valueBytes)>>20, partitions, o.producers, max(batchBytes(partitions, o.producers), o.valueBytes))
	}
	return engineBatch, ""
}

// Engine names the engine that sends, with why it is not workload.engine's
// choice when it is not: "batch", "sarama (idempotence is sarama's producer's)".
func (e *engine) Engine() string {
	if e.why != "" {
		return e.kind + " (" + e.why + ")"
	}
	return e.kind
}

func newProducer(idx int, client sarama.Client, ap sarama.AsyncProducer, answers *verify.Answers, window, valueBytes, partitions int) *producer {
	p := &producer{
		idx: idx, client: client, ap: ap, answers: answers, k: idx,
		freed: make(chan struct{}, 1), idle: make(chan struct{}, 1), collected: make(chan struct{}),
		perPartition: make([]atomic.Int64, partitions),
		failedBy:     map[string]int64{},
		failures:     verify.Examples{Kind: "not acknowledged"},
	}
	// Two allocations, side by side in memory, rather than two per message.
	if window == 0 {
		return p
	}
	slots, values := make([]slot, window), make([]byte, window*valueBytes)
	p.free = make([]*slot, window)
	for i := range slots {
		s := &slots[i]
		s.value = values[i*valueBytes : (i+1)*valueBytes : (i+1)*valueBytes]
		s.enc = sarama.ByteEncoder(s.value)
		p.free[i] = s
	}
	return p
}

// resume starts the senders, from where each stopped.
func (e *engine) resume() {
	ctx, cancel := context.WithCancel(context.Background())
	e.stop = cancel
	for _, p := range e.prods {
		e.sending.Add(1)
		e.env.Panics.Go(fmt.Sprintf("sender of producer %d (%s)", p.idx, e.o.mode), func() {
			defer e.sending.Done()
			if p.batch != nil {
				e.sendBatches(ctx, p)
				return
			}
			e.send(ctx, p)
		})
	}
}

// stopSending stops the senders and waits until they have stopped.
func (e *engine) stopSending() {
	if e.stop != nil {
		e.stop()
	}
	e.sending.Wait()
}

// waitSenders waits until every sender has stopped, at most d.
func (e *engine) waitSenders(d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-e.sendersDone():
	case <-t.C:
	}
}

// sendersDone returns a channel closed once every sender has sent all it
// may (or was stopped).
func (e *engine) sendersDone() <-chan struct{} {
	ch := make(chan struct{})
	go func() { e.sending.Wait(); close(ch) }()
	return ch
}

// drain stops sending and waits until every message sent has its answer,
// or until ctx ends: then the messages still in flight count as failed
// ("no answer: ...") and drain returns how many.
func (e *engine) drain(ctx context.Context) int {
	if e.kind != engineBatch {
		e.stopSending() // its senders wait on nothing but their context
	} else {
		if e.stop != nil {
			e.stop()
		}
		select { // a sender held up inside sarama (a broker's throttle) does not hold drain past ctx
		case <-e.sendersDone():
		case <-ctx.Done():
			// A sender that goes on sends nothing more: see sendRequest.
			return e.failUnanswered("no answer: " + stopped(ctx))
		}
	}
	for _, p := range e.prods {
		for p.answered.Load() < p.sent.Load() {
			select {
			case <-p.idle:
			case <-p.collected:
			case <-ctx.Done():
			}
			if ctx.Err() != nil {
				return e.failUnanswered("no answer: " + stopped(ctx))
			}
			select {
			case <-p.collected:
				if p.answered.Load() < p.sent.Load() {
					return e.failUnanswered("no answer: the producer closed")
				}
			default:
			}
		}
	}
	return 0
}

// failUnanswered marks the messages in flight as failed for reason.
func (e *engine) failUnanswered(reason string) int {
	for _, p := range e.prods {
		if p.batch != nil {
			p.batch.stopRecording()
			continue
		}
		p.recording.Lock()
		p.judged = true
		p.recording.Unlock()
	}
	n := verify.FailUnanswered(e.o.ledger, e.o.ledger.Len())
	if n > 0 && len(e.prods) > 0 {
		p := e.prods[0]
		p.statsMu.Lock()
		p.failedBy[reason] += int64(n)
		p.statsMu.Unlock()
	}
	return n
}

// close stops sending and closes the producers (bounded, so that a producer
// stuck on a dead broker does not hold the scenario); once it returns, the
// latency histogram holds every answer.
func (e *engine) close() {
	e.closed.Do(func() {
		if e.kind != engineBatch {
			e.stopSending() // its senders wait on nothing but their context
		} else {
			// A batch sender may be held up inside sarama (a metadata
			// refresh queued behind produce requests a broker holds):
			// closing its client below frees it, and once closed it
			// records nothing more (see sendRequest).
			if e.stop != nil {
				e.stop()
			}
			e.waitSenders(5 * time.Second)
			defer e.waitSenders(5 * time.Second)
		}
		var wg sync.WaitGroup
		for _, p := range e.prods {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx := safe.WithRecorder(context.Background(), e.env.Panics)
				if p.batch != nil {
					e.closeBatches(ctx, p)
					return
				}
				closeWithin(ctx, 5*time.Second, func() { _ = p.ap.Close() })
				closeWithin(ctx, 5*time.Second, func() { _ = p.client.Close() })
				select { // the collector has recorded (and flushed) every answer
				case <-p.collected:
				case <-time.After(5 * time.Second):
				}
			}()
		}
		wg.Wait()
	})
}

// send hands p's messages to its producer, each at its scheduled time when
// there is a rate, until the ledger's messages are all sent or ctx ends.
func (e *engine) send(ctx context.Context, p *producer) {
	o := e.o
	var timer *time.Timer
	if o.rate > 0 {
		timer = time.NewTimer(time.Hour)
		defer timer.Stop()
	}
	in := p.ap.Input()
	own := make([]*slot, 0, takeBatch) // free messages taken, used last first
	defer func() { p.give(own) }()
	sched := e.newSchedule(p)
	for {
		seq, k, more := p.cursor(&o)
		if !more {
			break
		}
		var due time.Duration
		if o.rate > 0 {
			var wait time.Duration
			if due, wait = sched.due(seq); wait > 0 {
				timer.Reset(wait)
				select {
				case <-timer.C:
				case <-ctx.Done():
					return
				}
			}
		}
		if len(own) == 0 {
			var ok bool
			if own, ok = p.take(ctx, own); !ok {
				return
			}
		}
		s := own[len(own)-1]
		own = own[:len(own)-1]
		if o.rate == 0 {
			due = time.Since(e.start)
		}
		s.seq, s.due = seq, due
		e.encode(s.value, seq, k, due)
		s.msg = sarama.ProducerMessage{Topic: o.topic, Key: e.keyEnc[k], Value: s.enc, Metadata: s}
		o.ledger.Sent(seq)
		select {
		case in <- &s.msg: // the common case, without a blocking select
		default:
			select {
			case in <- &s.msg:
			case <-ctx.Done():
				// Never handed over: not sent.
				o.ledger.Unsend(seq)
				own = append(own, s)
				return
			}
		}
		p.advance(&o)
		p.sent.Add(1)
	}
	e.full.Store(true)
}

// encode writes message seq's payload, with key index k, due at due, into
// value: the one place either engine builds a payload, with the shard's
// seqBase and keyBase.
func (e *engine) encode(value []byte, seq, k int, due time.Duration) {
	workload.Encode(value, workload.Payload{RunID: e.o.runID, Seq: uint64(e.o.seqBase + seq), Key: uint32(e.o.keyBase + k), Sent: e.stamp + workload.Stamp(due/time.Microsecond)}, e.o.keys[k])
}

// cursor returns the next sequence number p sends and its key index; false
// once the ledger's are all sent. advance moves past it.
func (p *producer) cursor(o *engineOptions) (seq, k int, ok bool) {
	n, nkeys := o.ledger.Len(), len(o.keys)
	for p.base < n {
		if p.k < nkeys && p.base+p.k < n {
			return p.base + p.k, p.k, true
		}
		p.base, p.k = p.base+nkeys, p.idx
	}
	return 0, 0, false
}

// advance moves p's cursor past the sequence number cursor returned.
func (p *producer) advance(o *engineOptions) { p.k += o.producers }

// schedule is when a sender's messages are due with a rate: message seq at
// at + (seq-seq0)/rate. Clock readings are durations since the start: a
// monotonic reading costs half a wall-clock one.
type schedule struct {
	e    *engine
	at   time.Duration
	seq0 int
}

// newSchedule starts p's schedule: at the engine's start, or with noBurst now.
func (e *engine) newSchedule(p *producer) *schedule {
	s := &schedule{e: e}
	if e.o.noBurst {
		s.at, s.seq0 = time.Since(e.start), p.base+p.k
	}
	return s
}

// due returns when seq is due and how long until then (0 or less: now). A
// sender more than 100 ms behind with noBurst restarts the schedule at seq.
func (s *schedule) due(seq int) (due, wait time.Duration) {
	due = s.at + time.Duration(float64(seq-s.seq0)*float64(time.Second)/float64(s.e.o.rate))
	wait = due - time.Since(s.e.start)
	if s.e.o.noBurst && wait < -100*time.Millisecond { // behind: do not burst
		now := time.Since(s.e.start)
		s.at, s.seq0, due, wait = now, seq, now, 0
	}
	return due, wait
}

// take moves up to takeBatch free messages to the sender's own stack,
// waiting for one; false when ctx ended first.
func (p *producer) take(ctx context.Context, own []*slot) ([]*slot, bool) {
	for {
		p.mu.Lock()
		if n := len(p.free); n > 0 {
			k := max(0, n-takeBatch)
			own = append(own, p.free[k:]...)
			p.free = p.free[:k]
			p.mu.Unlock()
			return own, true
		}
		p.mu.Unlock()
		select {
		case <-p.freed:
		case <-ctx.Done():
			return own, false
		}
	}
}

// give returns messages to the free ones.
func (p *producer) give(ss []*slot) {
	if len(ss) == 0 {
		return
	}
	p.mu.Lock()
	wasEmpty := len(p.free) == 0
	p.free = append(p.free, ss...)
	p.mu.Unlock()
	if wasEmpty {
		select {
		case p.freed <- struct{}{}:
		default: // a token is waiting already
		}
	}
}

// collect records every answer of p until its producer is closed.
func (e *engine) collect(p *producer) {
	defer close(p.collected)
	rec := (*workload.Recorder)(nil)
	if e.o.latency != nil {
		rec = e.o.latency.Recorder()
		defer rec.Flush()
	}
	reported := int64(0)
	progress := e.o.progress
	if progress == nil {
		progress = noProgress{}
	}
	defer func() { progress.Add(int(p.answered.Load() - reported)) }()
	successes, errs := p.ap.Successes(), p.ap.Errors()
	freed := make([]*slot, 0, 1024)
	for successes != nil || errs != nil {
		var m *sarama.ProducerMessage
		var err error
		select {
		case msg, ok := <-successes:
			if !ok {
				successes = nil
				continue
			}
			m = msg
		case pe, ok := <-errs:
			if !ok {
				errs = nil
				continue
			}
			m, err = pe.Msg, pe.Err
		}
		now := time.Since(e.start)
		p.recording.Lock()
		if p.judged {
			// The messages in flight failed for want of an answer (see
			// drain), and the scenarios after this one read the ledger: a
			// late answer must not change it under them.
			p.recording.Unlock()
			continue
		}
		if err != nil {
			// sarama may still read a message it returned as an error
			// (partitionProducer reads msg.retries for its backoff after
			// returnError): the slot is never reused, a fresh one takes
			// its place. Errors are few.
			used := e.answer(p, rec, m, err, now)
			freed = append(freed, freshSlot(len(used.value)))
		} else {
			freed = append(freed, e.answer(p, rec, m, nil, now))
			// Take the answers already waiting without a select each; they
			// were all answered by now.
			for k := len(successes); k > 0; k-- {
				m, ok := <-successes
				if !ok {
					successes = nil
					break
				}
				freed = append(freed, e.answer(p, rec, m, nil, now))
			}
		}
		p.last.Store(int64(now))
		// Counted after the ledger has them: drain's waiter then sees every answer recorded.
		answered := p.answered.Add(int64(len(freed)))
		p.recording.Unlock()
		p.give(freed)
		freed = freed[:0]
		if answered-reported >= progressEvery {
			progress.Add(int(answered - reported))
			reported = answered
		}
		if answered >= p.sent.Load() {
			select {
			case p.idle <- struct{}{}:
			default:
			}
		}
	}
}

// answer records one answer, received at now, and returns its message.
func (e *engine) answer(p *producer, rec *workload.Recorder, m *sarama.ProducerMessage, err error, now time.Duration) *slot {
	s := m.Metadata.(*slot)
	if rec != nil {
		rec.Record(now - s.due)
	}
	partition := m.Partition
	valid := partition >= 0 && int(partition) < len(p.perPartition)
	var acked bool
	var reason string
	if err != nil {
		if !valid {
			partition = -1
		}
		reason = p.answers.Failure(s.seq, partition, err)
	} else {
		acked, reason = p.answers.Success(s.seq, partition, m.Offset)
	}
	e.tally(p, s.seq, partition, acked, reason, now)
	return s
}

// tally counts one answer recorded in the ledger, received at now: by
// partition or by failure, and tells onAnswer.
func (e *engine) tally(p *producer, seq int, partition int32, acked bool, reason string, now time.Duration) {
	switch {
	case reason != "":
		leader := ""
		if partition >= 0 && e.o.leaderOf != nil && !p.failures.Full() {
			leader = fmt.Sprintf(" (leader broker %d)", e.o.leaderOf(partition))
		}
		p.statsMu.Lock()
		p.failedBy[reason]++
		if !p.failures.Full() {
			p.failures.Add("seq %d (%s) to partition %d%s: %s", e.o.seqBase+seq, e.o.keys[seq%len(e.o.keys)], partition, leader, reason)
		} else {
			p.failures.Count++
		}
		p.statsMu.Unlock()
	case partition >= 0 && int(partition) < len(p.perPartition):
		p.perPartition[partition].Add(1) // acked, or sent with acks=0
	}
	if e.o.onAnswer != nil {
		e.o.onAnswer(seq, partition, acked, reason, e.start.Add(now))
	}
}

// engineStats is what an engine's producers were told, merged.
type engineStats struct {
	sent, answered int64
	last           time.Duration // of the last answer, since the start
	perPartition   []int64
	failedBy       map[string]int64
	failures       verify.Examples
}

// stats merges what the producers were told so far.
func (e *engine) stats() engineStats {
	st := engineStats{perPartition: make([]int64, e.env.Profile.Topic.Partitions), failedBy: map[string]int64{},
		failures: verify.Examples{Kind: "not acknowledged"}}
	for _, p := range e.prods {
		st.sent += p.sent.Load()
		st.answered += p.answered.Load()
		st.last = max(st.last, time.Duration(p.last.Load()))
		for i := range p.perPartition {
			st.perPartition[i] += p.perPartition[i].Load()
		}
		p.statsMu.Lock()
		for k, v := range p.failedBy {
			st.failedBy[k] += v
		}
		st.failures.Merge(&p.failures)
		p.statsMu.Unlock()
	}
	return st
}

// mayReorder says whether the engine itself may send a partition's messages
// out of order once an answer failed (verify.ClientReorders): sarama's
// producer without retries, not idempotent (an idempotent one keeps the
// partition's batches in order), with answers to fail (acks 1 or all).
func (e *engine) mayReorder() bool {
	return e.kind == engineSarama && !e.o.mode.Idempotent && e.o.mode.Retries == 0 && e.o.mode.Acks != "0"
}
