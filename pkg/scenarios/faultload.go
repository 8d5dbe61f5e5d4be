package scenarios

// A stream produces continuously, at faults.rate, while a fault scenario
// does things to the cluster. It records in a ledger what the cluster
// answered for every message (the same 16-byte ledger and self-verifying
// payload the produce scenario uses), and per partition when the
// acknowledgements stopped and when they came back: the unavailability
// windows of the report. It is separate from the produce scenario's
// producer, which sends a fixed number of messages as fast as it can.

import (
	"context"
	"fmt"
	"hash/fnv"
	"slices"
	"sync"
	"time"

	"github.com/IBM/sarama"

	"github.com/chronik-e2e/chronik-e2e/pkg/kafka"
	"github.com/chronik-e2e/chronik-e2e/pkg/report"
	"github.com/chronik-e2e/chronik-e2e/pkg/workload"
)

// maxStreamMessages bounds a stream's ledger (16 bytes a message).
const maxStreamMessages = 4 << 20

// maxErrorEvents bounds the first-error events one stream adds to the timeline.
const maxErrorEvents = 50

// streamMode is how a stream's producer sends.
type streamMode struct {
	acks       string // "0", "1" or "all"
	idempotent bool
	retries    int // the producer's own retries; 0: every failure is counted
}

func (m streamMode) String() string {
	s := "acks=" + m.acks
	switch {
	case m.idempotent:
		s += " idempotent"
	case m.retries > 0:
		s += " retrying"
	}
	return s
}

// partTrack is what the stream knows of one partition's acknowledgements.
type partTrack struct {
	lastAck  time.Time
	acks     int64
	errs     map[string]int64 // errors since lastAck
	firstErr time.Time
	label    string // the fault last injected when the first of errs came
}

// outage is one partition's stretch without acknowledgements.
type outage struct {
	partition int32
	from, to  time.Time
	open      bool // no acknowledgement came after it
	label     string
	errors    map[string]int64
}

// stream is one continuous producer.
type stream struct {
	k        *faultKit
	mode     streamMode
	topic    string
	runID    uint64
	ledger   *workload.Ledger
	producer sarama.AsyncProducer
	keys     [][]byte
	keyPart  []int32 // the partition each key hashes to
	started  time.Time
	gap      time.Duration // a longer stretch without acknowledgements is an outage even without errors

	stopSend  context.CancelFunc
	sendDone  chan struct{}
	closeOnce sync.Once
	next      int // next sequence to send: owned by the sender while it runs

	mu        sync.Mutex
	sent      int // messages handed to the producer
	answered  int
	parts     []partTrack
	failedBy  map[string]int64
	outages   []outage
	errEvents int
	badRun    map[int32]int64 // partition -> next offset of a batch that began at -1
	changed   chan struct{}   // closed and replaced on every answer
	collected chan struct{}   // closed when the producer's channels are drained
}

// startStream creates a producer of mode for the kit's topic and starts
// sending at faults.rate.
func (k *faultKit) startStream(mode streamMode) (*stream, error) {
	env := k.env
	cfg := env.Config()
	acks, err := kafka.RequiredAcks(mode.acks)
	if err != nil {
		return nil, err
	}
	cfg.Producer.RequiredAcks = acks
	cfg.Producer.Retry.Max = mode.retries
	cfg.Producer.Retry.Backoff = retryBackoff
	if mode.retries == 0 {
		// Sarama waits the backoff after each failed leader lookup even
		// without retries: waiting would hold the next messages back.
		cfg.Producer.Retry.Backoff = 0
	}
	if mode.idempotent {
		cfg.Producer.Idempotent = true
		cfg.Net.MaxOpenRequests = 1
	}
	producer, err := sarama.NewAsyncProducer(env.Cluster.Bootstrap(), cfg)
	if err != nil {
		return nil, fmt.Errorf("start %s producer against %v: %w", mode, env.Cluster.Bootstrap(), err)
	}
	rate := k.cfg.Rate
	capacity := int(float64(rate) * (env.Profile.Timeouts.Scenario.Seconds() + 10))
	capacity = max(min(capacity, maxStreamMessages), 1)
	partitions := env.Profile.Topic.Partitions
	h := fnv.New64a()
	fmt.Fprintf(h, "%s/%s/%s", k.name, k.topic, mode)
	s := &stream{
		k: k, mode: mode, topic: k.topic, runID: env.RunID ^ h.Sum64(),
		ledger: workload.NewLedger(capacity), producer: producer,
		keys: workload.Keys(env.Profile.Workload.Keys), parts: make([]partTrack, partitions),
		failedBy: map[string]int64{}, badRun: map[int32]int64{},
		changed: make(chan struct{}), collected: make(chan struct{}), started: time.Now(),
	}
	s.keyPart = keyPartitions(cfg, k.topic, s.keys, partitions)
	interval := time.Duration(float64(time.Second) * float64(partitions) / float64(rate))
	s.gap = max(20*interval, 250*time.Millisecond)
	for i := range s.parts {
		s.parts[i].errs = map[string]int64{}
	}
	go s.collect()
	s.resume()
	k.onDone(s.close)
	return s, nil
}

