package scenarios

// produce sends the workload's keyed messages through workload.producers
// pipelined async producers (each sending its own keys) with the profile's
// acks, at workload.rate messages per second or as fast as the cluster takes
// them, and records in the ledger what the cluster answered for every
// message. With workload.concurrent_consume it reads every partition back
// while it produces (see 03_consume.go).
//
// Measures: throughput (first send to last answer), acknowledgement latency
// percentiles (a histogram, not a sample list; with a rate, counted from each
// message's scheduled send time, so a stalled cluster is not hidden by the
// sends it delayed), end-to-end latency when consuming concurrently, messages
// per partition and their variance, failures by error.
// Fails: on any message that was not acknowledged: an error, no answer before
// the deadline, or an answer with no error and an offset below 0 (Chronik's
// answer to a failed replicated write, which sarama passes on as a success).
// Cannot detect: on its own, whether acknowledged messages were stored; the
// consume scenario reads them back. Sarama numbers a batch's messages from the
// batch's base offset, so after a base offset of -1 the batch's later
// messages arrive as offsets 0, 1, ...: they are recognised as the run that
// follows -1 on the same partition.
//
// The hot path allocates nothing per message: each producer has a fixed
// window of messages and value buffers, reused as sarama hands each message
// back with its answer, which also bounds the messages in flight. A sender
// and a collector goroutine per producer share the free messages as a stack,
// so that the message answered last, still in the CPU's cache, is sent next.

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/chronik-e2e/chronik-e2e/pkg/kafka"
	"github.com/chronik-e2e/chronik-e2e/pkg/report"
	"github.com/chronik-e2e/chronik-e2e/pkg/workload"
)

func init() { Register(produce{}) }

type produce struct{}

var _ Scenario = produce{}

func (produce) Name() string       { return "produce" }
func (produce) Requires() []string { return []string{"topic-create"} }
func (produce) Summary() string {
	return "produce keyed, self-verifying messages with the profile's acks; every answer is recorded"
}

// offsetMinusOne names Chronik's failed replicated write.
const offsetMinusOne = "broker acknowledged with offset -1 (error code 0): not an acknowledgement, the write was not committed"

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

// progressEvery is how many answers a producer or reader counts before it
// moves the progress bar.
const progressEvery = 1024

