//go:build unix

package runner_test

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/chronik-e2e/chronik-e2e/pkg/cluster"
	"github.com/chronik-e2e/chronik-e2e/pkg/profile"
	"github.com/chronik-e2e/chronik-e2e/pkg/report"
	"github.com/chronik-e2e/chronik-e2e/pkg/testbroker"
)

// The fault scenarios against spawned processes: three test broker nodes
// (this test binary, run as `chronik-e2e internal broker` in proxy mode)
// in front of a backend cluster in the test process. The runner kills and
// starts the node processes itself, with SIGKILL and a new process; the
// backend sees a node's registration connection close, takes its broker
// down and elects new leaders, and brings it back when the node registers
// again (see testbroker.Backend). One copy of the data serves every broker,
// so loss here is injected, never caused by the kill.

// TestHelperBroker is not a test: spawned as a node (see spawnProfile), the
// test binary runs the project's test broker with the arguments after "--".
func TestHelperBroker(t *testing.T) {
	testbroker.ServeIfHelper(flag.Args())
	t.Skip("runs only as a spawned node")
}

// startBackend starts the backend of a 3-node spawned cluster, closed when
// the test ends; before that, the test checks that no node process is left.
func startBackend(t *testing.T, opts ...testbroker.BackendOption) *testbroker.Backend {
	t.Helper()
	b, err := testbroker.StartBackend(3, opts...)
	if err != nil {
		t.Fatalf("start the backend: %v", err)
	}
	t.Cleanup(func() {
		if pids := nodesLeft(b.URL()); len(pids) > 0 {
			t.Errorf("node processes %v still run after the run ended", pids)
		}
		if err := b.Close(); err != nil {
			t.Errorf("close the backend: %v", err)
		}
		if t.Failed() {
			t.Logf("backend events:\n%s", strings.Join(b.Events(), "\n"))
		}
	})
	return b
}

// spawnProfile returns faultProfile for names on three spawned test broker
// nodes in front of b.
func spawnProfile(t *testing.T, b *testbroker.Backend, edit func(*profile.Profile), names ...string) *profile.Profile {
	t.Helper()
	return faultProfile(t, func(p *profile.Profile) {
		p.Cluster.Mode = profile.ModeSpawn
		s := &p.Cluster.Spawn
		s.Command = []string{os.Args[0], "-test.run=^TestHelperBroker$", "--", "--listen", `{{.Addr "kafka"}}`, "--id", "{{.ID}}",
			"--backend", b.URL(), "--index", "{{.Index}}"}
		s.Env = map[string]string{testbroker.HelperEnv: "1"}
		s.Ports = []string{"kafka"}
		s.WorkDir = t.TempDir()
		if edit != nil {
			edit(p)
		}
	}, names...)
}

// nodesLeft returns the pids of live processes whose command line names
// the backend's URL: its nodes. Without /proc it finds none.
func nodesLeft(url string) []int {
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	var pids []int
	for _, d := range dirs {
		cmdline, err := os.ReadFile(filepath.Join(d, "cmdline"))
		if err != nil || !bytes.Contains(cmdline, []byte(url)) {
			continue
		}
		stat, err := os.ReadFile(filepath.Join(d, "stat"))
		if i := bytes.LastIndexByte(stat, ')'); err == nil && i >= 0 && i+2 < len(stat) && stat[i+2] == 'Z' {
			continue // ended; its parent has not reaped it yet
		}
		pid, _ := strconv.Atoi(filepath.Base(d))
		pids = append(pids, pid)
	}
	return pids
}

// wantEvents fails the test unless the backend recorded an event
// containing each of wants.
func wantEvents(t *testing.T, b *testbroker.Backend, wants ...string) {
	t.Helper()
	events := b.Events()
	for _, w := range wants {
		if !slices.ContainsFunc(events, func(e string) bool { return strings.Contains(e, w) }) {
			t.Errorf("no backend event %q; events:\n%s", w, strings.Join(events, "\n"))
		}
	}
}

// checkSpawnedRun checks what every passing fault run on spawned nodes
// shows: real processes killed with SIGKILL and started again, the backend
// electing without the killed node, no node failure, and a fault run per
// wanted mode without loss.
func checkSpawnedRun(t *testing.T, rep *report.Report, runs [][2]string) {
	t.Helper()
	if rep.Cluster.Mode != profile.ModeSpawn || len(rep.Cluster.Nodes) != 3 || len(rep.Cluster.NodeFailures) != 0 {
		t.Errorf("cluster %+v: want 3 spawned nodes, none failed", rep.Cluster)
	}
	var sigkills, starts int
	for _, e := range rep.Faults.Timeline {
		if e.Kind != report.EventFault {
			continue
		}
		switch {
		case strings.Contains(e.Detail, "sent SIGKILL to node ") && strings.Contains(e.Detail, "it exited with signal: killed"):
			sigkills++
		case strings.Contains(e.Detail, "started node ") && strings.Contains(e.Detail, "again (pid "):
			starts++
		}
	}
	if sigkills == 0 || starts == 0 {
		t.Errorf("%d SIGKILLs and %d starts of node processes on the timeline, want some of each", sigkills, starts)
	}
	for _, r := range runs {
		fr := faultRun(t, rep, r[0], r[1])
		if !fr.Passed || fr.Sent == 0 || fr.Lost != 0 || (fr.Acks != "0" && fr.Acked == 0) {
			t.Errorf("run %s %s: %+v", r[0], r[1], fr)
		}
	}
}

