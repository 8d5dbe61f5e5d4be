package report

import (
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
)

// TestFinishNotApplicable: a not-applicable scenario fails the run unless
// the profile allows it, and then neither passes nor fails it; a skipped one (what it needed failed) fails it; a run in
// which nothing passed did not pass.
func TestFinishNotApplicable(t *testing.T) {
	passed := &Scenario{Name: "topic-create", Passed: true}
	na := &Scenario{Name: "leader-failover", Skipped: true, NotApplicable: true}
	skipped := &Scenario{Name: "consume", Skipped: true}
	failed := &Scenario{Name: "produce"}
	for _, tc := range []struct {
		name  string
		ss    []*Scenario
		allow bool
		want  bool
	}{
		{"passed and not applicable", []*Scenario{passed, na}, false, false},
		{"passed and not applicable, allowed", []*Scenario{passed, na}, true, true},
		{"only not applicable", []*Scenario{na}, true, false},
		{"skipped", []*Scenario{passed, na, skipped}, true, false},
		{"failed", []*Scenario{passed, failed}, true, false},
		{"none", nil, true, false},
	} {
		r := New("p", "id", time.Now())
		r.Scenarios = tc.ss
		r.AllowNotApplicable = tc.allow
		r.Finish(time.Now())
		if r.Passed != tc.want {
			t.Errorf("%s: passed = %v, want %v", tc.name, r.Passed, tc.want)
		}
	}
}

