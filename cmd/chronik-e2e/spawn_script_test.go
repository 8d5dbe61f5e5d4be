package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/chronik-e2e/chronik-e2e/pkg/cluster"
	"github.com/chronik-e2e/chronik-e2e/pkg/testbroker"
)

// The scripts' commands for spawn mode and cluster up (see TestScript):
//
//	backend [-env NAME] [-hold REQUEST] [-no-election] [-replication MODE] NODES
//	    start the cluster behind NODES proxy-mode test brokers in the test
//	    process (testbroker.Backend) and set $NAME (default BACKEND) to
//	    the URL the brokers take as --backend; -hold never answers the
//	    requests named; -no-election makes metadata show partition 0 of
//	    every topic without a leader from the moment a node dies or stops
//	    until one starts again (a cluster that does not elect);
//	    -replication shows replication as MODE says (healthy, isr-lies,
//	    leader-only: see testbroker.Replication); it stops when the
//	    script ends
//	backend-held NAME
//	    wait until the backend whose URL is in $NAME holds a request
//	signal-pid [-parent] SIGNAL FILE
//	    send SIGNAL (e.g. USR2, TERM) to the pid written in FILE (a glob
//	    that must match one file), or with -parent to that process's
//	    parent (the runner of a node: testscript's kill knows only INT
//	    and KILL)
//	pids-gone GLOB...
//	    every process whose pid is written in a file matching a GLOB has
//	    ended (gone, or a zombie nobody reaped yet); at least one file
//	    must match
//	wait-file FILE|GLOB
//	    wait until FILE exists, or a file matches GLOB (at most 60s)
//	no-match GLOB
//	    no file matches GLOB
//	json-env FILE PATH NAME
//	    set $NAME to the value at the dotted PATH of the JSON in FILE (a
//	    list is joined with commas)
//	listen-port NAME
//	    listen on a free port of 127.0.0.1 until the script ends, and set
//	    $NAME to it
//	free-ports NAME...
//	    set each $NAME to a port of 127.0.0.1 that was free a moment ago
//	    (for profiles with fixed ports)
//	subst-env IN OUT
//	    write IN to OUT with every $NAME and ${NAME} replaced by its value
//	    in the script's environment

// backends maps a backend's URL to what its held requests signal.
var backends sync.Map // string -> chan struct{}

// waitBound is how long the scripts' waiting commands wait at most.
const waitBound = 60 * time.Second

func cmdBackend(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! backend")
	}
	fs := flag.NewFlagSet("backend", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	env := fs.String("env", "BACKEND", "environment variable to set to the backend's URL")
	var hold []kmsg.Key
	holdFlag(fs, &hold)
	noElection := fs.Bool("no-election", false, "partition 0 of every topic has no leader while a node is down")
	replication := fs.String("replication", "", "how metadata shows replication")
	nodes := parseNodes(ts, fs, args, "backend [-env NAME] [-hold REQUEST] [-no-election] [-replication MODE] NODES")
	mode, err := testbroker.ParseReplication(*replication)
	ts.Check(err)
	b, err := testbroker.StartBackend(nodes, testbroker.WithReplication(mode))
	ts.Check(err)
	ts.Defer(func() { _ = b.Close() })
	held, _ := holdRequests(ts, b.Embedded(), hold)
	if *noElection {
		// The hooks run one at a time, with the backend locked.
		var leaderless *kfake.FaultHandle
		b.OnNodeOp(func(op cluster.Op, _ int32) {
			if kc := b.Embedded().Kfake(); (op == cluster.OpKill || op == cluster.OpStop) && leaderless == nil && kc != nil {
				leaderless = kc.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Metadata}, Partitions: []int32{0}, Err: kerr.LeaderNotAvailable, Count: -1})
			}
		}, func(op cluster.Op, _ int32) {
			if op == cluster.OpStart && leaderless != nil {
				leaderless.Remove()
				leaderless = nil
			}
		})
	}
	backends.Store(b.URL(), held)
	ts.Defer(func() { backends.Delete(b.URL()) })
	ts.Setenv(*env, b.URL())
}

func cmdBackendHeld(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: backend-held NAME")
	}
	held, ok := backends.Load(ts.Getenv(args[0]))
	if !ok {
		ts.Fatalf("backend-held: $%s names no backend of this script", args[0])
	}
	waitHeld(ts, "backend-held", held.(chan struct{}), waitBound)
}

