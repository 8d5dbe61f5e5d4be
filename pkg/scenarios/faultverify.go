package scenarios

// Reading a stream's topic back after its faults, accounting for every
// message against the stream's ledger, and judging the counts by the
// guarantee table: what acks, idempotence and replication allow through one
// node failure.

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/IBM/sarama"

	"github.com/chronik-e2e/chronik-e2e/pkg/report"
)

// readBack is what reading a stream's topic back found.
type readBack struct {
	tally              // the stream's ledger, walked once the reading ended
	bad    *badRecords // unexpected and reordered records, found while reading
	mu     sync.Mutex  // guards unread
	unread []string    // partitions not read to their high watermark, and why
}

// verify reads every partition of the stream's topic from its log start to
// its high watermark and accounts for every message the stream sent.
func (s *stream) verify(ctx context.Context) (*readBack, error) {
	env := s.k.env
	cfg := env.Config()
	client, err := within(ctx, func() (sarama.Client, error) { return sarama.NewClient(env.Cluster.Bootstrap(), cfg) })
	if err != nil {
		return nil, fmt.Errorf("connect to read %s back: %w", s.topic, err)
	}
	defer closeWithin(ctx, 5*time.Second, func() { _ = client.Close() })
	consumer, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		return nil, fmt.Errorf("consumer for %s: %w", s.topic, err)
	}
	defer closeWithin(ctx, 5*time.Second, func() { _ = consumer.Close() })

	s.ledger.ResetReads()
	rb := &readBack{bad: newBadRecords()}
	// The offsets first, one partition at a time: sarama closes a broker
	// connection on an error, which would fail the other partitions' calls.
	partitions := len(s.parts)
	starts, hwms := make([]int64, partitions), make([]int64, partitions)
	for p := range int32(partitions) {
		var err error
		if starts[p], err = offsetOf(ctx, client, s.topic, p, sarama.OffsetOldest); err != nil {
			return nil, fmt.Errorf("log start offset of %s partition %d: %w", s.topic, p, err)
		}
		if hwms[p], err = offsetOf(ctx, client, s.topic, p, sarama.OffsetNewest); err != nil {
			return nil, fmt.Errorf("high watermark of %s partition %d: %w", s.topic, p, err)
		}
	}
	done := make([]bool, partitions)
	var wg sync.WaitGroup
	for p := range int32(partitions) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.readPartition(ctx, consumer, p, starts[p], hwms[p], rb.bad)
			rb.mu.Lock()
			defer rb.mu.Unlock()
			if err != nil {
				rb.unread = append(rb.unread, fmt.Sprintf("partition %d: %v", p, err))
				return
			}
			done[p] = true
		}()
	}
	wg.Wait()
	rb.tally = tallyLedger(s.ledger, s.next, len(s.keys),
		func(p int32) bool { return p < 0 || int(p) >= len(done) || !done[p] }, nil, nil)
	return rb, nil
}

// offsetOf asks for topic partition p's offset at (sarama.OffsetOldest or
// OffsetNewest), a few times: a cluster that has just restarted nodes may
// drop a connection or two first.
func offsetOf(ctx context.Context, client sarama.Client, topic string, p int32, at int64) (int64, error) {
	var err error
	for attempt := range 5 {
		if attempt > 0 && sleepCtx(ctx, time.Duration(attempt)*100*time.Millisecond) != nil {
			break
		}
		var off int64
		if off, err = within(ctx, func() (int64, error) { return client.GetOffset(topic, p, at) }); err == nil {
			return off, nil
		}
	}
	return 0, err
}

