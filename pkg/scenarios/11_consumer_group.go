package scenarios

// consumer-group runs faults.consumers sarama consumers in one group over
// its own topic while producing with acks=all; mid-way one consumer leaves
// the group and later a new one joins. Every acknowledged message must be
// consumed at least once, and the offsets the group committed must end at
// the partitions' high watermarks.
//
// Measures: the time until the group had every partition assigned, at the
// start and after the leave and the join (the rebalances); messages
// consumed more than once (allowed: at-least-once delivery re-delivers what
// was read but not committed before a rebalance).
// Fails: on an acknowledged message no consumer read, a record that is not
// this run's, a group that does not assign every partition within
// faults.election_timeout, consumers that do not reach the high watermarks
// within faults.recovery_timeout, or a committed offset other than the high
// watermark.
// Cannot detect: reordering (a rebalance re-delivers from the last commit,
// so order across one is not a property of the group).

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/IBM/sarama"

	"github.com/chronik-e2e/chronik-e2e/pkg/report"
	"github.com/chronik-e2e/chronik-e2e/pkg/safe"
	"github.com/chronik-e2e/chronik-e2e/pkg/verify"
)

func init() {
	Register(faultScenario{
		name:    "consumer-group",
		summary: "consumers in one group while producing; one leaves, one joins: everything acked consumed, commits at the high watermarks",
		body:    consumerGroup,
	})
}

func consumerGroup(ctx context.Context, k *faultKit) error {
	env := k.env
	if err := k.createTopic(ctx, "group"); err != nil {
		return err
	}
	s, err := k.startStream(ctx, verify.Mode{Acks: "all"})
	if err != nil {
		return err
	}
	g := &group{k: k, s: s, name: fmt.Sprintf("chronik-e2e-%s-%08x", k.topic, uint32(env.RunID)), members: map[int]*member{}, high: map[int32]int64{},
		found: verify.NewFindings()}
	g.check = verify.NewUnorderedChecker(s.exp, s.ledger, g.found)
	env.noteGroup(g.name)
	k.onDone(g.closeAll)
	n := k.cfg.Consumers
	start := time.Now()
	for range n {
		if err := g.join(); err != nil {
			return err
		}
	}
	if !g.awaitBalanced(ctx, start, "the group formed", "group_formed_s", n) {
		return ctxOr(ctx)
	}
	if err := s.warmup(ctx); err != nil {
		return err
	}

	left := time.Now()
	leaver := g.leave()
	k.event(left, report.EventGroup, -1, -1, "consumer %d left the group", leaver)
	if !g.awaitBalanced(ctx, left, fmt.Sprintf("consumer %d left", leaver), "rebalance_leave_s", n-1) {
		return ctxOr(ctx)
	}
	if err := k.settle(ctx); err != nil {
		return err
	}
	joined := time.Now()
	if err := g.join(); err != nil {
		return err
	}
	k.event(joined, report.EventGroup, -1, -1, "consumer %d joined the group", g.next-1)
	if !g.awaitBalanced(ctx, joined, fmt.Sprintf("consumer %d joined", g.next-1), "rebalance_join_s", n) {
		return ctxOr(ctx)
	}
	if err := k.settle(ctx); err != nil {
		return err
	}

	s.drain(ctx)
	hwms, err := k.highWatermarks(ctx)
	if err != nil {
		return err
	}
	caughtUp := g.awaitConsumed(ctx, hwms)
	g.closeAll()
	if ctx.Err() != nil {
		return ctxOr(ctx)
	}
	if caughtUp {
		if err := g.checkCommitted(ctx, hwms); err != nil {
			return err
		}
	}
	g.account(hwms)
	return nil
}

// group is the scenario's consumer group: its members, what they were
// assigned and how far they read.
type group struct {
	k    *faultKit
	s    *stream
	name string
	next int // id of the next member

	mu      sync.Mutex
	members map[int]*member
	high    map[int32]int64 // per partition: the highest offset read + 1
	errs    map[string]int64
	changed chan struct{}

	check *verify.Checker  // every record read, by every member (safe for concurrent use)
	found *verify.Findings // records that are not this stream's
}

// member is one consumer of the group.
type member struct {
	id        int
	cg        sarama.ConsumerGroup
	cancel    context.CancelFunc
	done      chan struct{}
	claims    []int32   // partitions of the current session
	setupAt   time.Time // when the current session started
	inSession bool
}

