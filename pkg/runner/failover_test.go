package runner_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/chronik-e2e/chronik-e2e/pkg/cluster"
	"github.com/chronik-e2e/chronik-e2e/pkg/profile"
	"github.com/chronik-e2e/chronik-e2e/pkg/report"
)

// faultScenarios are the fault scenarios, in the order of configs/failover.yaml.
var faultScenarios = []string{"leader-failover", "node-restart", "cluster-restart", "rolling-restart", "acks-matrix", "idempotence", "consumer-group"}

// faultProfile returns a small profile running scenarios names on a 3-node
// cluster with short fault timings; edit changes it before validation.
func faultProfile(t *testing.T, edit func(*profile.Profile), names ...string) *profile.Profile {
	t.Helper()
	return smallProfile(t, 3, 3, 3, func(p *profile.Profile) {
		p.Scenarios = names
		f := &p.Faults
		f.Rate = 1000
		f.Warmup.Duration, f.Settle.Duration = 100*time.Millisecond, 100*time.Millisecond
		f.ElectionTimeout.Duration, f.RecoveryTimeout.Duration = 5*time.Second, 5*time.Second
		f.SessionTimeout.Duration = time.Second
		if edit != nil {
			edit(p)
		}
	})
}

// startDurable starts a 3-node embedded cluster that keeps its data on disk,
// as the runner's own does, closed when the test ends.
func startDurable(t *testing.T) *cluster.Embedded {
	t.Helper()
	c, err := cluster.StartEmbeddedDurable(3)
	if err != nil {
		t.Fatalf("start embedded cluster: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// harmful is an embedded cluster whose node operations do harm after doing
// their job: the way a test makes a fault lose data, or a start not start.
type harmful struct {
	*cluster.Embedded
	topics *topicLog
	// before and after run before and after each operation (after only
	// when it succeeded); skip, when it returns true for an operation,
	// makes Do pretend to perform it.
	before, after func(op cluster.Op, n cluster.Node)
	skip          func(op cluster.Op, n cluster.Node) bool
}

func (h *harmful) Do(ctx context.Context, op cluster.Op, n cluster.Node) (string, error) {
	if h.before != nil {
		h.before(op, n)
	}
	if h.skip != nil && h.skip(op, n) {
		return "pretended to " + string(op), nil
	}
	out, err := h.Embedded.Do(ctx, op, n)
	if err == nil && h.after != nil {
		h.after(op, n)
	}
	return out, err
}

// topicLog records the topics created on a kfake cluster.
type topicLog struct {
	mu     sync.Mutex
	topics []string
}

// named returns the created topic whose name ends with -suffix.
func (l *topicLog) named(t *testing.T, suffix string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, name := range l.topics {
		if strings.HasSuffix(name, "-"+suffix) {
			return name
		}
	}
	t.Errorf("no topic *-%s was created; topics: %v", suffix, l.topics)
	return ""
}

// startHarmful starts a 3-node embedded cluster that records the topics created on it.
func startHarmful(t *testing.T) *harmful {
	t.Helper()
	h := &harmful{Embedded: startDurable(t), topics: &topicLog{}}
	h.Kfake().Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.CreateTopics}, Observe: true, Count: -1, When: func(req kmsg.Request) bool {
		h.topics.mu.Lock()
		defer h.topics.mu.Unlock()
		for _, rt := range req.(*kmsg.CreateTopicsRequest).Topics {
			h.topics.topics = append(h.topics.topics, rt.Topic)
		}
		return true
	}})
	return h
}

// deleteAll makes every record of topic's partitions unreadable (the log
// start moves to the high watermark): acknowledged messages lost.
func (h *harmful) deleteAll(t *testing.T, topic string, partitions ...int32) {
	t.Helper()
	for _, p := range partitions {
		if err := h.Kfake().DeleteRecords(topic, p, -1); err != nil {
			t.Errorf("delete records of %s partition %d: %v", topic, p, err)
		}
	}
}

