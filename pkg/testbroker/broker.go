// Package testbroker is chronik-e2e's own small broker program for testing
// spawn mode with real processes (`chronik-e2e internal broker`, hidden
// from help). A node runs in one of two ways:
//
//   - standalone: a one-broker embedded (kfake) cluster on --listen, a
//     complete Kafka-protocol broker in its own process, for one-node
//     profiles;
//   - proxy (--backend URL --index I): a TCP forwarder on --listen to
//     broker I of a Backend, which then advertises --listen (or
//     --advertise, e.g. the runner's proxy in front of it) in its
//     metadata. N such processes make an N-node cluster whose nodes can be
//     started, stopped, paused and killed one by one, each taking its
//     broker's address with it. A proxy keeps its registration with the
//     backend open while it lives: when its process dies (SIGKILL, a
//     crash) the backend takes its broker down and moves its partitions'
//     leadership to the next broker up; on SIGTERM the proxy first tells
//     the backend it leaves (a controlled shutdown: leadership moves
//     before the broker goes); when it starts again, its broker comes back
//     and takes its preferred leaderships back. A proxy whose backend goes
//     away exits with status 1.
//
// What it simulates: processes that start, serve, log, crash, ignore
// signals and die; brokers that become unreachable with their process;
// elections when a node dies or stops and its return when it starts, so
// that the fault scenarios run against real processes killed with
// SIGKILL. What it cannot: the brokers of a Backend share one copy of the
// data in one process, so a killed node loses nothing acknowledged, its
// followers need no catching up and every broker up is in every ISR (a
// Backend's replication mode, replication.go, stages an honest ISR, one
// that lies, and Chronik's #29, with a placement answer per node);
// there is no replication between processes, elections are immediate and
// deterministic, and without a membership rule a paused (SIGSTOP) node
// keeps its leadership, as nothing detects it. Loss, slow elections and
// catch-up are the real broker's to show (configs/chronik-3x3.yaml); the
// project's tests inject them into the backend (Backend.OnNodeOp) to prove
// the runner detects them.
//
// Links between nodes: under a backend's membership rule (`chronik-e2e
// internal backend --membership healthy`, membership.go) each node also
// answers heartbeats on --raft-listen and pings every peer at the address
// --peers gives for it (a profile renders those through the runner's link
// proxies: {{$.LinkAddr .ID "raft"}}), and reports whom it hears to the
// backend, which lets a node lead only while it and a majority hear each
// other. A cut link (one way or both) or a paused node then costs a
// leadership as in a Raft cluster, an isolated leader's writes are held or
// orphaned, and a healed node leads again: the runner's network faults and
// their verdicts are tested end to end. The split-brain and ack-drop modes
// stage what the verdicts must catch. This shows the runner's mechanism; it
// is not any real broker's behaviour.
//
// For tests it can also: answer its --health probe with 503 for a while
// (--ready-after), print given lines once serving (--log) or on SIGUSR1
// (--usr1-log), fail at start (--fail-start), ignore SIGTERM and SIGINT
// (--ignore-term), colour its output (--color), and on SIGUSR2 print a
// Rust-style panic and exit with status 101.
package testbroker

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// config is what the flags say.
type config struct {
	listen     string
	advertise  string
	id         int
	backend    string
	index      int
	health     string
	readyAfter time.Duration
	logs       []string
	usr1Logs   []string
	failStart  string
	ignoreTerm bool
	color      bool
	raftListen string        // heartbeat port (membership.go); "" for none
	peers      []peer        // the peers to heartbeat
	heartbeat  time.Duration // how often
}

// Usage is the synopsis of the broker's flags.
const Usage = "chronik-e2e internal broker --listen HOST:PORT [--id N] [--backend URL --index I [--advertise HOST:PORT] [--raft-listen HOST:PORT --peers ID=HOST:PORT,... [--heartbeat DURATION]]] [--health HOST:PORT] [--ready-after DURATION] [--log LINE]... [--usr1-log LINE]... [--fail-start MESSAGE] [--ignore-term] [--color]"

