package runner_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chronik-e2e/chronik-e2e/pkg/cluster"
	"github.com/chronik-e2e/chronik-e2e/pkg/profile"
	"github.com/chronik-e2e/chronik-e2e/pkg/report"
)

// The network scenarios' logic, on the embedded cluster behind a fake
// network controller: the embedded cluster has no links, so the fake turns
// a cut that leaves a node hearing no majority into a kill of that node
// (its partitions get new leaders, as a healthy membership rule would) and
// the heal into its start. The spawned test nodes with link proxies
// (spawn_network_test.go) test the whole path; these test what the
// scenarios do with a controller: the links they cut, the heal whatever
// happened, the timeline, and a split brain failing by name.

// fakeNet is an embedded cluster with a fake NetworkController.
type fakeNet struct {
	*cluster.Embedded
	// splitBrain keeps a cut-off node up: its leadership stays, as a
	// membership rule that ignores the cut would keep it.
	splitBrain bool

	mu     sync.Mutex
	faults []cluster.NetFault
	heals  int
	killed []int32
}

var _ cluster.NetworkController = (*fakeNet)(nil)

func (f *fakeNet) ids() []int32 {
	var ids []int32
	for i := range 3 {
		ids = append(ids, int32(i))
	}
	return ids
}

// Links lists raft links between every two nodes and the runner's kafka links.
func (f *fakeNet) Links() []cluster.Link {
	var out []cluster.Link
	for _, from := range f.ids() {
		for _, to := range f.ids() {
			if from != to {
				out = append(out, cluster.Link{From: from, To: to, Port: "raft"})
			}
		}
	}
	for _, to := range f.ids() {
		out = append(out, cluster.Link{From: cluster.ClientNode, To: to, Port: "kafka"})
	}
	return out
}

// Apply records f and kills every node a cut leaves hearing fewer than a
// majority of the nodes (itself included), or heard by fewer.
func (f *fakeNet) Apply(ctx context.Context, nf cluster.NetFault) (string, error) {
	f.mu.Lock()
	f.faults = append(f.faults, nf)
	f.mu.Unlock()
	if nf.Kind != cluster.NetCut || f.splitBrain {
		return "faked " + string(nf.Kind), nil
	}
	var outs []string
	for _, id := range f.ids() {
		hears, heard := 1, 1
		for _, peer := range f.ids() {
			if peer == id {
				continue
			}
			if !slices.Contains(nf.Links, cluster.Link{From: peer, To: id, Port: "raft"}) {
				hears++
			}
			if !slices.Contains(nf.Links, cluster.Link{From: id, To: peer, Port: "raft"}) {
				heard++
			}
		}
		if hears*2 > len(f.ids()) && heard*2 > len(f.ids()) {
			continue
		}
		out, err := f.Embedded.Do(ctx, cluster.OpKill, cluster.Node{ID: id})
		if err != nil {
			return "", err
		}
		f.mu.Lock()
		f.killed = append(f.killed, id)
		f.mu.Unlock()
		outs = append(outs, out)
	}
	return strings.Join(outs, "; "), nil
}

// Heal starts every node a cut killed.
func (f *fakeNet) Heal(ctx context.Context) (string, error) {
	f.mu.Lock()
	killed := f.killed
	f.killed = nil
	f.heals++
	f.mu.Unlock()
	var outs []string
	for _, id := range killed {
		out, err := f.Embedded.Do(ctx, cluster.OpStart, cluster.Node{ID: id})
		if err != nil {
			return "", err
		}
		outs = append(outs, out)
	}
	return fmt.Sprintf("healed (%d node(s) started: %s)", len(killed), strings.Join(outs, "; ")), nil
}

func (f *fakeNet) applied() ([]cluster.NetFault, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.faults), f.heals
}