// run returns the named run of the fault report, failing the test without one.
func faultRun(t *testing.T, rep *report.Report, scenario, mode string) report.FaultRun {
	t.Helper()
	if rep.Faults == nil {
		t.Fatalf("the report has no faults section")
	}
	for _, r := range rep.Faults.Runs {
		if r.Scenario == scenario && r.Mode == mode {
			return r
		}
	}
	t.Fatalf("no run %q of %s in the report: %+v", mode, scenario, rep.Faults.Runs)
	return report.FaultRun{}
}

// kinds returns the kinds of a scenario's timeline events, once each.
func kinds(rep *report.Report, scenario string) []string {
	var out []string
	for _, e := range rep.Faults.Timeline {
		if e.Scenario == scenario && !slices.Contains(out, e.Kind) {
			out = append(out, e.Kind)
		}
	}
	return out
}

// TestFaultScenariosPassOnHealthyCluster: every fault scenario passes on a
// healthy embedded cluster, in one run as configs/failover.yaml runs them,
// and the report has the timeline, windows, runs and guarantee table.
func TestFaultScenariosPassOnHealthyCluster(t *testing.T) {
	t.Parallel()
	names := append([]string{"topic-create"}, faultScenarios...)
	names = append(names, "metadata") // the cluster is whole and balanced again afterwards
	rep := run(t, faultProfile(t, nil, names...), startDurable(t))
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	verdicts(t, rep, want)

	f := rep.Faults
	if f == nil {
		t.Fatal("the report has no faults section")
	}
	if f.Target != "leader-of-most" || f.Seed <= 0 || !strings.Contains(f.Limits, "kfake") || len(f.Guarantees) != 6 {
		t.Errorf("faults: target %q, seed %d, limits %q, %d guarantees", f.Target, f.Seed, f.Limits, len(f.Guarantees))
	}
	wantRuns := []struct{ scenario, mode string }{
		{"leader-failover", "acks=all"}, {"node-restart", "acks=all"},
		{"cluster-restart", "acks=all, stop all"}, {"cluster-restart", "acks=all, kill all"},
		{"rolling-restart", "acks=all"},
		{"acks-matrix", "acks=0"}, {"acks-matrix", "acks=1"}, {"acks-matrix", "acks=all"},
		{"idempotence", "acks=all idempotent"}, {"idempotence", "acks=all retrying"},
		{"consumer-group", "acks=all, group of 3"},
	}
	if len(f.Runs) != len(wantRuns) {
		t.Errorf("%d runs, want %d: %+v", len(f.Runs), len(wantRuns), f.Runs)
	}
	for _, w := range wantRuns {
		r := faultRun(t, rep, w.scenario, w.mode)
		if !r.Passed || r.Sent == 0 || r.Unexpected+r.Misplaced+r.Reordered != 0 {
			t.Errorf("run %s %s: %+v", w.scenario, w.mode, r)
		}
		if r.Acks != "0" && (r.Acked == 0 || r.Lost != 0) {
			t.Errorf("run %s %s: acked %d, lost %d; want acks and no loss", w.scenario, w.mode, r.Acked, r.Lost)
		}
	}
	for _, s := range []string{"leader-failover", "node-restart", "rolling-restart"} {
		got := kinds(rep, s)
		for _, k := range []string{report.EventFault, report.EventNewLeader, report.EventNodeGone, report.EventNodeListed, report.EventISR} {
			if !slices.Contains(got, k) {
				t.Errorf("%s: no %s event on the timeline (kinds %v)", s, k, got)
			}
		}
	}
	if got := kinds(rep, "consumer-group"); !slices.Contains(got, report.EventRebalance) || !slices.Contains(got, report.EventGroup) {
		t.Errorf("consumer-group: timeline kinds %v, want group and rebalance events", got)
	}
	for _, m := range []string{"rebalance_leave_s", "rebalance_join_s", "group_formed_s"} {
		if _, ok := section(t, rep, "consumer-group").Metrics[m]; !ok {
			t.Errorf("consumer-group: no metric %s", m)
		}
	}
	if _, ok := section(t, rep, "node-restart").Metrics["isr_restored_s"]; !ok {
		t.Errorf("node-restart: no isr_restored_s metric")
	}
	// kfake's ISR follows the live brokers: ISR honesty is not applicable,
	// and says why, for every node taken down; never a silent pass.
	if len(f.ISR) == 0 {
		t.Errorf("no ISR entries: want one not-applicable entry per node taken down")
	}
	for _, n := range f.ISR {
		if n.Verdict != report.ISRNotApplicable || !strings.Contains(n.Detail, "kfake") {
			t.Errorf("ISR entry %+v: want not applicable, saying why", n)
		}
	}
	if len(notesWith(section(t, rep, "leader-failover"), "ISR honesty: not applicable: the embedded cluster (kfake) lists")) == 0 {
		t.Errorf("leader-failover: no note that ISR honesty is not applicable on kfake")
	}
	// A kill may go unnoticed by the producer (its next message finds the
	// new leader): a window is not certain, its leaders are.
	for _, w := range f.Windows {
		if w.Scenario == "leader-failover" && w.Fault == "kill node 0" && (w.Open || w.LeaderBefore != 0 || w.LeaderAfter == 0) {
			t.Errorf("leader-failover window %+v: want closed, from leader 0 to another", w)
		}
		if w.Fault == "warm-up" {
			t.Errorf("window %+v: no partition may be unavailable before the first fault", w)
		}
	}
}

