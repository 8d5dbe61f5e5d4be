package runner_test

import (
	"testing"

	"github.com/chronik-e2e/chronik-e2e/pkg/report"
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

// TestReplicationOnEmbedded: the embedded cluster (one copy of the data)
// passes the replication scenario, and the report says which checks are
// not applicable and why: placement (no node holds anything of its own)
// and ISR honesty (replicas follow the live brokers), never a silent pass.
func TestReplicationOnEmbedded(t *testing.T) {
	t.Parallel()
	rep := run(t, faultProfile(t, nil, "replication"), startDurable(t))
	verdicts(t, rep, map[string]bool{"replication": true})
	s := section(t, rep, "replication")
	for _, want := range []string{
		"replica placement: not applicable: the embedded cluster (kfake) keeps one copy of the data for every broker",
		"ISR honesty: not applicable: the embedded cluster (kfake) lists as replicas",
		"reads through every replica acks=all, after producing: node(s) 0, 1, 2 do not serve fetches from followers (",
	} {
		if got := notesWith(s, want); len(got) != 1 {
			t.Errorf("notes with %q: %q, want one", want, got)
		}
	}
	for _, acks := range []string{"0", "1", "all"} {
		if r := faultRun(t, rep, "replication", "acks="+acks+", survivors"); !r.Passed || r.Sent == 0 || r.Lost != 0 {
			t.Errorf("run acks=%s: %+v", acks, r)
		}
	}
	isr := isrOf(rep, "replication")
	if len(isr) != 3 {
		t.Errorf("ISR entries %+v: want one per acks level", isr)
	}
	for _, n := range isr {
		if n.Verdict != report.ISRNotApplicable {
			t.Errorf("ISR entry %+v: want not applicable", n)
		}
	}
}