// keyPartitions returns the partition each key hashes to under the producer's partitioner.
func keyPartitions(cfg *sarama.Config, topic string, keys [][]byte, partitions int) []int32 {
	partitioner := cfg.Producer.Partitioner(topic)
	out := make([]int32, len(keys))
	for i, k := range keys {
		p, err := partitioner.Partition(&sarama.ProducerMessage{Topic: topic, Key: sarama.ByteEncoder(k)}, int32(partitions))
		if err != nil {
			p = -1
		}
		out[i] = p
	}
	return out
}

// resume starts sending again, at faults.rate, from the next sequence.
func (s *stream) resume() {
	ctx, cancel := context.WithCancel(context.Background())
	s.stopSend, s.sendDone = cancel, make(chan struct{})
	go s.send(ctx)
}

// send hands messages to the producer at faults.rate until ctx ends or the
// ledger is full. A cluster that takes them slower is not caught up with in
// a burst: the pace restarts from where the sender is.
func (s *stream) send(ctx context.Context) {
	defer close(s.sendDone)
	w := s.k.env.Profile.Workload
	rate := float64(s.k.cfg.Rate)
	start, base := time.Now(), s.next
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for s.next < s.ledger.Len() {
		due := base + int(time.Since(start).Seconds()*rate) + 1
		if due-s.next > int(rate/10)+1 { // more than 100ms behind: do not burst
			start, base = time.Now(), s.next
			due = s.next + 1
		}
		for ; s.next < due && s.next < s.ledger.Len(); s.next++ {
			seq := s.next
			k := uint32(seq % w.Keys)
			value := make([]byte, w.ValueBytes)
			workload.Encode(value, workload.Payload{RunID: s.runID, Seq: uint64(seq), Key: k}, s.keys[k])
			msg := &sarama.ProducerMessage{Topic: s.topic, Key: sarama.ByteEncoder(s.keys[k]), Value: sarama.ByteEncoder(value), Metadata: seq}
			s.ledger.Sent(seq)
			select {
			case s.producer.Input() <- msg:
				s.mu.Lock()
				s.sent++
				s.mu.Unlock()
			case <-ctx.Done():
				s.ledger.Unsend(seq)
				return
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
	s.k.step.Notef("%s stream stopped sending after %d messages: its ledger is full (faults.rate × timeouts.scenario)", s.mode, s.next)
}

// collect records every answer until the producer is closed.
func (s *stream) collect() {
	defer close(s.collected)
	succ, errs := s.producer.Successes(), s.producer.Errors()
	for succ != nil || errs != nil {
		select {
		case m, ok := <-succ:
			if !ok {
				succ = nil
				continue
			}
			s.answer(m, nil)
		case pe, ok := <-errs:
			if !ok {
				errs = nil
				continue
			}
			s.answer(pe.Msg, pe.Err)
		}
	}
}

// answer records one answer: in the ledger, and in its partition's outage tracking.
func (s *stream) answer(m *sarama.ProducerMessage, err error) {
	now := time.Now()
	seq := m.Metadata.(int)
	p := m.Partition
	if p < 0 || int(p) >= len(s.parts) {
		p = s.keyPart[seq%len(s.keys)]
	}
	s.mu.Lock()
	defer func() {
		s.answered++
		close(s.changed)
		s.changed = make(chan struct{})
		s.mu.Unlock()
	}()
	reason := ""
	switch {
	case err != nil:
		reason = errorName(err, s.mode.acks)
	case s.mode.acks == "0":
		s.ledger.SentNoAck(seq, m.Partition)
	case m.Offset < 0:
		s.badRun[m.Partition] = 0
		reason = offsetMinusOne
	case continuesBadBatch(s.badRun, m.Partition, m.Offset):
		s.badRun[m.Partition] = m.Offset + 1
		reason = offsetMinusOne
	default:
		delete(s.badRun, m.Partition)
		s.ledger.Ack(seq, m.Partition, m.Offset)
	}
	if p < 0 {
		if reason != "" {
			s.ledger.Fail(seq, -1)
			s.failedBy[reason]++
		}
		return
	}
	t := &s.parts[p]
	if reason != "" {
		s.ledger.Fail(seq, p)
		s.failedBy[reason]++
		if len(t.errs) == 0 {
			t.firstErr, t.label = now, s.k.lastMark()
			if s.errEvents < maxErrorEvents {
				s.errEvents++
				s.k.event(now, report.EventFirstError, s.k.watch.snapshot().leaderOf(p), p, "%s: %s", s.mode, reason)
			}
		}
		t.errs[reason]++
		return
	}
	faulted := s.k.faulted()
	if len(t.errs) > 0 || (faulted && !t.lastAck.IsZero() && now.Sub(t.lastAck) > s.gap) {
		label := t.label
		if len(t.errs) == 0 {
			label = s.k.lastMark()
		}
		s.outages = append(s.outages, outage{partition: p, from: t.lastAck, to: now, label: label, errors: t.errs})
		s.k.event(now, report.EventFirstAck, -1, p, "%s: first acknowledgement after %s without one", s.mode, since(t.lastAck, s.started, now))
		t.errs = map[string]int64{}
	}
	t.lastAck = now
	t.acks++
}

// since says how long ago from was at now, from start when from is zero.
func since(from, start, now time.Time) string {
	if from.IsZero() {
		from = start
	}
	return now.Sub(from).Round(time.Millisecond).String()
}

// warmup waits until faults.warmup has passed and every partition a key
// hashes to has an acknowledgement (no ack is needed with acks=0).
func (s *stream) warmup(ctx context.Context) error {
	if err := sleepCtx(ctx, s.k.cfg.Warmup.Duration-time.Since(s.started)); err != nil {
		return err
	}
	if s.mode.acks == "0" {
		return nil
	}
	return s.awaitAcks(ctx, s.started, s.k.cfg.ElectionTimeout.Duration, "warming up")
}

// awaitAcks waits, up to timeout, until every partition a key hashes to has
// an acknowledgement after t; it returns an error naming those that had none.
func (s *stream) awaitAcks(ctx context.Context, t time.Time, timeout time.Duration, what string) error {
	limit := time.NewTimer(timeout)
	defer limit.Stop()
	for {
		s.mu.Lock()
		var missing []int32
		for p := range s.parts {
			if slices.Contains(s.keyPart, int32(p)) && !s.parts[p].lastAck.After(t) {
				missing = append(missing, int32(p))
			}
		}
		changed := s.changed
		s.mu.Unlock()
		if len(missing) == 0 {
			return nil
		}
		select {
		case <-changed:
		case <-limit.C:
			return fmt.Errorf("%s: partitions %v of %s had no acknowledgement within %s (%s)", what, missing, s.topic, timeout, s.errorsOf(missing))
		case <-ctx.Done():
			return fmt.Errorf("%s: stopped by %s", what, stopped(ctx))
		}
	}
}

// errorsOf says which errors partitions had since their last acknowledgement.
func (s *stream) errorsOf(ps []int32) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	all := map[string]int64{}
	for _, p := range ps {
		for e, n := range s.parts[p].errs {
			all[e] += n
		}
	}
	if len(all) == 0 {
		return "no errors, no answers"
	}
	return "errors: " + byCount(all)
}

// drain stops sending and waits until every message sent has its answer, or
// until ctx ends; the messages left unanswered count as failed.
func (s *stream) drain(ctx context.Context) {
	s.stopSend()
	<-s.sendDone
	for {
		s.mu.Lock()
		left, changed := s.sent-s.answered, s.changed
		s.mu.Unlock()
		if left <= 0 {
			return
		}
		select {
		case <-changed:
		case <-ctx.Done():
			s.failUnanswered("no answer before " + stopped(ctx))
			return
		}
	}
}

// failUnanswered marks the messages still in flight as failed for reason.
func (s *stream) failUnanswered(reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for seq := range s.next {
		if s.ledger.State(seq) == workload.InFlight {
			s.ledger.Fail(seq, -1)
			s.failedBy[reason]++
		}
	}
}

// close stops sending and closes the producer (bounded, so that a producer
// stuck on a dead broker does not hold the scenario).
func (s *stream) close() {
	s.closeOnce.Do(func() {
		s.stopSend()
		<-s.sendDone
		closeWithin(context.Background(), 5*time.Second, func() { _ = s.producer.Close() })
	})
}

// counts returns how many messages were sent, acknowledged and failed, and the failures by error.
func (s *stream) counts() (sent, acked, failed int64, failedBy map[string]int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for seq := range s.next {
		switch s.ledger.State(seq) {
		case workload.Acked:
			acked++
		case workload.Failed:
			failed++
		}
	}
	failedBy = make(map[string]int64, len(s.failedBy))
	for k, v := range s.failedBy {
		failedBy[k] = v
	}
	return int64(s.sent), acked, failed, failedBy
}

// windows turns the stream's outages into the report's unavailability
// windows, with the leaders the watcher saw, and closes the ones still open
// at end.
func (s *stream) windows(end time.Time) []report.Window {
	s.mu.Lock()
	outs := slices.Clone(s.outages)
	for p := range s.parts {
		t := &s.parts[p]
		if len(t.errs) > 0 {
			outs = append(outs, outage{partition: int32(p), from: t.lastAck, to: end, open: true, label: t.label, errors: t.errs})
		}
	}
	s.mu.Unlock()
	k := s.k
	k.watch.mu.Lock()
	first := k.watch.initial
	k.watch.mu.Unlock()
	var ws []report.Window
	for _, o := range outs {
		from := o.from
		if from.IsZero() {
			from = s.started
		}
		// Metadata is polled: what the window's end saw shows in the answer
		// to the next request.
		seen := k.watch.seenAfter(o.to)
		initial := first.leaderOf(o.partition)
		m, marked := k.markNamed(o.label)
		before := k.watch.leaderAt(o.partition, from, initial)
		if marked { // the leader when the fault struck
			before = k.watch.leaderAt(o.partition, m.at, initial)
		}
		w := report.Window{
			Scenario: k.name, Fault: o.label, Topic: s.topic, Partition: o.partition,
			FromS: k.at(from), ToS: k.at(o.to), DurationS: o.to.Sub(from).Seconds(), Open: o.open,
			LeaderBefore: before, LeaderAfter: k.watch.leaderAt(o.partition, seen, initial), NewLeaderAfterS: -1,
			Errors: o.errors, LeaderChanges: len(k.watch.leaderChanges(o.partition, from, seen)),
		}
		if marked {
			for _, c := range k.watch.leaderChanges(o.partition, m.at, seen) {
				if c.to >= 0 && c.to != before {
					w.NewLeaderAfterS = c.at.Sub(m.at).Seconds()
					break
				}
			}
		}
		ws = append(ws, w)
	}
	return ws
}