// TestLeaderFailoverDetectsLoss: the cluster loses every record of the
// topic when the leader dies. Acked messages are lost: acks=all with RF 3
// allows none, so leader-failover fails naming them.
func TestLeaderFailoverDetectsLoss(t *testing.T) {
	t.Parallel()
	h := startHarmful(t)
	h.after = func(op cluster.Op, n cluster.Node) {
		if op == cluster.OpKill {
			h.deleteAll(t, h.topics.named(t, "failover"), 0, 1, 2)
		}
	}
	rep := run(t, faultProfile(t, nil, "leader-failover"), h)
	verdicts(t, rep, map[string]bool{"leader-failover": false})
	r := faultRun(t, rep, "leader-failover", "acks=all")
	if r.Lost == 0 || r.Passed || r.LossAllowed {
		t.Errorf("run %+v: want lost records, not allowed, failed", r)
	}
	wantFinding(t, section(t, rep, "leader-failover"), fmt.Sprintf("acks=all: %d lost record(s)", r.Lost), "no acknowledged message may be lost")
	wantFinding(t, section(t, rep, "leader-failover"), "lost: sequence ", "never read")
}

// TestLeaderFailoverDetectsNoElection: after the kill, metadata shows no
// leader for the partitions the killed node led, until it is back.
// leader-failover must fail naming them, after faults.election_timeout.
func TestLeaderFailoverDetectsNoElection(t *testing.T) {
	t.Parallel()
	h := startHarmful(t)
	var noLeader *kfake.FaultHandle
	h.before = func(op cluster.Op, n cluster.Node) { // before the kill elects: no one sees the election
		if op == cluster.OpKill {
			topic := h.topics.named(t, "failover")
			noLeader = h.Kfake().Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Metadata}, Topic: topic, Partitions: []int32{0},
				Err: kerr.LeaderNotAvailable, Count: -1})
		}
	}
	h.after = func(op cluster.Op, n cluster.Node) {
		if op == cluster.OpStart {
			noLeader.Remove()
		}
	}
	rep := run(t, faultProfile(t, func(p *profile.Profile) { p.Faults.ElectionTimeout.Duration = time.Second }, "leader-failover"), h)
	verdicts(t, rep, map[string]bool{"leader-failover": false})
	lf := section(t, rep, "leader-failover")
	wantFinding(t, lf, "no leader elected within faults.election_timeout (1s) after kill node 0: partition 0 (no leader)")
	if len(lf.Findings) != 1 {
		t.Errorf("findings %q, want only the election", lf.Findings)
	}
	if !slices.Contains(kinds(rep, "leader-failover"), report.EventNoLeader) {
		t.Errorf("no no-leader event on the timeline: %v", kinds(rep, "leader-failover"))
	}
}