// netProfile is faultProfile for the network scenarios, with a short nemesis.
func netProfile(t *testing.T, edit func(*profile.Profile), names ...string) *profile.Profile {
	t.Helper()
	return faultProfile(t, func(p *profile.Profile) {
		f := &p.Faults
		f.Duration.Duration, f.Interval.Duration = 3*time.Second, time.Second
		f.ISRTimeout.Duration = 5 * time.Second
		if edit != nil {
			edit(p)
		}
	}, names...)
}

// TestNetworkScenariosNotApplicable: without a network controller the
// network scenarios are not applicable, with cluster.Network's reason,
// never a pass; pause is not applicable on the embedded cluster.
func TestNetworkScenariosNotApplicable(t *testing.T) {
	t.Parallel()
	names := []string{"partition-leader", "divergence", "partition-minority", "one-way", "pause", "nemesis"}
	rep := run(t, netProfile(t, func(p *profile.Profile) { p.AllowNotApplicable = true }, names...), nil)
	for _, n := range names {
		s := section(t, rep, n)
		if !s.NotApplicable || !s.Skipped {
			t.Errorf("%s: %+v, want not applicable", n, s)
		}
		want := "no links between its nodes to cut"
		if n == "pause" {
			want = "no failure detector"
		}
		if !strings.Contains(s.Error, want) {
			t.Errorf("%s: reason %q, want %q", n, s.Error, want)
		}
	}
}

// TestNetworkScenariosFakeController: every network scenario passes on a
// controller whose cuts take the cut-off node's leadership, cuts the links
// its name says, shows each fault with its links on the timeline, and
// heals; the nemesis's schedule is the seed's.
func TestNetworkScenariosFakeController(t *testing.T) {
	t.Parallel()
	fn := &fakeNet{Embedded: startDurable(t)}
	names := []string{"partition-leader", "divergence", "partition-minority", "one-way", "nemesis"}
	p := netProfile(t, func(p *profile.Profile) {
		p.Faults.Seed = 7
		p.Faults.Nemesis = []string{profile.NemesisPartition, profile.NemesisOneWay, profile.NemesisSlow, profile.NemesisKill}
	}, names...)
	rep := run(t, p, fn)
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	verdicts(t, rep, want)
	faults, heals := fn.applied()
	if heals < len(names) {
		t.Errorf("%d heals for %d scenarios", heals, len(names))
	}
	// partition-leader, divergence: one node cut off both ways (4 raft
	// links); partition-minority: the same on 3 nodes; one-way: 2 links.
	for i, n := range []int{4, 4, 4, 2} {
		if i >= len(faults) || faults[i].Kind != cluster.NetCut || len(faults[i].Links) != n {
			t.Errorf("fault %d: %+v, want a cut of %d links", i, faults, n)
		}
	}
	var withLinks int
	for _, e := range rep.Faults.Timeline {
		if e.Kind == report.EventFault && len(e.Links) > 0 {
			withLinks++
			if strings.Contains(strings.Join(e.Links, " "), "runner") {
				t.Errorf("a partition cut the runner's link: %+v", e)
			}
		}
	}
	if withLinks < len(names) {
		t.Errorf("%d fault events with links, want one per scenario at least", withLinks)
	}
	for _, s := range []string{"partition-leader", "one-way"} {
		got := kinds(rep, s)
		for _, k := range []string{report.EventFault, report.EventNewLeader} {
			if !slices.Contains(got, k) {
				t.Errorf("%s: no %s event on the timeline (kinds %v)", s, k, got)
			}
		}
	}
	nem := section(t, rep, "nemesis")
	if !slices.ContainsFunc(nem.Notes, func(n string) bool { return strings.HasPrefix(n, "schedule (seed 7: --fault-seed 7 replays it): 0s ") }) {
		t.Errorf("nemesis notes %q, want its schedule", nem.Notes)
	}
	if r := faultRun(t, rep, "divergence", "acks=all, prefix and new leader"); !r.Passed || r.Lost != 0 || r.Acked == 0 {
		t.Errorf("divergence run %+v", r)
	}
}