func parseFlags(args []string, out io.Writer) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("chronik-e2e internal broker", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&c.listen, "listen", "", "host:port to serve Kafka on (required)")
	fs.IntVar(&c.id, "id", 1, "the node's id, for its log lines")
	fs.StringVar(&c.backend, "backend", "", "proxy mode: URL of the backend to register with and forward to")
	fs.IntVar(&c.index, "index", 0, "proxy mode: which broker of the backend this node is (0 for the first)")
	fs.StringVar(&c.advertise, "advertise", "", "proxy mode: host:port the backend tells clients for this node (default: --listen), e.g. the runner's proxy in front of it")
	fs.StringVar(&c.health, "health", "", "host:port to answer GET /health on")
	fs.DurationVar(&c.readyAfter, "ready-after", 0, "answer /health with 503 until this long after start")
	fs.Func("log", "a line to print once serving (repeatable)", func(s string) error { c.logs = append(c.logs, s); return nil })
	fs.Func("usr1-log", "a line to print on SIGUSR1 (repeatable)", func(s string) error { c.usr1Logs = append(c.usr1Logs, s); return nil })
	fs.StringVar(&c.failStart, "fail-start", "", "print this error and exit 1 instead of serving")
	fs.BoolVar(&c.ignoreTerm, "ignore-term", false, "ignore SIGTERM and SIGINT: only SIGKILL stops the node")
	fs.BoolVar(&c.color, "color", false, "colour the log lines with ANSI escapes")
	fs.StringVar(&c.raftListen, "raft-listen", "", "proxy mode, membership: host:port to answer peers' heartbeats on (the backend's --membership rule judges the node by them)")
	fs.Func("peers", "proxy mode, membership: the peers to heartbeat, ID=HOST:PORT,... (repeatable; the node's own id is skipped)", func(s string) error {
		ps, err := parsePeers(s)
		c.peers = append(c.peers, ps...)
		return err
	})
	fs.DurationVar(&c.heartbeat, "heartbeat", 100*time.Millisecond, "proxy mode, membership: how often to ping each peer and report to the backend")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	c.peers = slices.DeleteFunc(c.peers, func(p peer) bool { return p.id == c.id })
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q; usage: %s", fs.Args(), Usage)
	}
	if c.listen == "" {
		return nil, fmt.Errorf("--listen is required; usage: %s", Usage)
	}
	if c.advertise == "" {
		c.advertise = c.listen
	}
	switch {
	case c.raftListen != "" && c.backend == "":
		return nil, fmt.Errorf("--raft-listen needs --backend: only proxy-mode nodes heartbeat; usage: %s", Usage)
	case len(c.peers) > 0 && c.raftListen == "":
		return nil, fmt.Errorf("--peers needs --raft-listen, the port the peers ping; usage: %s", Usage)
	case c.heartbeat <= 0:
		return nil, fmt.Errorf("--heartbeat %s: want a positive duration", c.heartbeat)
	}
	return c, nil
}

// Main runs a broker node until SIGTERM or SIGINT and returns its exit status.
func Main(args []string, stdout, stderr io.Writer) int {
	c, err := parseFlags(args, stderr)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(stderr, "chronik-e2e internal broker: %v\n", err)
		}
		return 2
	}
	lg := &logger{w: stdout, color: c.color, id: c.id}
	if c.failStart != "" {
		lg.log("ERROR", "%s", c.failStart)
		return 1
	}
	sigs := make(chan os.Signal, 8)
	notify(sigs)
	defer signal.Stop(sigs)

	started := time.Now()
	n, err := serve(c, lg)
	if err != nil {
		lg.log("ERROR", "%v", err)
		return 1
	}
	graceful := false
	defer func() { n.stop(graceful) }()
	if c.health != "" {
		closeHealth, err := serveHealth(c.health, started, c.readyAfter)
		if err != nil {
			lg.log("ERROR", "health endpoint: %v", err)
			return 1
		}
		defer closeHealth()
		lg.log("INFO", "health endpoint on http://%s/health", c.health)
	}
	for _, l := range c.logs {
		lg.line(l)
	}
	for {
		var s os.Signal
		select {
		case err := <-n.lost:
			lg.log("ERROR", "node %d lost its backend (%v): exiting", c.id, err)
			return 1
		case s = <-sigs:
		}
		switch {
		case isTerm(s) && c.ignoreTerm:
			lg.log("WARN", "ignoring %v", s)
		case isTerm(s):
			lg.log("INFO", "%v: shutting down", s)
			graceful = true
			return 0
		case isUsr1(s):
			for _, l := range c.usr1Logs {
				lg.line(l)
			}
		case isUsr2(s):
			lg.line(fmt.Sprintf("thread 'main' panicked at src/broker.rs:42:5:\nnode %d: simulated crash (SIGUSR2)\nnote: run with `RUST_BACKTRACE=1` environment variable to display a backtrace", c.id))
			return 101
		}
	}
}

// node is a broker node that serves.
type node struct {
	// lost receives why the node lost its backend (proxy mode); nil for a
	// standalone node.
	lost <-chan error
	// stop stops serving; graceful is a shutdown on SIGTERM, which a proxy
	// announces to its backend first.
	stop func(graceful bool)
}

// serve starts serving Kafka on c.listen.
func serve(c *config, lg *logger) (*node, error) {
	if c.backend != "" {
		return startProxy(c, lg)
	}
	listen := func(network, _ string) (net.Listener, error) { return net.Listen(network, c.listen) }
	// One broker places its own leaders, and keeps its data in memory.
	kc, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.ListenFn(listen))
	if err != nil {
		return nil, err
	}
	lg.log("INFO", "node %d serving Kafka on %s (standalone one-broker cluster)", c.id, c.listen)
	return &node{stop: func(bool) { kc.Close() }}, nil
}

// serveHealth answers GET /health on addr: 503 until readyAfter has passed
// since started, 200 after.
func serveHealth(addr string, started time.Time, readyAfter time.Duration) (func(), error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) {
		if time.Since(started) < readyAfter {
			http.Error(w, "starting", http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ok\n")
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}

// logger writes log lines in the style of a Rust service (tracing).
type logger struct {
	mu    sync.Mutex
	w     io.Writer
	color bool
	id    int
}

func (l *logger) log(level, format string, args ...any) {
	lvl := fmt.Sprintf("%5s", level)
	if l.color {
		code := map[string]string{"INFO": "32", "WARN": "33", "ERROR": "31"}[level]
		lvl = "\x1b[" + code + "m" + lvl + "\x1b[0m"
	}
	l.line(fmt.Sprintf("%s %s chronik_e2e::testbroker: %s", time.Now().UTC().Format("2006-01-02T15:04:05.000000Z"), lvl, fmt.Sprintf(format, args...)))
}

func (l *logger) line(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintln(l.w, s)
}