// TestNodeRestartDetectsNodeNotBack: the start does nothing, so the node
// never comes back: node-restart must fail saying so.
func TestNodeRestartDetectsNodeNotBack(t *testing.T) {
	t.Parallel()
	h := startHarmful(t)
	h.skip = func(op cluster.Op, n cluster.Node) bool { return op == cluster.OpStart }
	rep := run(t, faultProfile(t, func(p *profile.Profile) { p.Faults.RecoveryTimeout.Duration = time.Second }, "node-restart"), h)
	verdicts(t, rep, map[string]bool{"node-restart": false})
	nr := section(t, rep, "node-restart")
	wantFinding(t, nr, "node 0 was started but metadata did not list it within faults.recovery_timeout (1s); brokers listed: [1 2]")
	if r := faultRun(t, rep, "node-restart", "acks=all"); !r.Passed || r.Lost != 0 {
		t.Errorf("run %+v: the data is all there; only the node is missing", r)
	}
}

// TestNodeRestartDetectsLoss: the restarted node comes back with the
// records of partition 1 gone (a follower that truncated committed data
// and then led): node-restart must call them lost.
func TestNodeRestartDetectsLoss(t *testing.T) {
	t.Parallel()
	h := startHarmful(t)
	h.after = func(op cluster.Op, n cluster.Node) {
		if op == cluster.OpStart {
			h.deleteAll(t, h.topics.named(t, "restart"), 1)
		}
	}
	rep := run(t, faultProfile(t, nil, "node-restart"), h)
	verdicts(t, rep, map[string]bool{"node-restart": false})
	r := faultRun(t, rep, "node-restart", "acks=all")
	if r.Lost == 0 || r.Passed {
		t.Errorf("run %+v: want lost records and a failed run", r)
	}
	for _, f := range findingsWith(section(t, rep, "node-restart"), "lost: sequence ") {
		if !strings.Contains(f, "acknowledged at partition 1 ") {
			t.Errorf("finding %q: want only partition 1's records lost", f)
		}
	}
}

// TestClusterRestartDetectsLoss: when the cluster comes back after every
// node was stopped, partition 2's records are gone: cluster-restart must
// fail the stop variant for the loss.
func TestClusterRestartDetectsLoss(t *testing.T) {
	t.Parallel()
	h := startHarmful(t)
	var once sync.Once
	h.after = func(op cluster.Op, n cluster.Node) {
		if op == cluster.OpStart && n.ID == 2 {
			once.Do(func() { h.deleteAll(t, h.topics.named(t, "cluster-restart"), 2) })
		}
	}
	rep := run(t, faultProfile(t, nil, "cluster-restart"), h)
	verdicts(t, rep, map[string]bool{"cluster-restart": false})
	stop, kill := faultRun(t, rep, "cluster-restart", "acks=all, stop all"), faultRun(t, rep, "cluster-restart", "acks=all, kill all")
	if stop.Lost == 0 || stop.Passed {
		t.Errorf("stop run %+v: want the records of partition 2 lost", stop)
	}
	if kill.Lost != stop.Lost || kill.Passed {
		t.Errorf("kill run %+v: the second read must find the same %d lost", kill, stop.Lost)
	}
	wantFinding(t, section(t, rep, "cluster-restart"), fmt.Sprintf("acks=all, stop all: %d lost record(s)", stop.Lost))
}

// TestRollingRestartDetectsLoss: stopping node 1 loses partition 1's
// records: rolling-restart must fail for the loss.
func TestRollingRestartDetectsLoss(t *testing.T) {
	t.Parallel()
	h := startHarmful(t)
	h.after = func(op cluster.Op, n cluster.Node) {
		if op == cluster.OpStop && n.ID == 1 {
			h.deleteAll(t, h.topics.named(t, "rolling"), 1)
		}
	}
	rep := run(t, faultProfile(t, nil, "rolling-restart"), h)
	verdicts(t, rep, map[string]bool{"rolling-restart": false})
	if r := faultRun(t, rep, "rolling-restart", "acks=all"); r.Lost == 0 || r.Passed {
		t.Errorf("run %+v: want lost records and a failed run", r)
	}
	wantFinding(t, section(t, rep, "rolling-restart"), "lost record(s)")
}

