// Package testbroker is chronik-e2e's own small broker program for testing
// spawn mode with real processes (`chronik-e2e internal broker`, hidden
// from help). A node runs in one of two ways:
//
//   - standalone: a one-broker embedded (kfake) cluster on --listen, a
//     complete Kafka-protocol broker in its own process, for one-node
//     profiles;
//   - proxy (--backend URL --index I): a TCP forwarder on --listen to
//     broker I of a Backend, which then advertises --listen in its
//     metadata. N such processes make an N-node cluster whose nodes can be
//     started, stopped, paused and killed one by one, each taking its
//     broker's address with it.
//
// What it simulates: processes that start, serve, log, crash, ignore
// signals and die, and brokers that become unreachable with their process.
// What it cannot: the brokers of a Backend share one copy of the data in
// one process, so a killed node loses nothing and needs no catching up;
// there is no replication or election between processes. Those are the
// real broker's to show (configs/chronik-3x3.yaml).
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
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// config is what the flags say.
type config struct {
	listen     string
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
}

// Usage is the synopsis of the broker's flags.
const Usage = "chronik-e2e internal broker --listen HOST:PORT [--id N] [--backend URL --index I] [--health HOST:PORT] [--ready-after DURATION] [--log LINE]... [--usr1-log LINE]... [--fail-start MESSAGE] [--ignore-term] [--color]"

func parseFlags(args []string, out io.Writer) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("chronik-e2e internal broker", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&c.listen, "listen", "", "host:port to serve Kafka on (required)")
	fs.IntVar(&c.id, "id", 1, "the node's id, for its log lines")
	fs.StringVar(&c.backend, "backend", "", "proxy mode: URL of the backend to register with and forward to")
	fs.IntVar(&c.index, "index", 0, "proxy mode: which broker of the backend this node is (0 for the first)")
	fs.StringVar(&c.health, "health", "", "host:port to answer GET /health on")
	fs.DurationVar(&c.readyAfter, "ready-after", 0, "answer /health with 503 until this long after start")
	fs.Func("log", "a line to print once serving (repeatable)", func(s string) error { c.logs = append(c.logs, s); return nil })
	fs.Func("usr1-log", "a line to print on SIGUSR1 (repeatable)", func(s string) error { c.usr1Logs = append(c.usr1Logs, s); return nil })
	fs.StringVar(&c.failStart, "fail-start", "", "print this error and exit 1 instead of serving")
	fs.BoolVar(&c.ignoreTerm, "ignore-term", false, "ignore SIGTERM and SIGINT: only SIGKILL stops the node")
	fs.BoolVar(&c.color, "color", false, "colour the log lines with ANSI escapes")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments %q; usage: %s", fs.Args(), Usage)
	}
	if c.listen == "" {
		return nil, fmt.Errorf("--listen is required; usage: %s", Usage)
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
	stop, err := serve(c, lg)
	if err != nil {
		lg.log("ERROR", "%v", err)
		return 1
	}
	defer stop()
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
	for s := range sigs {
		switch {
		case isTerm(s) && c.ignoreTerm:
			lg.log("WARN", "ignoring %v", s)
		case isTerm(s):
			lg.log("INFO", "%v: shutting down", s)
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
	return 0
}

// serve starts serving Kafka on c.listen and returns how to stop.
func serve(c *config, lg *logger) (func(), error) {
	if c.backend == "" {
		listen := func(network, _ string) (net.Listener, error) { return net.Listen(network, c.listen) }
		// One broker places its own leaders, and keeps its data in memory.
		kc, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.ListenFn(listen))
		if err != nil {
			return nil, err
		}
		lg.log("INFO", "node %d serving Kafka on %s (standalone one-broker cluster)", c.id, c.listen)
		return kc.Close, nil
	}
	target, err := register(c)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", c.listen)
	if err != nil {
		return nil, err
	}
	var wg sync.WaitGroup
	done := make(chan struct{})
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				forward(conn, target, done)
			}()
		}
	}()
	lg.log("INFO", "node %d serving Kafka on %s (proxy to broker %d of the backend at %s)", c.id, c.listen, c.index, target)
	return func() {
		_ = ln.Close()
		close(done)
		wg.Wait()
	}, nil
}

// register tells the backend that broker c.index is reached at c.listen and
// returns the broker's own address.
func register(c *config) (string, error) {
	q := url.Values{"index": {strconv.Itoa(c.index)}, "addr": {c.listen}}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{Proxy: nil}}
	resp, err := client.Post(strings.TrimSuffix(c.backend, "/")+"/register?"+q.Encode(), "text/plain", nil)
	if err != nil {
		return "", fmt.Errorf("register with the backend: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("register with the backend: %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	return strings.TrimSpace(string(body)), nil
}

// forward copies bytes both ways between conn and target until either side
// closes or done is closed.
func forward(conn net.Conn, target string, done <-chan struct{}) {
	defer conn.Close()
	up, err := net.DialTimeout("tcp", target, 5*time.Second)
	if err != nil {
		return
	}
	defer up.Close()
	finished := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(up, conn); finished <- struct{}{} }()
	go func() { _, _ = io.Copy(conn, up); finished <- struct{}{} }()
	select {
	case <-finished:
	case <-done:
	}
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
