//go:build unix

package runner_test

import (
	"slices"
	"testing"
	"time"

	"github.com/chronik-e2e/chronik-e2e/pkg/profile"
	"github.com/chronik-e2e/chronik-e2e/pkg/report"
	"github.com/chronik-e2e/chronik-e2e/pkg/testbroker"
)

// isrOf returns the report's ISR entries of scenario.
func isrOf(rep *report.Report, scenario string) []report.NodeISR {
	var out []report.NodeISR
	for _, n := range rep.Faults.ISR {
		if n.Scenario == scenario {
			out = append(out, n)
		}
	}
	return out
}

// TestSpawnedISRHonest: on spawned nodes whose metadata drops a dead node
// from the in-sync replicas (and keeps it among the replicas), the ISR
// check judges the killed leader: it shrank, and grew back after the
// start, with both times in the report and each partition's on the
// timeline.
func TestSpawnedISRHonest(t *testing.T) {
	t.Parallel()
	b := startBackend(t, testbroker.WithReplication(testbroker.ReplicationHealthy))
	rep := run(t, spawnProfile(t, b, nil, "leader-failover"), nil)
	verdicts(t, rep, map[string]bool{"leader-failover": true})
	isr := isrOf(rep, "leader-failover")
	if len(isr) != 1 {
		t.Fatalf("ISR entries %+v, want one for the killed node", isr)
	}
	n := isr[0]
	if n.Node != 0 || n.Verdict != report.ISRShrank || n.ShrinkS < 0 || n.RestoreS < 0 || n.StartedAtS < n.ShrunkAtS || len(n.Partitions) != 3 {
		t.Errorf("ISR entry %+v: want node 0 shrunk, then restored after its start, over 3 partitions", n)
	}
	for _, p := range n.Partitions {
		if p.ShrunkAtS < 0 || p.RestoredAtS < p.ShrunkAtS {
			t.Errorf("partition %+v: want a shrink, then a restore", p)
		}
	}
	got := kinds(rep, "leader-failover")
	for _, k := range []string{report.EventISRShrunk, report.EventISRGrew} {
		if !slices.Contains(got, k) {
			t.Errorf("no %s event on the timeline (kinds %v)", k, got)
		}
	}
}

// TestSpawnedISRNeverShrinks: metadata that keeps a killed node in every
// in-sync replica set fails leader-failover once faults.isr_timeout has
// passed, naming the node and the partitions.
func TestSpawnedISRNeverShrinks(t *testing.T) {
	t.Parallel()
	b := startBackend(t, testbroker.WithReplication(testbroker.ReplicationISRLies))
	rep := run(t, spawnProfile(t, b, func(p *profile.Profile) { p.Faults.ISRTimeout.Duration = time.Second }, "leader-failover"), nil)
	verdicts(t, rep, map[string]bool{"leader-failover": false})
	s := section(t, rep, "leader-failover")
	wantFinding(t, s, "ISR over-reports health: node 0 killed ", "s ago, still in ISR of partitions 0, 1, 2", "faults.isr_timeout 1s")
	if len(s.Findings) != 1 {
		t.Errorf("findings %q: want only the ISR's (nothing was lost)", s.Findings)
	}
	isr := isrOf(rep, "leader-failover")
	if len(isr) != 1 || isr[0].Verdict != report.ISROverReported || !slices.Equal(isr[0].StillInISR, []int32{0, 1, 2}) || isr[0].ShrinkS != -1 {
		t.Errorf("ISR entries %+v: want node 0 over-reported in partitions 0, 1, 2, never shrunk", isr)
	}
	if r := faultRun(t, rep, "leader-failover", "acks=all"); !r.Passed || r.Lost != 0 {
		t.Errorf("run %+v: the data is whole, only the ISR lies", r)
	}
}