// TestAcksMatrixJudgesEachMode: every kill loses everything the killed
// leader's partition held. acks=0 and acks=1 allow that loss (reported,
// passed), acks=all with RF 3 does not (failed): the guarantee table at work.
func TestAcksMatrixJudgesEachMode(t *testing.T) {
	t.Parallel()
	h := startHarmful(t)
	h.after = func(op cluster.Op, n cluster.Node) {
		if op != cluster.OpKill {
			return
		}
		h.topics.mu.Lock()
		topic := h.topics.topics[len(h.topics.topics)-1] // the mode's topic, created last
		h.topics.mu.Unlock()
		h.deleteAll(t, topic, 0)
	}
	rep := run(t, faultProfile(t, nil, "acks-matrix"), h)
	verdicts(t, rep, map[string]bool{"acks-matrix": false})
	for _, tc := range []struct {
		mode        string
		allowed     bool
		passed      bool
		wantFinding string
	}{
		{"acks=0", true, true, ""},
		{"acks=1", true, true, ""},
		{"acks=all", false, false, "acks=all: "},
	} {
		r := faultRun(t, rep, "acks-matrix", tc.mode)
		if r.Lost == 0 || r.LossAllowed != tc.allowed || r.Passed != tc.passed {
			t.Errorf("%s: lost %d, loss allowed %v, passed %v; want some lost, %v, %v", tc.mode, r.Lost, r.LossAllowed, r.Passed, tc.allowed, tc.passed)
		}
	}
	am := section(t, rep, "acks-matrix")
	wantFinding(t, am, "acks=all: ", "lost record(s)", "no acknowledged message may be lost")
	if n := len(notesWith(am, "acks=1: ", "lost record(s), allowed", "acks=1 with a leader down")); n != 1 {
		t.Errorf("acks-matrix: %d notes on acks=1's allowed loss, want 1; notes %q", n, am.Notes)
	}
	for _, f := range am.Findings {
		if strings.HasPrefix(f, "acks=0") || strings.HasPrefix(f, "acks=1") {
			t.Errorf("finding %q: acks=0 and acks=1 may lose what a dead leader held", f)
		}
	}
}

// TestIdempotenceCountsRetryDuplicates: produce requests to both producers'
// topics are answered REQUEST_TIMED_OUT after the write. The retrying
// producer writes those batches twice (counted, allowed); the idempotent
// one's retries are dropped by the broker: no duplicates, both pass.
func TestIdempotenceCountsRetryDuplicates(t *testing.T) {
	t.Parallel()
	h := startHarmful(t)
	for _, suffix := range []string{"-idempotent", "-retrying"} {
		h.Kfake().Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Err: kerr.RequestTimedOut, Count: 3, When: func(req kmsg.Request) bool {
			for _, rt := range req.(*kmsg.ProduceRequest).Topics {
				if strings.HasSuffix(rt.Topic, suffix) {
					return true
				}
			}
			return false
		}})
	}
	rep := run(t, faultProfile(t, nil, "idempotence"), h)
	verdicts(t, rep, map[string]bool{"idempotence": true})
	idem, retrying := faultRun(t, rep, "idempotence", "acks=all idempotent"), faultRun(t, rep, "idempotence", "acks=all retrying")
	if idem.Duplicated != 0 || idem.DuplicatesAllowed || !idem.Passed {
		t.Errorf("idempotent run %+v: want no duplicates, none allowed", idem)
	}
	if retrying.Duplicated == 0 || !retrying.DuplicatesAllowed || !retrying.Passed {
		t.Errorf("retrying run %+v: want duplicates, allowed", retrying)
	}
	if n := len(notesWith(section(t, rep, "idempotence"), "acks=all retrying: ", "duplicated record(s), allowed")); n != 1 {
		t.Errorf("idempotence: want one note on the allowed duplicates; notes %q", section(t, rep, "idempotence").Notes)
	}
}