// readPartition reads partition p from start to its high watermark hwm,
// checking every record against the stream's ledger.
func (s *stream) readPartition(ctx context.Context, consumer sarama.Consumer, p int32, start, hwm int64, bad *badRecords) error {
	if hwm <= start {
		return nil
	}
	pc, err := within(ctx, func() (sarama.PartitionConsumer, error) { return consumer.ConsumePartition(s.topic, p, start) })
	if err != nil {
		return fmt.Errorf("start reading at offset %d: %w", start, err)
	}
	defer pc.AsyncClose()
	c := newChecker(s.runID, s.next, s.keys, s.ledger, bad)
	var n int64
	fetchErrs := map[string]int64{}
	for {
		select {
		case <-ctx.Done():
			what := ""
			if len(fetchErrs) > 0 {
				what = "; fetch errors: " + byCount(fetchErrs)
			}
			return fmt.Errorf("read %d of %d records up to high watermark %d, stopped by %s%s", n, hwm-start, hwm, stopped(ctx), what)
		case ce := <-pc.Errors():
			if ce != nil {
				fetchErrs[errorName(ce.Err, "")]++
			}
		case m := <-pc.Messages():
			n++
			c.check(m, time.Time{})
			if m.Offset+1 >= hwm {
				return nil
			}
		}
	}
}

// breakerOpen is sarama's error for a partition whose leader lookups failed three times in a row.
const breakerOpen = "circuit breaker is open"

// allowance is what the guarantee table allows one stream.
type allowance struct {
	loss, duplicates, reorder bool
	why                       string
}

// allowed returns what a stream of mode may lose or duplicate through its
// faults with replication factor rf; leaderHit says whether a fault took down
// a node that led a partition of the topic.
func allowed(mode streamMode, rf int, leaderHit bool) allowance {
	var a allowance
	var why []string
	switch {
	case mode.acks == "0":
		a.loss = true
		why = append(why, "acks=0: nothing is acknowledged, so what does not come back is counted, not failed")
	case mode.acks == "1" && leaderHit:
		a.loss = true
		why = append(why, "acks=1 with a leader down: a leader acknowledges before its followers copy, so its last writes may be lost")
	case rf < 2 && leaderHit:
		a.loss = true
		why = append(why, "replication factor 1 with its node down: there is no other copy")
	default:
		why = append(why, fmt.Sprintf("acks=%s with replication factor %d through one failure: no acknowledged message may be lost", mode.acks, rf))
	}
	switch {
	case mode.idempotent:
		why = append(why, "idempotent: the broker drops retried batches it already has, so no duplicates")
	case mode.retries > 0:
		a.duplicates, a.reorder = true, true
		why = append(why, fmt.Sprintf("retries=%d without idempotence: a retried batch whose first attempt was written is written twice, and may land after later batches", mode.retries))
	default:
		why = append(why, "no retries: a duplicate can only come from the cluster")
	}
	a.why = strings.Join(why, "; ")
	return a
}

// guaranteeTable is the report's table of what each mode allows through one
// node failure, from the same rules as allowed.
func guaranteeTable() []report.Guarantee {
	row := func(acks string, idem bool, rf string, loss, dups, why string) report.Guarantee {
		return report.Guarantee{Acks: acks, Idempotent: idem, ReplicationFactor: rf, Loss: loss, Duplicates: dups, Why: why}
	}
	return []report.Guarantee{
		row("0", false, "any", "allowed", "never", "nothing is acknowledged: loss is counted and reported, not failed; acks=0 cannot retry"),
		row("1", false, "any", "allowed", "if retried", "the leader acknowledges alone: writes it had not passed on are lost when it dies"),
		row("all", false, "1", "allowed", "if retried", "one replica: acks=all is acks=1"),
		row("all", false, ">=2", "never", "if retried", "every in-sync replica has the write before it is acknowledged; a retry of a written batch duplicates it"),
		row("all", true, "1", "allowed", "never", "one replica; the broker drops a retried batch by producer id and sequence"),
		row("all", true, ">=2", "never", "never", "replicated before acknowledged, and retries deduplicated: exactly once per partition"),
	}
}

// judged says how to judge a stream.
type judged struct {
	leaderHit bool   // a fault took down a node leading a partition of the topic
	prefix    string // of the metrics' names
	label     string // the mode's name in the report; empty: the stream's mode
}

