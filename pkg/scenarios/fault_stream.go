package scenarios

// A stream produces continuously, at faults.rate, while a fault scenario
// does things to the cluster: the producer engine (producer.go) with one
// producer, sending until stopped. Besides the ledger it keeps, per
// partition, when the acknowledgements stopped and when they came back: the
// unavailability windows of the report.

import (
	"context"
	"fmt"
	"hash/fnv"
	"slices"
	"sync"
	"time"

	"github.com/chronik-e2e/chronik-e2e/pkg/report"
	"github.com/chronik-e2e/chronik-e2e/pkg/verify"
	"github.com/chronik-e2e/chronik-e2e/pkg/workload"
)

// maxStreamMessages bounds a stream's ledger (16 bytes a message).
const maxStreamMessages = 4 << 20

// maxErrorEvents bounds the first-error events one stream adds to the timeline.
const maxErrorEvents = 50

// retryBackoff is the retrying producers' backoff; their retries cover
// faults.election_timeout.
const retryBackoff = 100 * time.Millisecond

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
	k       *faultKit
	mode    verify.Mode
	topic   string
	exp     verify.Expect
	ledger  *verify.Ledger
	e       *engine
	keyPart []int32 // the partition each key hashes to
	started time.Time
	gap     time.Duration // a longer stretch without acknowledgements is an outage even without errors

	mu        sync.Mutex
	parts     []partTrack
	outages   []outage
	errEvents int
	changed   chan struct{} // closed and replaced on every answer
}

// startStream creates a producer of mode for the kit's topic and starts
// sending at faults.rate.
func (k *faultKit) startStream(ctx context.Context, mode verify.Mode) (*stream, error) {
	env := k.env
	rate := k.cfg.Rate
	capacity := int(float64(rate) * (env.Profile.Timeouts.Scenario.Seconds() + 10))
	capacity = max(min(capacity, maxStreamMessages), 1)
	partitions := env.Profile.Topic.Partitions
	h := fnv.New64a()
	fmt.Fprintf(h, "%s/%s/%s", k.name, k.topic, mode)
	keys := workload.Keys(env.Profile.Workload.Keys)
	s := &stream{
		k: k, mode: mode, topic: k.topic, ledger: verify.NewLedger(capacity),
		parts: make([]partTrack, partitions), changed: make(chan struct{}),
		keyPart: keyPartitions(env.Config(), k.topic, keys, partitions),
	}
	s.exp = verify.Expect{RunID: env.RunID ^ h.Sum64(), N: capacity, Keys: keys}
	interval := time.Duration(float64(time.Second) * float64(partitions) / float64(rate))
	s.gap = max(20*interval, 250*time.Millisecond)
	for i := range s.parts {
		s.parts[i].errs = map[string]int64{}
	}
	s.started = time.Now()
	e, err := startEngine(ctx, env, engineOptions{
		topic: k.topic, mode: mode, engine: env.Profile.Workload.Engine, compression: env.Profile.Workload.Compression, producers: 1, rate: rate, noBurst: true,
		valueBytes: env.Profile.Workload.ValueBytes, runID: s.exp.RunID, keys: keys, ledger: s.ledger,
		onAnswer: s.answer, leaderOf: func(p int32) int32 { return k.watch.snapshot().leaderOf(p) },
	})
	if err != nil {
		return nil, err
	}
	s.e = e
	k.onDone(s.close)
	return s, nil
}

// resume starts sending again, at faults.rate, from the next sequence.
func (s *stream) resume() { s.e.resume() }

// drain stops sending and waits until every message sent has its answer,
// or until ctx ends; the messages left unanswered count as failed.
func (s *stream) drain(ctx context.Context) {
	s.e.drain(ctx)
	if s.e.full.Load() {
		s.k.step.Notef("%s stream stopped sending after %d messages: its ledger is full (faults.rate × timeouts.scenario)", s.mode, s.ledger.Len())
	}
}

// close stops sending and closes the producer.
func (s *stream) close() { s.e.close() }

// answer records one answer in its partition's outage tracking (the engine
// has recorded it in the ledger).
func (s *stream) answer(seq int, p int32, acked bool, reason string, now time.Time) {
	if p < 0 || int(p) >= len(s.parts) {
		p = s.keyPart[seq%len(s.keyPart)]
	}
	s.mu.Lock()
	defer func() {
		close(s.changed)
		s.changed = make(chan struct{})
		s.mu.Unlock()
	}()
	if p < 0 {
		return
	}
	t := &s.parts[p]
	if reason != "" {
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
	if s.mode.Acks == "0" {
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

// counts returns how many messages were sent, acknowledged and failed, and the failures by error.
func (s *stream) counts() (sent, acked, failed int64, failedBy map[string]int64) {
	st := s.e.stats()
	for seq := range s.ledger.Len() {
		switch s.ledger.State(seq) {
		case verify.Acked:
			acked++
		case verify.Failed:
			failed++
		}
	}
	return st.sent, acked, failed, st.failedBy
}

// readBack reads the stream's topic back from its log start and accounts for
// every message the stream sent (the final audit included).
func (s *stream) readBack(ctx context.Context) (*readBack, error) {
	s.ledger.ResetReads()
	rd, err := startRead(ctx, s.k.env, s.topic, s.exp, s.ledger, nil, false)
	if err != nil {
		return nil, fmt.Errorf("read %s back: %w", s.topic, err)
	}
	return finishRead(ctx, s.k.env, s.topic, rd, s.exp, s.ledger, s.ledger.Len(), nil)
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

// stallSpan is how long a leader must have answered only errors before
// awaitStall believes it stopped acknowledging: its first error after a cut
// may be a write that was already waiting when the cut came.
const stallSpan = 250 * time.Millisecond

// awaitStall waits, up to timeout, until node leader no longer acknowledges
// the stream's writes to partitions ps as if it could replicate them: each
// has answered only errors for stallSpan since t, or metadata shows another
// leader. It returns an error naming the partitions still acknowledged.
func (s *stream) awaitStall(ctx context.Context, ps []int32, leader int32, t time.Time, timeout time.Duration) error {
	limit := time.NewTimer(timeout)
	defer limit.Stop()
	tick := time.NewTicker(watchInterval)
	defer tick.Stop()
	for {
		snap := s.k.watch.snapshot()
		var acking []int32
		s.mu.Lock()
		for _, p := range ps {
			if int(p) >= len(s.parts) || !slices.Contains(s.keyPart, p) || snap.at.After(t) && snap.leaderOf(p) != leader {
				continue
			}
			if pt := &s.parts[p]; len(pt.errs) == 0 || pt.firstErr.Before(t) || time.Since(pt.firstErr) < stallSpan {
				acking = append(acking, p)
			}
		}
		s.mu.Unlock()
		if len(acking) == 0 {
			return nil
		}
		select {
		case <-tick.C:
		case <-limit.C:
			return fmt.Errorf("partitions %v of %s were still led by node %d and acknowledged writes %s later", acking, s.topic, leader, timeout)
		case <-ctx.Done():
			return fmt.Errorf("stopped by %s", stopped(ctx))
		}
	}
}