// TestIdempotenceDetectsDuplicates: while the leader is down, five records
// of the idempotent producer's topic are written again behind its back (a
// broker that failed to deduplicate): the idempotent run must fail.
func TestIdempotenceDetectsDuplicates(t *testing.T) {
	t.Parallel()
	const dups = 5
	h := startHarmful(t)
	h.after = func(op cluster.Op, n cluster.Node) {
		if op != cluster.OpKill {
			return
		}
		h.topics.mu.Lock()
		topic := h.topics.topics[len(h.topics.topics)-1]
		h.topics.mu.Unlock()
		if strings.HasSuffix(topic, "-idempotent") {
			if err := duplicate(h, topic, 1, dups); err != nil {
				t.Errorf("duplicate records: %v", err)
			}
		}
	}
	rep := run(t, faultProfile(t, nil, "idempotence"), h)
	verdicts(t, rep, map[string]bool{"idempotence": false})
	if r := faultRun(t, rep, "idempotence", "acks=all idempotent"); r.Duplicated != dups || r.Passed {
		t.Errorf("idempotent run %+v: want %d duplicates and a failed run", r, dups)
	}
	wantFinding(t, section(t, rep, "idempotence"), fmt.Sprintf("acks=all idempotent: %d duplicated record(s)", dups), "idempotent: the broker drops retried batches")
	if r := faultRun(t, rep, "idempotence", "acks=all retrying"); !r.Passed {
		t.Errorf("retrying run %+v: want passed", r)
	}
}

// duplicate reads the first n records of topic's partition p with a second
// client and writes them again.
func duplicate(h *harmful, topic string, p int32, n int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(h.Bootstrap()...), kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {p: kgo.NewOffset().AtStart()}}),
		kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.DisableIdempotentWrite())
	if err != nil {
		return err
	}
	defer cl.Close()
	var recs []*kgo.Record
	for len(recs) < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return fmt.Errorf("read %d of %d records: %w", len(recs), n, ctx.Err())
		}
		recs = append(recs, fs.Records()...)
	}
	var again []*kgo.Record
	for _, r := range recs[:n] {
		again = append(again, &kgo.Record{Topic: topic, Partition: p, Key: r.Key, Value: r.Value})
	}
	return cl.ProduceSync(ctx, again...).FirstErr()
}

// TestConsumerGroupDetectsUncommittedOffsets: every offset commit fails, so
// the group's committed offsets never reach the high watermarks.
func TestConsumerGroupDetectsUncommittedOffsets(t *testing.T) {
	t.Parallel()
	h := startHarmful(t)
	h.Kfake().Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.OffsetCommit}, Err: kerr.UnknownServerError, Count: -1})
	rep := run(t, faultProfile(t, nil, "consumer-group"), h)
	verdicts(t, rep, map[string]bool{"consumer-group": false})
	cg := section(t, rep, "consumer-group")
	wantFinding(t, cg, "committed offsets do not end at the high watermarks (-1: none committed): partition 0 committed -1, high watermark ")
	if len(cg.Findings) != 1 {
		t.Errorf("findings %q, want only the commits", cg.Findings)
	}
}

// TestConsumerGroupDetectsUnconsumed: fetches of partition 0 of the group's
// topic fail, so no member reads it: its acknowledged messages were
// consumed by no one.
func TestConsumerGroupDetectsUnconsumed(t *testing.T) {
	t.Parallel()
	h := startHarmful(t)
	h.Kfake().Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Fetch}, Partitions: []int32{0}, Err: kerr.UnknownServerError, Count: -1, When: func(req kmsg.Request) bool {
		for _, rt := range req.(*kmsg.FetchRequest).Topics {
			if strings.HasSuffix(rt.Topic, "-group") {
				return true
			}
		}
		return false
	}})
	rep := run(t, faultProfile(t, func(p *profile.Profile) { p.Faults.RecoveryTimeout.Duration = time.Second }, "consumer-group"), h)
	verdicts(t, rep, map[string]bool{"consumer-group": false})
	cg := section(t, rep, "consumer-group")
	wantFinding(t, cg, "did not read every partition to its high watermark within faults.recovery_timeout (1s)", "partition 0 read to offset 0 of high watermark ")
	wantFinding(t, cg, "acknowledged message(s) consumed by no member")
	for _, f := range findingsWith(cg, "acknowledged but consumed by no member: sequence ") {
		if !strings.Contains(f, " at partition 0 ") {
			t.Errorf("finding %q: only partition 0 was not consumed", f)
		}
	}
}