func (produce) Run(ctx context.Context, env *Env, step *Step) error {
	if !env.TopicReady {
		return Skip("no topic to produce to: topic-create did not finish")
	}
	w := env.Profile.Workload
	acks, err := kafka.RequiredAcks(w.Acks)
	if err != nil {
		return err
	}
	cfg := env.Config()
	cfg.Producer.RequiredAcks = acks

	n := w.Messages
	r := &produceRun{
		env:        env,
		ledger:     workload.NewLedger(n),
		keys:       workload.Keys(w.Keys),
		n:          n,
		producers:  w.Producers,
		rate:       w.Rate,
		acks:       acks,
		partitions: env.Profile.Topic.Partitions,
		latency:    workload.NewSharedLatency(),
	}
	r.keyEnc = make([]sarama.Encoder, len(r.keys))
	for i, k := range r.keys {
		r.keyEnc[i] = sarama.ByteEncoder(k)
	}

	prods := make([]*producer, w.Producers)
	defer closeWithin(ctx, 10*time.Second, func() { closeProducers(prods) })
	window := min(maxInFlight, max(minInFlight, inFlightBytes/w.ValueBytes/w.Producers))
	for i := range prods {
		client, ap, err := startClient(ctx, env, cfg, sarama.NewAsyncProducerFromClient)
		if err != nil {
			return fmt.Errorf("start producer %d of %d against %v: %w", i+1, w.Producers, env.Cluster.Bootstrap(), err)
		}
		prods[i] = newProducer(i, client, ap, window, w.ValueBytes, r.partitions)
	}
	env.Ledger, env.Acks = r.ledger, w.Acks

	if w.ConcurrentConsume {
		// Read every partition from now on; consume judges what was read.
		if env.liveRead, err = startLiveRead(ctx, env); err != nil {
			env.Ledger = nil // nothing was produced: nothing for consume to verify
			return fmt.Errorf("start reading while producing: %w", err)
		}
	}

	r.progress = env.progress("produce", int64(n))
	r.start = time.Now()
	r.stamp = workload.StampOf(r.start)
	var wg sync.WaitGroup
	for _, p := range prods {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.produce(ctx, p)
		}()
	}
	wg.Wait()
	r.progress.Done()

	// Merge what the producers were told.
	var (
		sent, answered int
		last           time.Duration // of the last answer, since the start
		perPartition   = make([]int64, r.partitions)
		failedBy       = map[string]int64{}
		failures       = examples{kind: "not acknowledged"}
	)
	for _, p := range prods {
		sent += p.sent
		answered += p.answered
		last = max(last, p.last)
		for i, c := range p.perPartition {
			perPartition[i] += c
		}
		for k, v := range p.failedBy {
			failedBy[k] += v
		}
		failures.merge(&p.failures)
	}
	elapsed := last
	if answered == 0 {
		elapsed = time.Since(r.start)
	}

	unanswered := 0
	deadline := ctx.Err() != nil && answered < sent
	if deadline {
		for seq := 0; seq < n; seq++ {
			if r.ledger.State(seq) == workload.InFlight {
				unanswered++
				r.ledger.Fail(seq, -1)
			}
		}
		if unanswered > 0 {
			failedBy["no answer: "+stopped(ctx)] += int64(unanswered)
		}
	}

	// Record what happened.
	d := &env.Report.Delivery
	var acked int64
	for _, c := range perPartition {
		acked += c
	}
	env.Report.Produced = true
	d.Sent = int64(sent)
	d.Failed = int64(sent) - acked
	if acks == sarama.NoResponse {
		d.Acked = 0
	} else {
		d.Acked = acked
	}
	d.FailedByError = failedBy
	for p, c := range perPartition {
		env.partition(int32(p)).Messages = c
	}
	tp := &env.Report.Throughput
	tp.ProduceDurationS = elapsed.Seconds()
	if elapsed > 0 {
		tp.ProduceMsgsPerS = float64(answered) / elapsed.Seconds()
		tp.ProduceMBPerS = float64(answered) * float64(w.ValueBytes) / 1e6 / elapsed.Seconds()
	}
	env.Report.Latency = latencyReport(r.latency.Latency())
	env.Report.Distribution = distribution(perPartition)

	step.Metric("sent", float64(sent))
	step.Metric("acked", float64(d.Acked))
	step.Metric("failed", float64(d.Failed))
	step.Metric("msgs_per_sec", tp.ProduceMsgsPerS)
	step.Metric("p99_ms", env.Report.Latency.P99)
	if w.Producers > 1 {
		step.Metric("producers", float64(w.Producers))
	}

	if acks == sarama.NoResponse {
		step.Notef("acks=0: the cluster acknowledges nothing, so no message counts as acknowledged; consume reports what came back without failing on what did not")
	}
	if w.Rate > 0 {
		step.Metric("target_msgs_per_sec", float64(w.Rate))
		step.Notef("rate %d msg/s: latency counts from each message's scheduled send time, so sends the cluster held up count against it (no coordinated omission)", w.Rate)
		if !deadline && tp.ProduceMsgsPerS < 0.95*float64(w.Rate) {
			step.Notef("the target rate was not reached: %.0f of %d msg/s; the latency percentiles include the wait of every late send", tp.ProduceMsgsPerS, w.Rate)
		}
	}
	if d.Failed > 0 {
		step.Failf("%d of %d sent messages were not acknowledged: %s", d.Failed, sent, byCount(failedBy))
		failures.failInto(step)
	}
	if sent > 0 && w.Keys >= r.partitions {
		for _, p := range unkeyed(cfg, env.Topic, r.keys, r.partitions) {
			step.Notef("partition %d received no messages: the %d keys hash to the other partitions", p, w.Keys)
		}
	}
	if deadline {
		return fmt.Errorf("%s while waiting for produce answers: %d of %d messages sent, %d answered (%d acknowledged), %d unanswered",
			stopped(ctx), sent, n, answered, acked, unanswered)
	}
	return nil
}