// TestPartitionLeaderSplitBrain: a controller whose cut leaves the node
// its leadership (a split brain) fails partition-leader by name, and the
// links are healed all the same.
func TestPartitionLeaderSplitBrain(t *testing.T) {
	t.Parallel()
	fn := &fakeNet{Embedded: startDurable(t), splitBrain: true}
	p := netProfile(t, func(p *profile.Profile) { p.Faults.ElectionTimeout.Duration = time.Second }, "partition-leader")
	rep := run(t, p, fn)
	verdicts(t, rep, map[string]bool{"partition-leader": false})
	wantFinding(t, section(t, rep, "partition-leader"), "no leader elected within faults.election_timeout (1s) after partition node", "leader still node")
	// The scenario heals on its way out (and the runner once more: the
	// fake cannot tell it nothing is left).
	if _, heals := fn.applied(); heals < 1 {
		t.Errorf("%d heals, want the scenario's when it ended", heals)
	}
	if !slices.ContainsFunc(rep.Faults.Timeline, func(e report.Event) bool {
		return e.Scenario == "partition-leader" && e.Kind == report.EventFault && strings.HasPrefix(e.Detail, "heal (took ")
	}) {
		t.Errorf("no heal on partition-leader's timeline: %+v", rep.Faults.Timeline)
	}
}

// TestPausedNodeResumedWhenScenarioEnds: a scenario stopped by its deadline
// while its node is paused (the embedded cluster elects no one: a frozen
// node keeps its leadership) resumes it on its way out, so that the next
// scenario finds every node answering.
func TestPausedNodeResumedWhenScenarioEnds(t *testing.T) {
	t.Parallel()
	fn := &fakeNet{Embedded: startDurable(t)}
	p := netProfile(t, func(p *profile.Profile) {
		p.Timeouts.Scenario.Duration = 2 * time.Second
		p.Faults.ElectionTimeout.Duration = 10 * time.Second
	}, "pause", "leader-failover")
	rep := run(t, p, fn)
	verdicts(t, rep, map[string]bool{"pause": false, "leader-failover": true})
	var ops []string
	for _, e := range rep.Faults.Timeline {
		if e.Scenario == "pause" && e.Kind == report.EventFault {
			op, _, _ := strings.Cut(e.Detail, " (took")
			ops = append(ops, op)
		}
	}
	if len(ops) != 2 || !strings.HasPrefix(ops[0], "pause node ") || !strings.HasPrefix(ops[1], "resume node ") {
		t.Errorf("pause's faults %q: want a pause and, when the deadline stopped it, a resume", ops)
	}
}

// TestNemesisReplays: two runs of the nemesis with the same seed strike
// the same faults on the same nodes, in the same order, and say so.
func TestNemesisReplays(t *testing.T) {
	t.Parallel()
	var schedules [2]string
	var struck [2][]string
	for i := range schedules {
		fn := &fakeNet{Embedded: startDurable(t)}
		p := netProfile(t, func(p *profile.Profile) {
			p.Faults.Seed = 1234
			p.Faults.Nemesis = []string{profile.NemesisPartition, profile.NemesisOneWay, profile.NemesisSlow, profile.NemesisKill, profile.NemesisRestart}
		}, "nemesis")
		rep := run(t, p, fn)
		verdicts(t, rep, map[string]bool{"nemesis": true})
		for _, n := range section(t, rep, "nemesis").Notes {
			if strings.HasPrefix(n, "schedule (seed 1234") {
				schedules[i] = n
			}
		}
		for _, e := range rep.Faults.Timeline {
			if e.Scenario == "nemesis" && e.Kind == report.EventFault {
				label, _, _ := strings.Cut(e.Detail, " (took")
				struck[i] = append(struck[i], label)
			}
		}
	}
	if schedules[0] == "" || schedules[0] != schedules[1] {
		t.Errorf("schedules differ:\n%s\n%s", schedules[0], schedules[1])
	}
	if len(struck[0]) < 3 || !slices.Equal(struck[0], struck[1]) {
		t.Errorf("faults struck differ:\n%q\n%q", struck[0], struck[1])
	}
}