// TestFaultScenariosNotApplicableWithoutNodeControl: an attached cluster
// without hooks cannot have its nodes killed: the node fault scenarios are
// not applicable, which fails the run unless the profile allows it
// (allow_not_applicable), and then neither passes nor fails it;
// consumer-group, which kills nothing, runs and passes. Either way the
// report names every guarantee left untested.
func TestFaultScenariosNotApplicableWithoutNodeControl(t *testing.T) {
	t.Parallel()
	c := startEmbedded(t, 3)
	var rep *report.Report
	for _, allow := range []bool{false, true} {
		p := faultProfile(t, func(p *profile.Profile) {
			p.Cluster.Mode, p.Cluster.Bootstrap = profile.ModeAttach, c.Bootstrap()
			p.AllowNotApplicable = allow
		}, append([]string{"topic-create"}, faultScenarios...)...)
		rep = run(t, p, nil)
		if rep.Passed != allow {
			t.Errorf("allow_not_applicable %v: report passed = %v, want %v", allow, rep.Passed, allow)
		}
		if want := len(faultScenarios) - 1; len(rep.Untested) != want {
			t.Errorf("allow_not_applicable %v: untested %q, want the %d node fault scenarios", allow, rep.Untested, want)
		}
	}
	for _, s := range rep.Scenarios {
		na := s.Name != "topic-create" && s.Name != "consumer-group"
		switch {
		case na && (!s.NotApplicable || !s.Skipped || s.Passed || !strings.Contains(s.Error, "not applicable: the attached cluster has no node hooks: set faults.hooks")):
			t.Errorf("%s: not applicable %v, skipped %v, passed %v, error %q; want not applicable, naming faults.hooks", s.Name, s.NotApplicable, s.Skipped, s.Passed, s.Error)
		case !na && (!s.Passed || s.NotApplicable):
			t.Errorf("%s: passed %v, not applicable %v; want passed", s.Name, s.Passed, s.NotApplicable)
		}
	}
}

// TestFaultScenariosNeedEveryHook: with a kill hook but no start hook, the
// scenarios that start nodes again are not applicable, naming the hook.
func TestFaultScenariosNeedEveryHook(t *testing.T) {
	t.Parallel()
	c := startEmbedded(t, 3)
	p := faultProfile(t, func(p *profile.Profile) {
		p.Cluster.Mode, p.Cluster.Bootstrap = profile.ModeAttach, c.Bootstrap()
		p.Faults.Hooks.Kill = "exit 1"
	}, "topic-create", "leader-failover", "rolling-restart")
	rep := run(t, p, nil)
	for name, want := range map[string]string{
		"leader-failover": "not applicable: leader-failover needs to start nodes: set faults.hooks.start in the profile",
		"rolling-restart": "not applicable: rolling-restart needs to stop nodes: set faults.hooks.stop in the profile",
	} {
		if s := section(t, rep, name); !s.NotApplicable || !strings.HasPrefix(s.Error, want) {
			t.Errorf("%s: not applicable %v, error %q; want %q", name, s.NotApplicable, s.Error, want)
		}
	}
}

// TestFaultScenariosOnOneNode: with one node there is no one to take over:
// leader-failover is not applicable; only what it needs to run decides.
func TestFaultScenariosOnOneNode(t *testing.T) {
	t.Parallel()
	p := smallProfile(t, 1, 1, 1, func(p *profile.Profile) { p.Scenarios = []string{"topic-create", "leader-failover"} })
	p.AllowNotApplicable = true
	rep := run(t, p, startEmbedded(t, 1))
	lf := section(t, rep, "leader-failover")
	if !lf.NotApplicable || !strings.Contains(lf.Error, "leader-failover needs at least 2 nodes") || !rep.Passed {
		t.Errorf("leader-failover: not applicable %v, error %q, run passed %v", lf.NotApplicable, lf.Error, rep.Passed)
	}
}

