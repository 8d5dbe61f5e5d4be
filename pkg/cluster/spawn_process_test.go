//go:build unix

package cluster_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chronik-e2e/chronik-e2e/pkg/cluster"
	"github.com/chronik-e2e/chronik-e2e/pkg/exitcode"
	"github.com/chronik-e2e/chronik-e2e/pkg/kafka"
	"github.com/chronik-e2e/chronik-e2e/pkg/profile"
	"github.com/chronik-e2e/chronik-e2e/pkg/report"
	"github.com/chronik-e2e/chronik-e2e/pkg/testbroker"
)

// TestHelperBroker is not a test: spawned as a node (see brokerCommand), the
// test binary runs the project's test broker with the arguments after "--".
func TestHelperBroker(t *testing.T) {
	testbroker.ServeIfHelper(flag.Args())
	t.Skip("runs only as a spawned node")
}

// bound is how long any one wait of these tests may take before the test
// calls it hung: generous, for a busy two-core machine.
const bound = 60 * time.Second

// brokerSpec returns a spawn section that starts this test binary as test
// broker nodes with the given extra broker arguments (templates).
func brokerSpec(t *testing.T, args ...string) profile.Spawn {
	t.Helper()
	s := profile.Default().Cluster.Spawn
	s.Command = append([]string{os.Args[0], "-test.run=^TestHelperBroker$", "--", "--listen", `{{.Addr "kafka"}}`, "--id", "{{.ID}}"}, args...)
	s.Env = map[string]string{testbroker.HelperEnv: "1"}
	s.Ports = []string{"kafka", "http"}
	s.WorkDir = t.TempDir()
	s.Stop.Grace = profile.Duration{Duration: 10 * time.Second}
	return s
}

