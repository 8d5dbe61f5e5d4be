package report

import (
	"strings"
	"testing"
	"time"
)

// spawned is a report of a spawn-mode run in which node 2 crashed and
// logged trouble, and node 1 logged something within its start-up grace.
func spawned() *Report {
	at := time.Date(2026, 11, 25, 23, 53, 1, 123e6, time.UTC)
	r := New("chronik-3x3", "1438acbcba65a343", at)
	r.Config = Config{Nodes: 3, Topic: "e2e", Partitions: 3, ReplicationFactor: 3, Messages: 10, Keys: 1, ValueBytes: 100, Acks: "all"}
	r.Scenarios = []*Scenario{{Name: "topic-create", Passed: true, Findings: []string{}}}
	r.Cluster = Cluster{
		Mode: "spawn", WorkDir: "/tmp/chronik-e2e-chronik-3x3-cbba65a3-42",
		Nodes: []Node{
			{ID: 2, PID: 4243, Addr: "127.0.0.1:40002", Ports: map[string]int{"kafka": 40002, "health": 6093}, LogFile: "/tmp/chronik-e2e-chronik-3x3-cbba65a3-42/node-2.log", Exit: "exit status 101", LogCounts: map[string]int64{"elections": 0}},
			{ID: 1, PID: 4242, Addr: "127.0.0.1:40001", Ports: map[string]int{"kafka": 40001, "health": 6092}, LogFile: "/tmp/chronik-e2e-chronik-3x3-cbba65a3-42/node-1.log", LogCounts: map[string]int64{"elections": 3}},
		},
		NodeFailures: []NodeFailure{{
			Node: 2, PID: 4243, Time: at, Error: "node 2 (pid 4243) exited with exit status 101 while the run needed it, 1.2s after it started",
			LogTail: []string{"INFO starting", "thread 'main' panicked at src/raft.rs:42:5:", strings.Repeat("x", 100)},
		}},
		LogFindings: []LogFinding{
			{Node: 1, Time: at, Line: "WARN No Raft leader elected yet", Pattern: "No Raft leader elected", InGrace: true},
			{Node: 2, Time: at.Add(time.Second), Line: "thread 'main' panicked at src/raft.rs:42:5:", Pattern: "panicked at"},
		},
	}
	return r
}

func TestRenderNodes(t *testing.T) {
	r := spawned()
	r.Finish(r.StartedAt.Add(2 * time.Second))
	if r.Passed {
		t.Fatal("a report with a node failure passed")
	}
	out := render(t, r, nil)
	for _, want := range []string{
		"\n▶ Nodes\n  work dir  /tmp/chronik-e2e-chronik-3x3-cbba65a3-42 (kept)\n",
		"\n  node   pid  ports                      log\n",
		"\n     1  4242  health 6092 · kafka 40001  node-1.log\n",
		"\n     2  4243  health 6093 · kafka 40002  node-2.log  exited: exit status 101\n",
		"\n  log lines counted as elections: node 1 3 · node 2 0\n",
		"\n  ✗ node 2 (pid 4243) exited with exit status 101 while the run needed it, 1.2s\n    after it started\n",
		"\n    last 3 lines of its log:\n    │ INFO starting\n    │ thread 'main' panicked at src/raft.rs:42:5:\n    │ " + strings.Repeat("x", 74) + "\n    │ " + strings.Repeat("x", 26) + "\n",
		"\n  • node 1 23:53:01.123 WARN No Raft leader elected yet\n    matches logs.fail_on \"No Raft leader elected\", within the start-up grace: noted, not failed\n",
		"\n  ✗ node 2 23:53:02.123 thread 'main' panicked at src/raft.rs:42:5:\n    matches logs.fail_on \"panicked at\"\n",
		"✗ FAILED (1/1 scenarios passed, 1 node exited, 1 log finding)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	if i, j := strings.Index(out, "▶ Nodes"), strings.Index(out, "▶ topic-create"); i < 0 || j < i {
		t.Error("the nodes section is not before the scenarios")
	}
}

func TestClusterFails(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Cluster)
		want bool
	}{
		{"node failure", func(c *Cluster) { c.LogFindings = nil }, true},
		{"log finding", func(c *Cluster) { c.NodeFailures = nil }, true},
		{"log finding in grace only", func(c *Cluster) { c.NodeFailures, c.LogFindings = nil, c.LogFindings[:1] }, false},
		{"dropped findings", func(c *Cluster) { c.NodeFailures, c.LogFindings, c.LogFindingsDropped = nil, nil, 3 }, true},
		{"nothing", func(c *Cluster) { c.NodeFailures, c.LogFindings = nil, nil }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := spawned()
			tt.edit(&r.Cluster)
			r.Finish(r.StartedAt.Add(time.Second))
			if got := r.Cluster.Fails(); got != tt.want || r.Passed == tt.want {
				t.Errorf("Fails() = %v, Passed = %v; want Fails %v", got, r.Passed, tt.want)
			}
		})
	}
}

// An embedded run has no nodes section: its report is as before.
func TestRenderNoNodes(t *testing.T) {
	if strings.Contains(render(t, sample(), nil), "▶ Nodes") {
		t.Error("an embedded run's report has a nodes section")
	}
}
