//go:build unix

package runner_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chronik-e2e/chronik-e2e/pkg/profile"
	"github.com/chronik-e2e/chronik-e2e/pkg/report"
	"github.com/chronik-e2e/chronik-e2e/pkg/testbroker"
)

// The network scenarios end to end: three spawned test nodes heartbeat
// each other through the runner's link proxies (faults.network), and their
// backend lets a node lead, and be in sync, only while it and a majority
// hear each other (testbroker.WithMembership, with healthy replication). A healthy rule passes every scenario; a
// backend that keeps a partitioned node's leadership (split brain) or
// acknowledges acks=all writes on an isolated leader and drops them
// (ack-drop) fails each scenario it can reach, by name.

// networkScenarios are the network scenarios, in configs/partition.yaml's order.
var networkScenarios = []string{"partition-leader", "divergence", "partition-minority", "one-way", "pause", "nemesis"}

// startMemberBackend starts a backend with membership rule m and the
// command's timings (a node that hears no majority for 1s loses its
// leadership 1s later: shorter, a busy machine's late heartbeats cost nodes
// their majority, and the isolated leader's orphans lose their window), and
// honest replication: a node that may not lead is out of every ISR, and
// every replica serves follower fetches.
func startMemberBackend(t *testing.T, m testbroker.Membership) *testbroker.Backend {
	t.Helper()
	return startBackend(t, testbroker.WithMembership(m, time.Second, time.Second), testbroker.WithReplication(testbroker.ReplicationHealthy))
}

// partitionProfile is spawnProfile with link proxies and heartbeats
// through them, as configs/partition.yaml, and a nemesis of two faults in 6s.
func partitionProfile(t *testing.T, b *testbroker.Backend, edit func(*profile.Profile), names ...string) *profile.Profile {
	t.Helper()
	return spawnProfile(t, b, func(p *profile.Profile) {
		s := &p.Cluster.Spawn
		s.Command = append(s.Command, "--raft-listen", `{{.Addr "raft"}}`,
			"--peers", `{{range .Peers}}{{if ne .ID $.ID}}{{.ID}}={{$.LinkAddr .ID "raft"}},{{end}}{{end}}`,
			"--advertise", `{{.ClientAddr "kafka"}}`)
		s.Ports = []string{"kafka", "raft"}
		f := &p.Faults
		f.Network = true
		f.ElectionTimeout.Duration, f.RecoveryTimeout.Duration, f.ISRTimeout.Duration = 5*time.Second, 10*time.Second, 5*time.Second
		f.Duration.Duration, f.Interval.Duration = 6*time.Second, 3*time.Second
		if edit != nil {
			edit(p)
		}
	}, names...)
}

// TestSpawnedNetworkScenarios: every network scenario passes on a healthy
// membership rule, with each fault and its links on the timeline, the
// divergence's orphans acknowledged by the isolated leader and none of
// them readable, and the backend seeing the nodes lose and regain their
// majority.
func TestSpawnedNetworkScenarios(t *testing.T) {
	t.Parallel()
	b := startMemberBackend(t, testbroker.MembershipHealthy)
	rep := run(t, partitionProfile(t, b, nil, networkScenarios...), nil)
	want := map[string]bool{}
	for _, n := range networkScenarios {
		want[n] = true
	}
	verdicts(t, rep, want)
	if len(rep.Cluster.NodeFailures) != 0 {
		t.Errorf("node failures %+v", rep.Cluster.NodeFailures)
	}
	for _, n := range networkScenarios {
		if r := faultRun(t, rep, n, runMode(n)); !r.Passed || r.Lost != 0 || r.Acked == 0 {
			t.Errorf("%s: run %+v", n, r)
		}
	}
	for _, n := range []string{"partition-leader", "divergence", "partition-minority", "one-way"} {
		got := kinds(rep, n)
		for _, k := range []string{report.EventFault, report.EventNewLeader} {
			if !slices.Contains(got, k) {
				t.Errorf("%s: no %s event on the timeline (kinds %v)", n, k, got)
			}
		}
		if !slices.ContainsFunc(rep.Faults.Timeline, func(e report.Event) bool {
			return e.Scenario == n && e.Kind == report.EventFault && len(e.Links) > 0 && strings.Contains(e.Detail, "raft")
		}) {
			t.Errorf("%s: no fault event naming its raft links", n)
		}
	}
	// Every replica serves follower fetches: the orphans were looked for on
	// the three replicas of the partition the isolated node led.
	if m := section(t, rep, "divergence").Metrics; m["orphans_acked"] == 0 || m["orphan_replicas_searched"] != 3 {
		t.Errorf("divergence metrics %v: want orphans acknowledged by the isolated leader, and searched for on 3 replicas", m)
	}
}

// runMode is the mode name of scenario n's fault run.
func runMode(n string) string {
	if n == "divergence" {
		return "acks=all, prefix and new leader"
	}
	return "acks=all"
}

// TestSpawnedNetworkSplitBrain: a backend that keeps a partitioned node's
// leadership and applies its writes fails every scenario that cuts a
// leader off, by name: no new leader (partition-leader, one-way,
// partition-minority, whose minority node leads a partition), an isolated
// leader that keeps acknowledging (divergence). The nemesis judges the data
// only, which the test nodes' one shared copy keeps whole: it is left out.
func TestSpawnedNetworkSplitBrain(t *testing.T) {
	t.Parallel()
	b := startMemberBackend(t, testbroker.MembershipSplitBrain)
	names := []string{"partition-leader", "divergence", "partition-minority", "one-way"}
	rep := run(t, partitionProfile(t, b, nil, names...), nil)
	verdicts(t, rep, map[string]bool{"partition-leader": false, "divergence": false, "partition-minority": false, "one-way": false})
	for _, n := range []string{"partition-leader", "partition-minority", "one-way"} {
		wantFinding(t, section(t, rep, n), "no leader elected within faults.election_timeout (5s) after", "leader still node")
	}
	wantFinding(t, section(t, rep, "divergence"), "divergence: isolated node", "kept acknowledging acks=all writes with its peers cut off")
}

// TestSpawnedNetworkAckDrop: a backend whose isolated leader acknowledges
// acks=all writes and drops them fails partition-leader, divergence and a
// nemesis that partitions a node for the records lost.
func TestSpawnedNetworkAckDrop(t *testing.T) {
	t.Parallel()
	b := startMemberBackend(t, testbroker.MembershipAckDrop)
	names := []string{"partition-leader", "divergence", "nemesis"}
	rep := run(t, partitionProfile(t, b, func(p *profile.Profile) {
		// Seed 3 cuts node 1 off twice, each time for 1.5s: long enough
		// for the backend to judge it isolated (1s).
		p.Faults.Seed, p.Faults.Nemesis = 3, []string{profile.NemesisPartition}
	}, names...), nil)
	verdicts(t, rep, map[string]bool{"partition-leader": false, "divergence": false, "nemesis": false})
	r := faultRun(t, rep, "partition-leader", "acks=all")
	if r.Lost == 0 || r.Passed {
		t.Errorf("partition-leader run %+v: want lost records, failed", r)
	}
	wantFinding(t, section(t, rep, "partition-leader"), "acks=all: ", "lost record(s)", "no acknowledged message may be lost")
	wantFinding(t, section(t, rep, "divergence"), "acks=all, prefix and new leader: ", "lost record(s)")
	wantFinding(t, section(t, rep, "nemesis"), "acks=all: ", "lost record(s)")
}