// start starts a spawned cluster of n nodes, closed with the test.
func start(t *testing.T, n int, spec profile.Spawn) *cluster.Spawned {
	t.Helper()
	s, err := cluster.StartSpawn(context.Background(), n, spec, cluster.SpawnOptions{Name: "test"})
	if err != nil {
		t.Fatalf("StartSpawn: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// waitReady waits for s and returns the brokers and every status line. When
// until is set, the wait ends as soon as a status line contains it.
func waitReady(t *testing.T, s *cluster.Spawned, until string) ([]report.Broker, []string, error) {
	t.Helper()
	cfg, err := kafka.Config("3.6.0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var lines []string
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	brokers, err := s.WaitReady(ctx, bound, cfg, func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		line := fmt.Sprintf(format, args...)
		lines = append(lines, line)
		if until != "" && strings.Contains(line, until) {
			cancel()
		}
	})
	return brokers, lines, err
}

// alive reports whether pid is a running process (not gone, not a zombie).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return syscall.Kill(pid, 0) == nil
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

// Three proxy nodes in front of a backend make a cluster that becomes ready
// only when every node answers metadata listing all three brokers at the
// nodes' own addresses; the nodes' output lands in their logs without ANSI
// escapes; Close stops every process.
func TestSpawnThreeNodes(t *testing.T) {
	backend, err := testbroker.StartBackend(3)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = backend.Close() })
	spec := brokerSpec(t, "--backend", backend.URL(), "--index", "{{.Index}}", "--health", `{{.Addr "http"}}`, "--color",
		"--log", "node {{.ID}} of {{.Nodes}} says hello")
	spec.Ready.HTTP = `http://{{.Addr "http"}}/health`
	spec.Logs.Count = map[string]string{"hello": "says hello"}
	s := start(t, 3, spec)

	brokers, status, err := waitReady(t, s, "")
	if err != nil {
		t.Fatalf("WaitReady: %v", err)
	}
	if len(brokers) != 3 {
		t.Fatalf("brokers = %v, want 3", brokers)
	}
	for i, b := range brokers {
		if b.Addr != s.Bootstrap()[i] {
			t.Errorf("broker %d advertises %s, want node %d's address %s", b.ID, b.Addr, i+1, s.Bootstrap()[i])
		}
	}
	if last := status[len(status)-1]; !strings.HasPrefix(last, "cluster ready after ") {
		t.Errorf("last status %q, want the cluster ready", last)
	}

	var rc report.Cluster
	s.Describe(&rc)
	if rc.WorkDir != s.WorkDir() || len(rc.Nodes) != 3 || len(rc.NodeFailures) != 0 || len(rc.LogFindings) != 0 {
		t.Fatalf("Describe = %+v", rc)
	}
	var pids []int
	for i, n := range rc.Nodes {
		pids = append(pids, n.PID)
		if n.ID != i+1 || n.Addr != s.Bootstrap()[i] || n.Ports["http"] == 0 || !alive(n.PID) || n.LogCounts["hello"] != 1 {
			t.Errorf("node %+v: want id %d at %s, a live pid, one hello counted", n, i+1, s.Bootstrap()[i])
		}
		log, err := os.ReadFile(n.LogFile)
		if err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf("INFO chronik_e2e::testbroker: node %d serving Kafka on %s (proxy to broker %d", n.ID, n.Addr, i)
		if !strings.Contains(string(log), want) || strings.Contains(string(log), "\x1b") {
			t.Errorf("log of node %d lacks %q or keeps escapes:\n%q", n.ID, want, log)
		}
		pid, _ := os.ReadFile(filepath.Join(rc.WorkDir, fmt.Sprintf("node-%d.pid", n.ID)))
		if strings.TrimSpace(string(pid)) != strconv.Itoa(n.PID) {
			t.Errorf("pid file of node %d says %q, want %d", n.ID, pid, n.PID)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for _, pid := range pids {
		if alive(pid) {
			t.Errorf("pid %d still runs after Close", pid)
		}
	}
	if _, err := os.Stat(s.WorkDir()); err != nil {
		t.Errorf("Close removed the work dir: %v", err)
	}
	if err := s.RemoveWorkDir(); err != nil {
		t.Fatal(err)
	}
}

// A node whose probe never answers 2xx is never ready: when the wait ends
// WaitReady fails with exit 3, naming the node and what its probe said.
func TestSpawnProbeGatesReadiness(t *testing.T) {
	spec := brokerSpec(t, "--health", `{{.Addr "http"}}`, "--ready-after", "1h")
	spec.Ready.HTTP = `http://{{.Addr "http"}}/health`
	s := start(t, 1, spec)
	probe := fmt.Sprintf("node 1: probe http://127.0.0.1:%d/health answered 503 Service Unavailable", s.Nodes()[0].Ports["http"])
	_, status, err := waitReady(t, s, probe) // ends the wait as the deadline would, once the probe answered 503
	if exitcode.Code(err) != exitcode.Unreachable {
		t.Fatalf("WaitReady = %v, want exit 3", err)
	}
	for _, want := range []string{"the spawned cluster was not ready within", probe, "the node logs are in " + s.WorkDir()} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if len(status) == 0 || !strings.Contains(strings.Join(status, "\n"), "waiting for 1 of 1 nodes") {
		t.Errorf("status = %q, want what it waits for", status)
	}
}

// A node that exits while the run needs it is delivered by Failed, and
// Describe has its exit status and the tail of its log, panic included.
func TestSpawnNodeCrash(t *testing.T) {
	spec := brokerSpec(t)
	spec.Logs.FailOn = []string{"panicked at"}
	s := start(t, 1, spec)
	if _, _, err := waitReady(t, s, ""); err != nil {
		t.Fatal(err)
	}
	pid := s.Nodes()[0].PID
	if err := syscall.Kill(pid, syscall.SIGUSR2); err != nil { // the test broker "panics"
		t.Fatal(err)
	}
	select {
	case err := <-s.Failed():
		want := fmt.Sprintf("node 1 (pid %d) exited with exit status 101 while the run needed it", pid)
		if !strings.HasPrefix(err.Error(), want) {
			t.Errorf("Failed() = %q, want it to start with %q", err, want)
		}
		if text := cluster.FailureText(err); !strings.Contains(text, "  | thread 'main' panicked at src/broker.rs:42:5:") {
			t.Errorf("FailureText lacks the log tail:\n%s", text)
		}
	case <-time.After(bound):
		t.Fatal("Failed() delivered nothing")
	}
	var rc report.Cluster
	s.Describe(&rc)
	if len(rc.NodeFailures) != 1 || rc.Nodes[0].Exit != "exit status 101" || !rc.Fails() {
		t.Fatalf("Describe = %+v", rc)
	}
	tail := strings.Join(rc.NodeFailures[0].LogTail, "\n")
	if !strings.Contains(tail, "serving Kafka") || !strings.Contains(tail, "node 1: simulated crash (SIGUSR2)") {
		t.Errorf("log tail:\n%s", tail)
	}
	if len(rc.LogFindings) != 1 || rc.LogFindings[0].Pattern != "panicked at" || rc.LogFindings[0].InGrace {
		t.Errorf("log findings = %+v, want the panic line", rc.LogFindings)
	}
}

// A node that exits while the cluster starts fails WaitReady at once with
// exit 3, its exit status and the tail of its log.
func TestSpawnNodeFailsAtStart(t *testing.T) {
	spec := brokerSpec(t, "--fail-start", "cannot bind raft port 127.0.0.1:5001: Address already in use")
	s := start(t, 1, spec)
	_, _, err := waitReady(t, s, "")
	if exitcode.Code(err) != exitcode.Unreachable {
		t.Fatalf("WaitReady = %v, want exit 3", err)
	}
	for _, want := range []string{"exited with exit status 1 while the cluster was starting", "cannot bind raft port 127.0.0.1:5001: Address already in use"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

// A node that ignores the stop signal is killed after the grace; that is
// no failure of the run.
func TestSpawnStopEscalatesToKill(t *testing.T) {
	spec := brokerSpec(t, "--ignore-term")
	spec.Stop.Grace = profile.Duration{Duration: 200 * time.Millisecond}
	s := start(t, 1, spec)
	if _, _, err := waitReady(t, s, ""); err != nil {
		t.Fatal(err)
	}
	pid := s.Nodes()[0].PID
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if alive(pid) {
		t.Fatalf("pid %d survived Close", pid)
	}
	log, _ := os.ReadFile(s.Nodes()[0].LogFile)
	for _, want := range []string{"ignoring terminated", "still runs 200ms after terminated: killing it", "exited: signal: killed"} {
		if !strings.Contains(string(log), want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	var rc report.Cluster
	s.Describe(&rc)
	if rc.Fails() || rc.Nodes[0].Exit != "" {
		t.Errorf("a node stopped by Close counts as failed: %+v", rc)
	}
}

// Nodes can be killed, started again on the same ports and data dir,
// paused and resumed through the node controller; none of it is a failure.
func TestSpawnNodeControl(t *testing.T) {
	spec := brokerSpec(t)
	s := start(t, 1, spec)
	if _, _, err := waitReady(t, s, ""); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	node := cluster.Node{ID: 0, Addr: s.Bootstrap()[0]}
	first := s.Nodes()[0].PID
	for _, op := range []cluster.Op{cluster.OpPause, cluster.OpResume, cluster.OpKill, cluster.OpStart, cluster.OpStop, cluster.OpStart} {
		what, err := s.Do(ctx, op, node)
		if err != nil {
			t.Fatalf("%s: %v", op, err)
		}
		t.Logf("%s: %s", op, what)
	}
	if again := s.Nodes()[0].PID; again == first || !alive(again) || alive(first) {
		t.Errorf("pid %d before, %d after a kill and two starts", first, again)
	}
	if _, err := net.DialTimeout("tcp", s.Bootstrap()[0], 5*time.Second); err != nil {
		t.Errorf("the restarted node does not serve on its old address: %v", err)
	}
	if _, err := s.Do(ctx, cluster.OpStart, node); err == nil || !strings.Contains(err.Error(), "is running already") {
		t.Errorf("start of a running node = %v", err)
	}
	var rc report.Cluster
	s.Describe(&rc)
	if rc.Fails() {
		t.Errorf("controlled kills count as failures: %+v", rc.NodeFailures)
	}
	select {
	case err := <-s.Failed():
		t.Errorf("Failed() delivered %v", err)
	default:
	}
}

// Everything that can be wrong before a node starts is an exit-3 error that
// says what to do, and leaves no work dir behind.
func TestSpawnPreflight(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyPort := busy.Addr().(*net.TCPAddr).Port
	file := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		edit func(*profile.Spawn)
		want []string
	}{
		{"env unset", func(s *profile.Spawn) { s.Command[0] = "{{.Env.CHRONIK_E2E_UNSET_BIN}}" },
			[]string{"environment variable CHRONIK_E2E_UNSET_BIN is not set: cluster.spawn uses {{.Env.CHRONIK_E2E_UNSET_BIN}}"}},
		{"missing program", func(s *profile.Spawn) { s.Command[0] = "/nonexistent/chronik-server" },
			[]string{`cluster.spawn.command: the program "/nonexistent/chronik-server" does not exist`}},
		{"port in use", func(s *profile.Spawn) { s.PortBases = map[string]int{"http": busyPort} },
			[]string{fmt.Sprintf("%d (http of node 1): bind: address already in use", busyPort), "fixed port(s) are in use"}},
		{"work dir not a dir", func(s *profile.Spawn) { s.WorkDir = filepath.Join(file, "runs") },
			[]string{"cannot create the work dir " + filepath.Join(file, "runs"), "not a directory"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := brokerSpec(t)
			tt.edit(&spec)
			s, err := cluster.StartSpawn(context.Background(), 1, spec, cluster.SpawnOptions{Name: "pre"})
			if err == nil {
				_ = s.Close()
				t.Fatal("StartSpawn succeeded")
			}
			if exitcode.Code(err) != exitcode.Unreachable || exitcode.Hint(err) == "" {
				t.Errorf("exit code %d, hint %q; want 3 and a hint", exitcode.Code(err), exitcode.Hint(err))
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			if entries, _ := os.ReadDir(spec.WorkDir); len(entries) > 0 {
				t.Errorf("left %s/%s behind", spec.WorkDir, entries[0].Name())
			}
		})
	}
	var e *exitcode.Error
	_, err = cluster.StartEmbeddedPorts([]int{busyPort}, false)
	if !errors.As(err, &e) || e.Code != exitcode.Unreachable || !strings.Contains(err.Error(), fmt.Sprintf("%d (broker 0)", busyPort)) {
		t.Errorf("StartEmbeddedPorts on a busy port = %v", err)
	}
}