// TestSpawnedFailoverScenarios: leader-failover, node-restart and
// cluster-restart pass on spawned nodes killed with SIGKILL, with
// elections and returns to the ISR on the timeline, and no process left;
// consumer-group (which kills nothing) passes on the restarted cluster.
func TestSpawnedFailoverScenarios(t *testing.T) {
	t.Parallel()
	b := startBackend(t)
	names := []string{"leader-failover", "node-restart", "cluster-restart", "consumer-group"}
	rep := run(t, spawnProfile(t, b, nil, names...), nil)
	verdicts(t, rep, map[string]bool{"leader-failover": true, "node-restart": true, "cluster-restart": true, "consumer-group": true})
	checkSpawnedRun(t, rep, [][2]string{
		{"leader-failover", "acks=all"}, {"node-restart", "acks=all"},
		{"cluster-restart", "acks=all, stop all"}, {"cluster-restart", "acks=all, kill all"},
		{"consumer-group", "acks=all, group of 3"},
	})
	for _, s := range []string{"leader-failover", "node-restart"} {
		got := kinds(rep, s)
		for _, k := range []string{report.EventFault, report.EventNewLeader, report.EventNodeGone, report.EventNodeListed, report.EventISR} {
			if !slices.Contains(got, k) {
				t.Errorf("%s: no %s event on the timeline (kinds %v)", s, k, got)
			}
		}
	}
	for _, w := range rep.Faults.Windows {
		if w.Scenario == "leader-failover" && w.Fault == "kill node 0" && (w.Open || w.LeaderBefore != 0 || w.LeaderAfter == 0) {
			t.Errorf("leader-failover window %+v: want closed, from leader 0 to another", w)
		}
	}
	// The backend learned of each kill from the node's connection closing,
	// of each stop from the node leaving, and started the brokers again.
	wantEvents(t, b, "went away: kill broker 0: removed node 0", "is shutting down: stop broker 1: moved the leadership",
		"registered: start broker 0: added node 0 back", "was the last node up", "every node was down: the embedded cluster restarted")
}

// TestSpawnedRestartScenarios: rolling-restart (SIGTERM, a controlled
// shutdown), acks-matrix and idempotence (SIGKILL) pass on spawned nodes.
func TestSpawnedRestartScenarios(t *testing.T) {
	t.Parallel()
	b := startBackend(t)
	names := []string{"rolling-restart", "acks-matrix", "idempotence"}
	rep := run(t, spawnProfile(t, b, nil, names...), nil)
	verdicts(t, rep, map[string]bool{"rolling-restart": true, "acks-matrix": true, "idempotence": true})
	checkSpawnedRun(t, rep, [][2]string{
		{"rolling-restart", "acks=all"}, {"acks-matrix", "acks=1"}, {"acks-matrix", "acks=all"},
		{"idempotence", "acks=all idempotent"}, {"idempotence", "acks=all retrying"},
	})
	if r := faultRun(t, rep, "idempotence", "acks=all idempotent"); r.Duplicated != 0 {
		t.Errorf("idempotent run %+v: want no duplicates", r)
	}
	// Stopping node 3 (broker 2, kfake's controller) restarts the backend's
	// cluster when it comes back: the rolling restart survives that too.
	wantEvents(t, b, "stop broker 0", "stop broker 1", "stop broker 2", "start broker 2", "went away: kill broker 0")
}

// TestSpawnedLeaderFailoverDetectsLoss: when the backend takes the killed
// node's broker down, every record of the scenario's topic is deleted:
// leader-failover must fail for the lost acknowledged messages, as on the
// embedded cluster.
func TestSpawnedLeaderFailoverDetectsLoss(t *testing.T) {
	t.Parallel()
	b := startBackend(t)
	topics := &topicLog{}
	b.Embedded().Kfake().Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.CreateTopics}, Observe: true, Count: -1, When: func(req kmsg.Request) bool {
		topics.mu.Lock()
		defer topics.mu.Unlock()
		for _, rt := range req.(*kmsg.CreateTopicsRequest).Topics {
			topics.topics = append(topics.topics, rt.Topic)
		}
		return true
	}})
	b.OnNodeOp(nil, func(op cluster.Op, id int32) {
		if op != cluster.OpKill {
			return
		}
		topic := topics.named(t, "failover")
		for p := range int32(3) {
			if err := b.Embedded().Kfake().DeleteRecords(topic, p, -1); err != nil {
				t.Errorf("delete the records of %s partition %d: %v", topic, p, err)
			}
		}
	})
	rep := run(t, spawnProfile(t, b, nil, "leader-failover"), nil)
	verdicts(t, rep, map[string]bool{"leader-failover": false})
	r := faultRun(t, rep, "leader-failover", "acks=all")
	if r.Lost == 0 || r.Passed || r.LossAllowed {
		t.Errorf("run %+v: want lost records, not allowed, failed", r)
	}
	wantFinding(t, section(t, rep, "leader-failover"), fmt.Sprintf("acks=all: %d lost record(s)", r.Lost), "no acknowledged message may be lost")
	wantEvents(t, b, "went away: kill broker 0")
}