// TestRenderFaults: the FAULTS part shows the seed to replay with, the
// timeline under each scenario, the windows, the runs and the guarantees,
// within 80 columns; a not-applicable scenario says so.
func TestRenderFaults(t *testing.T) {
	r := New("failover", "0123456789abcdef", time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	r.Scenarios = []*Scenario{
		{Name: "leader-failover", Passed: true, DurationS: 3.2, Findings: []string{}},
		{Name: "rolling-restart", Skipped: true, NotApplicable: true, Findings: []string{},
			Error: "not applicable: the attached cluster has no node hooks: set faults.hooks (kill, stop, start) in the profile"},
	}
	r.AllowNotApplicable = true
	r.Faults = &Faults{
		Target: "leader-of-most", Seed: 42, Limits: "embedded cluster (kfake): one copy of the data",
		Timeline: []Event{
			{AtS: 1.25, Scenario: "leader-failover", Kind: EventFault, Node: 0, Partition: -1, Detail: "kill node 0 (took 1ms): removed node 0"},
			{AtS: 1.26, Scenario: "leader-failover", Kind: EventFirstError, Node: 0, Partition: 3, Detail: "acks=all: EOF"},
			{AtS: 1.29, Scenario: "leader-failover", Kind: EventNewLeader, Node: -1, Partition: -1, Detail: "new leaders: p0 0→1, p3 0→1"},
			{AtS: 2.5, Scenario: "leader-failover", Kind: EventFault, Node: 0, Partition: -1,
				Detail: "start node 0 (took 300µs): added node 0 back on port 38985; the leadership of 10 partition(s), over every topic, moved back to it (preferred leaders)"},
		},
		Windows: []Window{{Scenario: "leader-failover", Fault: "kill node 0", Partition: 3, FromS: 1.2, ToS: 1.33, DurationS: 0.13,
			LeaderBefore: 0, LeaderAfter: 1, NewLeaderAfterS: 0.04, Errors: map[string]int64{"EOF": 2, "NOT_LEADER_FOR_PARTITION": 7}}},
		Runs:       []FaultRun{{Scenario: "leader-failover", Mode: "acks=all", Counts: Counts{Sent: 1566, Acked: 1563, Failed: 3}, Passed: true}},
		Guarantees: []Guarantee{{Acks: "all", Idempotent: true, ReplicationFactor: ">=2", Loss: "never", Duplicates: "never", Why: "exactly once per partition"}},
	}
	r.Finish(r.StartedAt.Add(5 * time.Second))
	out := render(t, r, nil)
	for _, want := range []string{
		"FAULTS",
		"  target leader-of-most · seed 42\n  replay with --fault-target leader-of-most --fault-seed 42\n",
		"  leader-failover\n     1.250  ⚡ fault node 0: kill node 0 (took 1ms): removed node 0\n",
		"     1.260  first-error p3 (node 0): acks=all: EOF\n",
		"     2.500  ⚡ fault node 0: start node 0 (took 300µs): added node 0 back on\n              port 38985; the leadership",
		"  leader-failover  kill node 0       3  0→1       0.13s      0.040s\n      7 × NOT_LEADER_FOR_PARTITION; 2 × EOF\n",
		"  leader-failover acks=all              1,566  1,563      3     0     0  ok\n",
		"  all  yes        >=2  never    never       exactly once per partition\n",
		"▶ rolling-restart  NOT APPLICABLE\n  ○ not applicable: the attached cluster has no node hooks",
		"✓ PASSED (1/2 scenarios, 1 not applicable)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	for i, l := range strings.Split(out, "\n") {
		if w := ansi.StringWidth(l); w > lineWidth {
			t.Errorf("line %d is %d columns wide: %q", i+1, w, l)
		}
	}
}

// The compact report leaves out the timeline and the windows, says so, and
// keeps the delivery per mode and the guarantees.
func TestRenderCompactFaults(t *testing.T) {
	r := sample()
	r.Faults = &Faults{Target: "leader-of-most", Seed: 42,
		Timeline:   []Event{{AtS: 1.25, Scenario: "leader-failover", Kind: EventFault, Node: 0, Partition: -1, Detail: "kill node 0"}},
		Windows:    []Window{{Scenario: "leader-failover", Fault: "kill node 0", Partition: 3, FromS: 1.2, ToS: 1.33, DurationS: 0.13}},
		Runs:       []FaultRun{{Scenario: "leader-failover", Mode: "acks=all", Counts: Counts{Sent: 1566, Acked: 1563, Failed: 3}, Passed: true}},
		Guarantees: []Guarantee{{Acks: "all", Idempotent: true, ReplicationFactor: ">=2", Loss: "never", Duplicates: "never", Why: "exactly once per partition"}},
	}
	var b strings.Builder
	if err := RenderCompact(&b, r, asciiRenderer()); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"timeline of 1 event and 1 unavailability window left out: -v shows them", "leader-failover acks=all", "exactly once per partition"} {
		if !strings.Contains(out, want) {
			t.Errorf("compact report lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "⚡ fault") || strings.Contains(out, "Timeline (") {
		t.Errorf("compact report has the timeline:\n%s", out)
	}
	full := render(t, r, asciiRenderer())
	if !strings.Contains(full, "Timeline (") {
		t.Error("the full report lacks the timeline")
	}
}

// TestTimelineInMarkdownAndJUnit: a network fault shows with its links and
// its symptoms in the Markdown report (folded per scenario) and in the
// scenario's JUnit output, beside its notes.
func TestTimelineInMarkdownAndJUnit(t *testing.T) {
	r := New("partition", "0123456789abcdef", time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	r.Scenarios = []*Scenario{{Name: "partition-leader", Passed: true, DurationS: 3.2, Findings: []string{}, Notes: []string{"partition node 1 from its peers"}}}
	r.Faults = &Faults{Target: "leader-of-most", Seed: 42, Timeline: []Event{
		{AtS: 1.25, Scenario: "partition-leader", Kind: EventFault, Node: 1, Partition: -1,
			Detail: "partition node 1 (took 1ms): cut (reset) 0→1 raft, 1→0 raft: done", Links: []string{"0→1 raft", "1→0 raft"}},
		{AtS: 1.5, Scenario: "partition-leader", Kind: EventNewLeader, Node: -1, Partition: -1, Detail: "new leaders: p0 1→2"},
		{AtS: 1.6, Scenario: "partition-leader", Kind: EventFirstError, Node: 1, Partition: 0, Detail: "acks=all: REQUEST_TIMED_OUT"},
	}}
	r.Finish(time.Now())
	var md, junit strings.Builder
	if err := WriteMarkdown(&md, r); err != nil {
		t.Fatal(err)
	}
	if err := WriteJUnit(&junit, r); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"### Fault timeline (seed 42)",
		"<details><summary>partition-leader: 3 events</summary>",
		"   1.250  fault node 1: partition node 1 (took 1ms): cut (reset) 0→1 raft, 1→0 raft: done",
		"   1.500  new-leader: new leaders: p0 1→2",
		"   1.600  first-error p0 (node 1): acks=all: REQUEST_TIMED_OUT",
	} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("Markdown lacks %q:\n%s", want, md.String())
		}
	}
	for _, want := range []string{"partition node 1 from its peers&#xA;timeline (seconds since the run started):&#xA;   1.250  fault node 1: partition node 1", "first-error p0 (node 1)"} {
		if !strings.Contains(junit.String(), want) {
			t.Errorf("JUnit lacks %q:\n%s", want, junit.String())
		}
	}
}