// pidsIn reads the pids written in the files matching pattern (relative to $WORK).
func pidsIn(ts *testscript.TestScript, pattern string) map[string]int {
	files, err := filepath.Glob(ts.MkAbs(pattern))
	ts.Check(err)
	pids := map[string]int{}
	for _, f := range files {
		pid, err := strconv.Atoi(strings.TrimSpace(ts.ReadFile(f)))
		if err != nil {
			ts.Fatalf("%s: no pid: %v", f, err)
		}
		pids[f] = pid
	}
	return pids
}

func cmdSignalPid(ts *testscript.TestScript, neg bool, args []string) {
	parent := len(args) > 0 && args[0] == "-parent"
	if parent {
		args = args[1:]
	}
	if neg || len(args) != 2 {
		ts.Fatalf("usage: signal-pid [-parent] SIGNAL FILE")
	}
	pids := pidsIn(ts, args[1])
	if len(pids) != 1 {
		ts.Fatalf("signal-pid: %s matches %d pid files, want 1", args[1], len(pids))
	}
	for _, pid := range pids {
		if parent {
			pid = parentOf(ts, pid)
		}
		ts.Check(sendSignal(pid, args[0]))
	}
}

// parentOf returns the parent pid of pid, from /proc.
func parentOf(ts *testscript.TestScript, pid int) int {
	stat := ts.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	// pid (comm) state ppid ...: comm may hold spaces and parentheses.
	fields := strings.Fields(stat[strings.LastIndexByte(stat, ')')+1:])
	if len(fields) < 2 {
		ts.Fatalf("/proc/%d/stat: no parent pid in %q", pid, stat)
	}
	ppid, err := strconv.Atoi(fields[1])
	ts.Check(err)
	return ppid
}

// running reports whether pid is a process that has not ended: not gone
// and not a zombie.
func running(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return sendSignal(pid, "0") == nil
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

func cmdPidsGone(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: pids-gone GLOB...")
	}
	n := 0
	for _, pattern := range args {
		for f, pid := range pidsIn(ts, pattern) {
			n++
			// A process killed by its parent-death signal may need a moment
			// to be torn down by the kernel; it never needs long.
			deadline := time.Now().Add(waitBound)
			for running(pid) && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			if running(pid) {
				ts.Fatalf("pid %d (%s) still runs", pid, f)
			}
		}
	}
	if n == 0 {
		ts.Fatalf("pids-gone: no pid file matches %q", args)
	}
	ts.Logf("%d process(es) gone", n)
}

func cmdWaitFile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: wait-file FILE|GLOB")
	}
	pattern := ts.MkAbs(args[0])
	deadline := time.Now().Add(waitBound)
	for time.Now().Before(deadline) {
		if m, err := filepath.Glob(pattern); err == nil && len(m) > 0 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	ts.Fatalf("wait-file: no %s within %s", args[0], waitBound)
}

// cmdNoMatch fails when a file matches GLOB.
func cmdNoMatch(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: no-match GLOB")
	}
	m, err := filepath.Glob(ts.MkAbs(args[0]))
	ts.Check(err)
	if len(m) > 0 {
		ts.Fatalf("no-match: %s matches %q", args[0], m)
	}
}

func cmdJSONEnv(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: json-env FILE PATH NAME")
	}
	v := jsonAt(ts, args[0], args[1])
	var val string
	switch x := v.(type) {
	case string:
		val = x
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = fmt.Sprint(e)
		}
		val = strings.Join(parts, ",")
	case nil:
		ts.Fatalf("json-env: no %s in %s", args[1], args[0])
	default:
		val = fmt.Sprint(x)
	}
	ts.Setenv(args[2], val)
}

func cmdListenPort(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: listen-port NAME")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	ts.Check(err)
	ts.Defer(func() { _ = ln.Close() })
	ts.Setenv(args[0], strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
}

func cmdSubstEnv(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: subst-env IN OUT")
	}
	out := os.Expand(ts.ReadFile(args[0]), ts.Getenv)
	ts.Check(os.WriteFile(ts.MkAbs(args[1]), []byte(out), 0o644))
}

func cmdFreePorts(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: free-ports NAME...")
	}
	var held []net.Listener // held until all are chosen, so they differ
	defer func() {
		for _, ln := range held {
			_ = ln.Close()
		}
	}()
	for _, name := range args {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		ts.Check(err)
		held = append(held, ln)
		ts.Setenv(name, strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
	}
}