// produceRun is what the producers of one run share.
type produceRun struct {
	env        *Env
	ledger     *workload.Ledger
	keys       [][]byte
	keyEnc     []sarama.Encoder // keys, each boxed once rather than once per message
	n          int
	producers  int
	rate       int
	acks       sarama.RequiredAcks
	partitions int
	latency    *workload.SharedLatency
	progress   Progress
	start      time.Time
	stamp      workload.Stamp // of start
}

// producer is one of the run's producers and what it was told. It sends
// the keys k with k % producers == idx, so every key has one producer and
// keeps its order.
type producer struct {
	idx    int
	client sarama.Client // the producer's own; closed after it
	ap     sarama.AsyncProducer

	// The messages not in flight: a stack, so that the message answered
	// last, still in the CPU's cache, is the next one sent.
	mu    sync.Mutex
	free  []*slot
	freed chan struct{} // holds a token once free got a message while empty

	// Results, read once produce has returned.
	sent, answered int
	last           time.Duration // when the last answer came, since the start
	perPartition   []int64
	failedBy       map[string]int64
	failures       examples
	badRun         map[int32]int64 // partition -> next offset of a batch that began at -1
}

// slot is one reusable message: sarama returns it with its answer.
type slot struct {
	msg   sarama.ProducerMessage
	value []byte
	enc   sarama.Encoder // value, boxed once
	seq   int
	due   time.Duration // when it was sent (with a rate: due to be), since the start
}