// TestHooksControlAttachedCluster: an attached cluster whose node hooks are
// shell commands; here they hand the operation to the test, which performs
// it on the embedded cluster behind the bootstrap addresses. leader-failover
// runs through the hooks and passes, and the hooks' output is in the report.
func TestHooksControlAttachedCluster(t *testing.T) {
	t.Parallel()
	c := startEmbedded(t, 3)
	dir := t.TempDir()
	go serveHooks(t, c, dir)
	hook := `echo "{{.Op}} {{.ID}} {{.Addr}}" > ` + dir + `/req.tmp && mv ` + dir + `/req.tmp ` + dir + `/req && ` +
		`while [ ! -e ` + dir + `/done ]; do sleep 0.01; done; cat ` + dir + `/done; rm ` + dir + `/done`
	p := faultProfile(t, func(p *profile.Profile) {
		p.Cluster.Mode, p.Cluster.Bootstrap = profile.ModeAttach, c.Bootstrap()
		p.Faults.Hooks = profile.Hooks{Kill: hook, Start: hook, Timeout: profile.Duration{Duration: 20 * time.Second}}
	}, "leader-failover")
	rep := run(t, p, nil)
	verdicts(t, rep, map[string]bool{"leader-failover": true})
	var outputs []string
	for _, e := range rep.Faults.Timeline {
		if e.Kind == report.EventFault {
			outputs = append(outputs, e.Detail)
		}
	}
	if len(outputs) != 2 || !strings.Contains(outputs[0], "kill node 0 (took ") || !strings.Contains(outputs[0], "hook: removed node 0") ||
		!strings.Contains(outputs[1], "start node 0") || !strings.Contains(outputs[1], "hook: added node 0 back") {
		t.Errorf("fault events %q: want the kill and start hooks' output", outputs)
	}
}

// serveHooks performs the operations the hooks of TestHooksControlAttachedCluster
// write to dir/req, one at a time, answering in dir/done, until the test ends.
func serveHooks(t *testing.T, c *cluster.Embedded, dir string) {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	for ctx.Err() == nil {
		b, err := os.ReadFile(filepath.Join(dir, "req"))
		if err != nil {
			time.Sleep(10 * time.Millisecond)
			continue
		}
		_ = os.Remove(filepath.Join(dir, "req"))
		var op string
		var id int32
		var addr string
		answer := ""
		if _, err := fmt.Sscanf(string(b), "%s %d %s", &op, &id, &addr); err != nil {
			answer = "bad request " + strconv.Quote(string(b))
		} else {
			out, err := c.Do(ctx, cluster.Op(op), cluster.Node{ID: id, Addr: addr})
			answer = "hook: " + out
			if err != nil {
				answer = "hook failed: " + err.Error()
			}
		}
		_ = os.WriteFile(filepath.Join(dir, "done.tmp"), []byte(answer), 0o644)
		_ = os.Rename(filepath.Join(dir, "done.tmp"), filepath.Join(dir, "done"))
	}
}

// TestConsumerGroupDeletedWithTopics: with topic.delete always, the
// consumer group the consumer-group scenario made goes with its topic.
func TestConsumerGroupDeletedWithTopics(t *testing.T) {
	t.Parallel()
	c := startEmbedded(t, 3)
	rep := run(t, faultProfile(t, func(p *profile.Profile) { p.Topic.Delete = profile.DeleteAlways }, "topic-create", "consumer-group"), c)
	verdicts(t, rep, map[string]bool{"topic-create": true, "consumer-group": true})
	if !strings.Contains(rep.TopicCleanup, "deleted") || !strings.Contains(rep.TopicCleanup, "with consumer group(s) chronik-e2e-") {
		t.Errorf("topic cleanup %q, want the topics and the consumer group deleted", rep.TopicCleanup)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Bootstrap()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	groups, err := kadm.NewClient(cl).ListGroups(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if names := groups.Groups(); len(names) > 0 {
		t.Errorf("consumer groups left behind: %v", names)
	}
}