// groupConfig returns the consumers' config: the profile's session timeout,
// heartbeats at a fifth of it, commits every 250ms, reading from the start.
func (g *group) groupConfig() *sarama.Config {
	cfg := g.k.env.Config()
	session := g.k.cfg.SessionTimeout.Duration
	cfg.Consumer.Group.Session.Timeout = session
	cfg.Consumer.Group.Heartbeat.Interval = max(session/5, 10*time.Millisecond)
	cfg.Consumer.Group.Rebalance.Timeout = max(session, time.Second)
	cfg.Consumer.Group.Rebalance.Retry.Backoff = 100 * time.Millisecond
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	cfg.Consumer.Offsets.AutoCommit.Enable = true
	cfg.Consumer.Offsets.AutoCommit.Interval = 250 * time.Millisecond
	cfg.Consumer.Return.Errors = true
	return cfg
}

// join starts a new member.
func (g *group) join() error {
	cg, err := sarama.NewConsumerGroup(g.k.env.Cluster.Bootstrap(), g.name, g.groupConfig())
	if err != nil {
		return fmt.Errorf("start consumer %d of group %s: %w", g.next, g.name, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &member{id: g.next, cg: cg, cancel: cancel, done: make(chan struct{})}
	g.next++
	g.mu.Lock()
	g.members[m.id] = m
	if g.changed == nil {
		g.changed = make(chan struct{})
	}
	g.mu.Unlock()
	panics := g.k.env.Panics
	panics.Go(fmt.Sprintf("error reader of consumer %d", m.id), func() { g.drainErrors(m) })
	panics.Go(fmt.Sprintf("consumer %d of group %s", m.id, g.name), func() {
		defer close(m.done)
		for ctx.Err() == nil {
			err := cg.Consume(ctx, []string{g.s.topic}, &handler{g: g, m: m})
			if errors.Is(err, sarama.ErrClosedConsumerGroup) {
				return
			}
			if err != nil {
				g.noteErr(err)
				_ = sleepCtx(ctx, 100*time.Millisecond)
			}
		}
	})
	return nil
}

func (g *group) drainErrors(m *member) {
	for err := range m.cg.Errors() {
		g.noteErr(err)
	}
}

func (g *group) noteErr(err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.errs == nil {
		g.errs = map[string]int64{}
	}
	g.errs[verify.ErrorName(err, "")]++
}

// leave closes the member that joined first (a graceful leave: it commits
// and leaves the group) and returns its id.
func (g *group) leave() int {
	g.mu.Lock()
	ids := slices.Sorted(maps.Keys(g.members))
	m := g.members[ids[0]]
	delete(g.members, m.id)
	g.mu.Unlock()
	g.stop(m)
	return m.id
}

// stop ends a member's consuming and closes it, bounded.
func (g *group) stop(m *member) {
	m.cancel()
	closeWithin(safe.WithRecorder(context.Background(), g.k.env.Panics), 10*time.Second, func() { _ = m.cg.Close() })
	select {
	case <-m.done:
	case <-time.After(10 * time.Second):
	}
}

// closeAll stops every member.
func (g *group) closeAll() {
	g.mu.Lock()
	ms := slices.Collect(maps.Values(g.members))
	g.members = map[int]*member{}
	g.mu.Unlock()
	var wg sync.WaitGroup
	for _, m := range ms {
		wg.Add(1)
		g.k.env.Panics.Go("closing a group member", func() { defer wg.Done(); g.stop(m) })
	}
	wg.Wait()
}

func (g *group) signal() {
	close(g.changed)
	g.changed = make(chan struct{})
}

// handler is one member's sarama handler.
type handler struct {
	g *group
	m *member
}

// The handler's methods run on sarama's goroutines: a panic in them is
// recorded, not a crash.

func (h *handler) Setup(sess sarama.ConsumerGroupSession) error {
	defer h.g.k.env.Panics.Recover(fmt.Sprintf("consumer %d's session setup", h.m.id))
	g := h.g
	g.mu.Lock()
	defer g.mu.Unlock()
	h.m.claims = slices.Clone(sess.Claims()[g.s.topic])
	slices.Sort(h.m.claims)
	h.m.setupAt, h.m.inSession = time.Now(), true
	g.signal()
	return nil
}

func (h *handler) Cleanup(sarama.ConsumerGroupSession) error {
	defer h.g.k.env.Panics.Recover(fmt.Sprintf("consumer %d's session cleanup", h.m.id))
	g := h.g
	g.mu.Lock()
	defer g.mu.Unlock()
	h.m.claims, h.m.inSession = nil, false
	g.signal()
	return nil
}

func (h *handler) ConsumeClaim(sess sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	defer h.g.k.env.Panics.Recover(fmt.Sprintf("consumer %d reading partition %d", h.m.id, claim.Partition()))
	g := h.g
	for m := range claim.Messages() {
		g.record(m)
		sess.MarkMessage(m, "")
	}
	return nil
}

// record checks one consumed record and counts its read in the ledger.
func (g *group) record(m *sarama.ConsumerMessage) {
	g.check.Check(verify.Record{Partition: m.Partition, Offset: m.Offset, Key: m.Key, Value: m.Value}, time.Time{}, false)
	g.mu.Lock()
	defer g.mu.Unlock()
	if m.Offset+1 > g.high[m.Partition] {
		g.high[m.Partition] = m.Offset + 1
		g.signal()
	}
}

// awaitBalanced waits, up to faults.election_timeout, until members members
// have each started a session after since and together hold every
// partition once; it records the time as metric and on the timeline, or
// fails the scenario.
func (g *group) awaitBalanced(ctx context.Context, since time.Time, after, metric string, members int) bool {
	k := g.k
	partitions := k.env.Profile.Topic.Partitions
	timeout := k.cfg.ElectionTimeout.Duration
	limit := time.NewTimer(timeout)
	defer limit.Stop()
	for {
		g.mu.Lock()
		owner := map[int32]int{}
		fresh, double := 0, false
		for _, m := range g.members {
			if !m.inSession || m.setupAt.Before(since) {
				continue
			}
			fresh++
			for _, p := range m.claims {
				if _, dup := owner[p]; dup {
					double = true
				}
				owner[p] = m.id
			}
		}
		changed := g.changed
		g.mu.Unlock()
		if fresh == members && len(owner) == partitions && !double {
			took := time.Since(since)
			k.step.Metric(metric, took.Seconds())
			k.event(time.Now(), report.EventRebalance, -1, -1, "every partition assigned %s after %s: %s", took.Round(time.Millisecond), after, assignment(owner))
			return true
		}
		select {
		case <-changed:
		case <-limit.C:
			k.step.Failf("group %s did not assign every partition to its %d members within faults.election_timeout (%s) after %s: %d member(s) in a new session, partitions assigned %s",
				g.name, members, timeout, after, fresh, assignment(owner))
			return false
		case <-ctx.Done():
			return false
		}
	}
}

// assignment renders partition owners: "p0→c1 p1→c2".
func assignment(owner map[int32]int) string {
	ps := slices.Sorted(maps.Keys(owner))
	parts := make([]string, len(ps))
	for i, p := range ps {
		parts[i] = fmt.Sprintf("p%d→consumer %d", p, owner[p])
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// awaitConsumed waits, up to faults.recovery_timeout, until the group has
// read every partition to its high watermark; it fails the scenario, naming
// the partitions behind, when it has not.
func (g *group) awaitConsumed(ctx context.Context, hwms map[int32]int64) bool {
	timeout := g.k.cfg.RecoveryTimeout.Duration
	limit := time.NewTimer(timeout)
	defer limit.Stop()
	for {
		g.mu.Lock()
		var behind []string
		for _, p := range slices.Sorted(maps.Keys(hwms)) {
			if g.high[p] < hwms[p] {
				behind = append(behind, fmt.Sprintf("partition %d read to offset %d of high watermark %d", p, g.high[p], hwms[p]))
			}
		}
		changed := g.changed
		errs := maps.Clone(g.errs)
		g.mu.Unlock()
		if len(behind) == 0 {
			return true
		}
		select {
		case <-changed:
		case <-limit.C:
			why := ""
			if len(errs) > 0 {
				why = "; consumer errors: " + byCount(errs)
			}
			g.k.step.Failf("group %s did not read every partition to its high watermark within faults.recovery_timeout (%s) after producing stopped: %s%s",
				g.name, timeout, strings.Join(behind, "; "), why)
			return false
		case <-ctx.Done():
			return false
		}
	}
}

// checkCommitted fails the scenario for every partition whose committed
// offset is not its high watermark.
func (g *group) checkCommitted(ctx context.Context, hwms map[int32]int64) error {
	k := g.k
	admin, err := within(ctx, func() (sarama.ClusterAdmin, error) {
		return sarama.NewClusterAdmin(k.env.Cluster.Bootstrap(), k.env.Config())
	})
	if err != nil {
		return fmt.Errorf("admin client for the committed offsets of group %s: %w", g.name, err)
	}
	defer closeWithin(ctx, 5*time.Second, func() { _ = admin.Close() })
	ps := slices.Sorted(maps.Keys(hwms))
	resp, err := within(ctx, func() (*sarama.OffsetFetchResponse, error) {
		return admin.ListConsumerGroupOffsets(g.name, map[string][]int32{k.topic: ps})
	})
	if err != nil {
		return fmt.Errorf("committed offsets of group %s: %w", g.name, err)
	}
	var wrong []string
	for _, p := range ps {
		committed := int64(-1)
		if b := resp.GetBlock(k.topic, p); b != nil && b.Err == sarama.ErrNoError {
			committed = b.Offset
		}
		if committed != hwms[p] {
			wrong = append(wrong, fmt.Sprintf("partition %d committed %d, high watermark %d", p, committed, hwms[p]))
		}
	}
	sort.Strings(wrong)
	if len(wrong) > 0 {
		k.step.Failf("group %s's committed offsets do not end at the high watermarks (-1: none committed): %s", g.name, strings.Join(wrong, "; "))
	}
	return nil
}

// account fails the scenario for every acknowledged message no consumer
// read and every record that was not this stream's, notes re-deliveries,
// and records the group's delivery in the report.
func (g *group) account(hwms map[int32]int64) {
	k, s := g.k, g.s
	g.mu.Lock()
	cov := map[int32]*verify.Coverage{}
	for p, hwm := range hwms {
		cov[p] = &verify.Coverage{Partition: p, End: hwm, Next: g.high[p], Done: g.high[p] >= hwm, Failed: true,
			Stopped: fmt.Sprintf("the group read this partition only up to offset %d within faults.recovery_timeout", g.high[p])}
	}
	g.mu.Unlock()
	t := verify.TallyLedger(s.ledger, verify.TallyOptions{N: s.ledger.Len(), Keys: len(s.exp.Keys), Coverage: cov})
	t.Lost.Kind, t.Duplicated.Kind = "acknowledged but consumed by no member", "consumed more than once"
	if t.Lost.Count > 0 {
		k.step.Failf("%d acknowledged message(s) consumed by no member of group %s", t.Lost.Count, g.name)
		for _, l := range t.Losses {
			k.step.Failf("lost: %s", l)
		}
		k.step.failExamples(&t.Lost)
	}
	bad := g.found.Unexpected.Count
	if bad > 0 {
		k.step.Failf("%d record(s) of group %s's topic are not this run's", bad, g.name)
		k.step.failExamples(&g.found.Unexpected)
	}
	if t.Duplicated.Count > 0 {
		k.step.Notef("%d message(s) consumed more than once (allowed: a rebalance re-delivers what was read but not yet committed)", t.Duplicated.Count)
		k.step.noteExamples(&t.Duplicated)
	}
	sent, acked, failed, failedBy := s.counts()
	if failed > 0 {
		k.step.Notef("acks=all: %d of %d messages not acknowledged: %s", failed, sent, byCount(failedBy))
	}
	k.step.Metric("consumed", float64(t.Consumed))
	k.step.Metric("consumed_again", float64(t.Duplicated.Count))
	run := report.FaultRun{
		Scenario: k.name, Mode: fmt.Sprintf("acks=all, group of %d", k.cfg.Consumers), Topic: s.topic, Acks: "all",
		ReplicationFactor: k.env.Profile.Topic.ReplicationFactor, Faults: "a consumer leaves, a consumer joins",
		Counts: report.Counts{Sent: sent, Acked: acked, Failed: failed, Consumed: t.Consumed, Lost: t.Lost.Count, Duplicated: t.Duplicated.Count,
			Unexpected: bad},
		DuplicatesAllowed: true, Passed: t.Lost.Count == 0 && bad == 0,
	}
	if len(t.Losses) > 0 {
		run.LostByCause = t.LostByCause()
	}
	k.rep.AddRun(run)
}