func newProducer(idx int, client sarama.Client, ap sarama.AsyncProducer, window, valueBytes, partitions int) *producer {
	p := &producer{
		idx:          idx,
		client:       client,
		ap:           ap,
		freed:        make(chan struct{}, 1),
		perPartition: make([]int64, partitions),
		failedBy:     map[string]int64{},
		failures:     examples{kind: "not acknowledged"},
		badRun:       map[int32]int64{},
	}
	// Two allocations, side by side in memory, rather than two per message.
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

// takeBatch is how many free messages the sender takes at once.
const takeBatch = 64

// give returns answered messages to the free ones.
func (p *producer) give(ss []*slot) {
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

func closeProducers(prods []*producer) {
	var wg sync.WaitGroup
	for _, p := range prods {
		if p != nil {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_ = p.ap.Close()
				_ = p.client.Close()
			}()
		}
	}
	wg.Wait()
}

// produce sends p's messages and records every answer until each message
// sent has one, or ctx ends.
func (r *produceRun) produce(ctx context.Context, p *producer) {
	sendCtx, stopSending := context.WithCancel(ctx)
	defer stopSending()
	sentCh := make(chan int, 1)
	go func() { sentCh <- r.send(sendCtx, p) }()

	rec := r.latency.Recorder()
	defer rec.Flush()
	reported := 0
	defer func() { r.progress.Add(p.answered - reported) }()
	successes, errs := p.ap.Successes(), p.ap.Errors()
	freed := make([]*slot, 0, 1024)
	sent := -1
	for sent < 0 || p.answered < sent {
		// Three cases, not four: until the sender is done its count is
		// awaited (it stops at once when ctx ends), after that ctx itself.
		var sentC <-chan int
		var done <-chan struct{}
		if sent < 0 {
			sentC = sentCh
		} else {
			done = ctx.Done()
		}
		select {
		case m := <-successes:
			now := time.Since(r.start)
			freed = append(freed, r.success(p, rec, m, now))
			// Take the answers already waiting without a select each; they
			// were all answered by now.
			for k := len(successes); k > 0; k-- {
				freed = append(freed, r.success(p, rec, <-successes, now))
			}
		case pe := <-errs:
			freed = append(freed, r.failure(p, pe, time.Since(r.start)))
		case sent = <-sentC:
			if ctx.Err() != nil {
				p.sent = sent
				return
			}
		case <-done:
			p.sent = sent
			return
		}
		if len(freed) > 0 {
			p.give(freed)
			freed = freed[:0]
		}
		if p.answered-reported >= progressEvery {
			r.progress.Add(p.answered - reported)
			reported = p.answered
		}
	}
	p.sent = sent
}

// send hands p's messages to its producer, each at its scheduled time when
// there is a rate, and returns how many it handed over.
func (r *produceRun) send(ctx context.Context, p *producer) (sent int) {
	var timer *time.Timer
	if r.rate > 0 {
		timer = time.NewTimer(time.Hour)
		defer timer.Stop()
	}
	nkeys, in := len(r.keys), p.ap.Input()
	own := make([]*slot, 0, takeBatch) // free messages taken, used last first
	for base := 0; base < r.n; base += nkeys {
		for k := p.idx; k < nkeys && base+k < r.n; k += r.producers {
			seq := base + k
			// Clock readings are durations since the start: a monotonic
			// reading costs half a wall-clock one.
			var due time.Duration
			if r.rate > 0 {
				due = time.Duration(float64(seq) * float64(time.Second) / float64(r.rate))
				if wait := due - time.Since(r.start); wait > 0 {
					timer.Reset(wait)
					select {
					case <-timer.C:
					case <-ctx.Done():
						return sent
					}
				}
			}
			if len(own) == 0 {
				var ok bool
				if own, ok = p.take(ctx, own); !ok {
					return sent
				}
			}
			s := own[len(own)-1]
			own = own[:len(own)-1]
			if r.rate == 0 {
				due = time.Since(r.start)
			}
			s.seq, s.due = seq, due
			workload.Encode(s.value, workload.Payload{RunID: r.env.RunID, Seq: uint64(seq), Key: uint32(k), Sent: r.stamp + workload.Stamp(due/time.Microsecond)}, r.keys[k])
			s.msg = sarama.ProducerMessage{Topic: r.env.Topic, Key: r.keyEnc[k], Value: s.enc, Metadata: s}
			r.ledger.Sent(seq)
			select {
			case in <- &s.msg: // the common case, without a blocking select
			default:
				select {
				case in <- &s.msg:
				case <-ctx.Done():
					// Never handed over: not sent.
					r.ledger.Unsend(seq)
					return sent
				}
			}
			sent++
		}
	}
	return sent
}

// success records an answer without an error, received at now, and returns its message.
func (r *produceRun) success(p *producer, rec *workload.Recorder, m *sarama.ProducerMessage, now time.Duration) *slot {
	s := m.Metadata.(*slot)
	p.answered++
	p.last = now
	rec.Record(now - s.due)
	switch {
	case r.acks == sarama.NoResponse:
		r.ledger.SentNoAck(s.seq, m.Partition)
		p.perPartition[m.Partition]++
	case m.Offset < 0:
		p.badRun[m.Partition] = 0
		r.fail(p, s.seq, m.Partition, offsetMinusOne)
	case len(p.badRun) > 0 && continuesBadBatch(p.badRun, m.Partition, m.Offset):
		p.badRun[m.Partition] = m.Offset + 1
		r.fail(p, s.seq, m.Partition, offsetMinusOne)
	default:
		if len(p.badRun) > 0 {
			delete(p.badRun, m.Partition)
		}
		r.ledger.Ack(s.seq, m.Partition, m.Offset)
		p.perPartition[m.Partition]++
	}
	return s
}

// failure records an answer with an error, received at now, and returns its message.
func (r *produceRun) failure(p *producer, pe *sarama.ProducerError, now time.Duration) *slot {
	s := pe.Msg.Metadata.(*slot)
	p.answered++
	p.last = now
	partition := int32(-1)
	if pe.Msg.Partition >= 0 && int(pe.Msg.Partition) < r.partitions {
		partition = pe.Msg.Partition
	}
	r.fail(p, s.seq, partition, errorName(pe.Err, r.env.Acks))
	return s
}

// fail records a message that was not acknowledged.
func (r *produceRun) fail(p *producer, seq int, partition int32, reason string) {
	r.ledger.Fail(seq, partition)
	p.failedBy[reason]++
	if p.failures.full() {
		p.failures.count++
		return
	}
	leader := ""
	if partition >= 0 {
		leader = fmt.Sprintf(" (leader broker %d)", r.env.leaderOf(partition))
	}
	p.failures.add("seq %d (%s) to partition %d%s: %s", seq, r.keys[seq%len(r.keys)], partition, leader, reason)
}

// full reports whether e holds as many examples as it lists.
func (e *examples) full() bool { return len(e.list) >= maxExamples }

// merge adds the examples and count of o to e.
func (e *examples) merge(o *examples) {
	e.count += o.count
	for _, x := range o.list {
		if e.full() {
			break
		}
		e.list = append(e.list, x)
	}
}

// latencyReport turns a histogram into the report's percentiles in milliseconds.
func latencyReport(h *workload.Latency) report.Latency {
	return report.Latency{
		P50:  ms(h.Percentile(50)),
		P99:  ms(h.Percentile(99)),
		P999: ms(h.Percentile(99.9)),
		Max:  ms(h.Max()),
		Mean: ms(h.Mean()),
		// Histogram: the chart of the terminal report (latencyBuckets, records.go).
		Histogram: latencyBuckets(h),
	}
}

// unkeyed returns the partitions that none of keys hashes to under the
// producer's partitioner: partitions that receive no messages by design, as
// opposed to partitions whose messages all failed.
func unkeyed(cfg *sarama.Config, topic string, keys [][]byte, partitions int) []int32 {
	partitioner := cfg.Producer.Partitioner(topic)
	hit := make([]bool, partitions)
	for _, k := range keys {
		p, err := partitioner.Partition(&sarama.ProducerMessage{Topic: topic, Key: sarama.ByteEncoder(k)}, int32(partitions))
		if err == nil && p >= 0 && int(p) < partitions {
			hit[p] = true
		}
	}
	var out []int32
	for p, h := range hit {
		if !h {
			out = append(out, int32(p))
		}
	}
	return out
}

// continuesBadBatch reports whether offset is the next in a batch whose base
// offset was -1 on partition p.
func continuesBadBatch(runs map[int32]int64, p int32, offset int64) bool {
	next, ok := runs[p]
	return ok && offset == next
}

// errorName names a produce error the way Kafka does (REQUEST_TIMED_OUT), and
// says what it means where that is not obvious.
func errorName(err error, acks string) string {
	var ke sarama.KError
	if errors.As(err, &ke) {
		name := fmt.Sprintf("kafka error %d", int16(ke))
		if e, ok := kerr.ErrorForCode(int16(ke)).(*kerr.Error); ok {
			name = e.Message
		}
		switch {
		case ke == sarama.ErrRequestTimedOut && acks == "all":
			return name + " (commit timeout: the leader did not hear from enough replicas for acks=all in time)"
		case ke == sarama.ErrNotEnoughReplicas || ke == sarama.ErrNotEnoughReplicasAfterAppend:
			return name + " (fewer in-sync replicas than min.insync.replicas)"
		}
		return name
	}
	msg := err.Error()
	// Keep the number of distinct reasons small: drop addresses and ports.
	if i := strings.Index(msg, " tcp "); i >= 0 {
		msg = msg[:i] + " (network)"
	}
	return msg
}

// byCount renders reason counts, most frequent first.
func byCount(m map[string]int64) string {
	type kv struct {
		k string
		v int64
	}
	var list []kv
	for k, v := range m {
		list = append(list, kv{k, v})
	}
	sort.Slice(list, func(i, j int) bool { return list[i].v > list[j].v || list[i].v == list[j].v && list[i].k < list[j].k })
	var parts []string
	for _, x := range list {
		parts = append(parts, fmt.Sprintf("%d × %s", x.v, x.k))
	}
	return strings.Join(parts, "; ")
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// distribution computes the variance of messages per partition and the
// largest deviation from the mean in percent.
func distribution(counts []int64) (dist report.Distribution) {
	if len(counts) == 0 {
		return dist
	}
	var sum float64
	for _, c := range counts {
		sum += float64(c)
	}
	mean := sum / float64(len(counts))
	for _, c := range counts {
		dev := float64(c) - mean
		dist.Variance += dev * dev
		if mean > 0 {
			dist.MaxDeviationPct = math.Max(dist.MaxDeviationPct, math.Abs(dev)/mean*100)
		}
	}
	dist.Variance /= float64(len(counts))
	return dist
}
