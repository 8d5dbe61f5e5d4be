package scenarios

// Judging a stream after its faults: its read back (with the final audit)
// against the guarantee rules of verify.Allowed, into the report's runs.

import (
	"context"
	"time"

	"github.com/chronik-e2e/chronik-e2e/pkg/report"
	"github.com/chronik-e2e/chronik-e2e/pkg/verify"
)

// breakerOpen is sarama's error for a partition whose leader lookups failed three times in a row.
const breakerOpen = "circuit breaker is open"

// guaranteeTable is the report's table of what each mode allows through one
// node failure (verify.Table).
func guaranteeTable() []report.Guarantee {
	var out []report.Guarantee
	for _, g := range verify.Table() {
		out = append(out, report.Guarantee{Acks: g.Acks, Idempotent: g.Idempotent, ReplicationFactor: g.ReplicationFactor,
			Loss: g.Loss, Duplicates: g.Duplicates, Why: g.Why})
	}
	return out
}

// judged says how to judge a stream.
type judged struct {
	leaderHit bool   // a fault took down a node leading a partition of the topic
	prefix    string // of the metrics' names
	label     string // the mode's name in the report; empty: the stream's mode
}

// finish drains s, reads its topic back, judges it and records its windows.
func (k *faultKit) finish(ctx context.Context, s *stream, j judged) error {
	s.drain(ctx)
	end := time.Now()
	rb, err := s.readBack(ctx)
	if err != nil {
		return err
	}
	k.judge(s, rb, j)
	k.recordWindows(s, end)
	return nil
}

// judge records a stream's delivery in the report's runs and fails the
// scenario for every loss, duplicate or reordering its mode does not allow;
// what it allows is noted, with why.
func (k *faultKit) judge(s *stream, rb *readBack, j judged) {
	rf := k.env.Profile.Topic.ReplicationFactor
	sent, acked, failed, failedBy := s.counts()
	m := s.mode
	m.ClientReordered = s.e.mayReorder() && failed > 0
	a := verify.Allowed(m, rf, j.leaderHit)
	mode := s.mode.String()
	if j.label != "" {
		mode = j.label
	}
	step := k.step
	passed := judgeRead(step, rb, a, mode)
	if rb.tally.NotReadNoAck > 0 {
		step.Notef("%s: %d of %d messages sent were not read back (allowed: acks=0 gives no delivery guarantee)", mode, rb.tally.NotReadNoAck, sent)
	}
	if failed > 0 {
		if s.mode.Acks == "0" {
			step.Notef("%s: %d of %d messages could not be sent (the client or the broker answered with an error; with acks=0 nothing is acknowledged): %s", mode, failed, sent, byCount(failedBy))
		} else {
			step.Notef("%s: %d of %d messages not acknowledged (allowed through a fault; none counts as acknowledged): %s", mode, failed, sent, byCount(failedBy))
		}
	}
	if failedBy[breakerOpen] > 0 {
		step.Notef("%s: %q: after three failed leader lookups for a partition, sarama's producer refuses its messages for 10s; "+
			"an unavailability window may include that pause of the client, the time to a new leader in metadata does not", mode, breakerOpen)
	}
	run := report.FaultRun{
		Scenario: k.name, Mode: mode, Topic: s.topic, Acks: s.mode.Acks, Idempotent: s.mode.Idempotent,
		Retries: s.mode.Retries, ReplicationFactor: rf, Faults: k.faultsSince(s.started),
		Counts:      report.Counts{Sent: sent, Acked: acked, Failed: failed},
		LossAllowed: a.Loss, DuplicatesAllowed: a.Duplicates, Passed: passed, Audit: auditReport(rb),
	}
	deliveryCounts(&run.Counts, rb)
	if s.mode.Acks == "0" { // nothing is acknowledged: lost is sent and never read
		run.Acked, run.Lost = 0, rb.tally.NotReadNoAck
	}
	k.rep.AddRun(run)
	step.Metric(j.prefix+"sent", float64(sent))
	step.Metric(j.prefix+"acked", float64(run.Acked))
	step.Metric(j.prefix+"lost", float64(run.Lost))
	step.Metric(j.prefix+"duplicated", float64(run.Duplicated))
}

// recordWindows adds the stream's unavailability windows to the report and
// the longest to the scenario's metrics.
func (k *faultKit) recordWindows(s *stream, end time.Time) {
	longest := k.step.metricOf("max_unavailable_s")
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