// judge records a stream's delivery in the report's runs and fails the
// scenario for every loss, duplicate or reordering its mode does not allow;
// what it allows is noted, with why.
func (k *faultKit) judge(s *stream, rb *readBack, j judged) {
	rf := k.env.Profile.Topic.ReplicationFactor
	a := allowed(s.mode, rf, j.leaderHit)
	sent, acked, failed, failedBy := s.counts()
	mode, prefix := s.mode.String(), j.prefix
	if j.label != "" {
		mode = j.label
	}
	step := k.step
	passed := true
	check := func(e *examples, ok bool) {
		if e.count == 0 {
			return
		}
		if ok {
			step.Notef("%s: %d %s record(s), allowed (%s)", mode, e.count, e.kind, a.why)
			e.noteInto(step)
			return
		}
		passed = false
		step.Failf("%s: %d %s record(s) (%s)", mode, e.count, e.kind, a.why)
		e.failInto(step)
	}
	check(&rb.lost, a.loss)
	check(&rb.dup, a.duplicates)
	check(&rb.bad.reordered, a.reorder)
	check(&rb.bad.unexpected, false)
	check(&rb.misplaced, false)
	if rb.unackedRead.count > 0 {
		rb.unackedRead.noteInto(step)
	}
	if rb.notReadNoAck > 0 {
		step.Notef("%s: %d of %d messages sent were not read back (allowed: acks=0 gives no delivery guarantee)", mode, rb.notReadNoAck, sent)
	}
	if failed > 0 {
		step.Notef("%s: %d of %d messages not acknowledged (allowed through a fault; none counts as acknowledged): %s", mode, failed, sent, byCount(failedBy))
	}
	if failedBy[breakerOpen] > 0 {
		step.Notef("%s: %q: after three failed leader lookups for a partition, sarama's producer refuses its messages for 10s; "+
			"an unavailability window may include that pause of the client, the time to a new leader in metadata does not", mode, breakerOpen)
	}
	if len(rb.unread) > 0 {
		passed = false
		step.Failf("%s: could not read every partition of %s back: %s", mode, s.topic, strings.Join(rb.unread, "; "))
	}
	lost := rb.lost.count
	if s.mode.acks == "0" { // nothing is acknowledged: lost is sent and never read
		acked, lost = 0, rb.notReadNoAck
	}
	k.rep.AddRun(report.FaultRun{
		Scenario: k.name, Mode: mode, Topic: s.topic, Acks: s.mode.acks, Idempotent: s.mode.idempotent,
		Retries: s.mode.retries, ReplicationFactor: rf, Faults: k.faultsSince(s.started),
		Counts: report.Counts{Sent: sent, Acked: acked, Failed: failed, Consumed: rb.consumed,
			Lost: lost, Duplicated: rb.dup.count, Reordered: rb.bad.reordered.count,
			Unexpected: rb.bad.unexpected.count, Misplaced: rb.misplaced.count, UnackedRead: rb.unackedRead.count},
		LossAllowed: a.loss, DuplicatesAllowed: a.duplicates, Passed: passed,
	})
	step.Metric(prefix+"sent", float64(sent))
	step.Metric(prefix+"acked", float64(acked))
	step.Metric(prefix+"lost", float64(lost))
	step.Metric(prefix+"duplicated", float64(rb.dup.count))
}

// recordWindows adds the stream's unavailability windows to the report and
// the longest to the scenario's metrics.
func (k *faultKit) recordWindows(s *stream, end time.Time) {
	longest := k.step.rep.Metrics["max_unavailable_s"]
	for _, w := range s.windows(end) {
		k.rep.AddWindow(w)
		longest = max(longest, w.DurationS)
		if w.Open {
			k.step.Notef("%s: partition %d had no acknowledgement again after %s (leader %s): unavailable for %s when the scenario stopped producing (%s)",
				s.mode, w.Partition, w.Fault, nodeOrNone(w.LeaderAfter), seconds(w.DurationS), byCount(w.Errors))
		}
	}
	k.step.Metric("max_unavailable_s", longest)
}

func seconds(s float64) string {
	return (time.Duration(s * float64(time.Second))).Round(time.Millisecond).String()
}
