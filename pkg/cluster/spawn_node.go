package cluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/chronik-e2e/chronik-e2e/pkg/profile"
	"github.com/chronik-e2e/chronik-e2e/pkg/report"
)

// How long the supervisor waits, at most, for things that should be quick.
const (
	killWait    = 10 * time.Second // for a SIGKILLed process to be reaped
	logDrain    = 2 * time.Second  // for a node's last output after it exited
	readyPeriod = 5 * time.Second  // between repeated "still waiting" status lines
)

// spawnNode is one node of a spawned cluster: its files, ports and log, and
// the process currently running it (a node can be stopped and started again).
type spawnNode struct {
	id       int // 1 for the first node
	tnode    *profile.TemplateNode
	dir      string
	dataDir  string
	logPath  string
	pidPath  string
	ports    map[string]int
	addr     string // host:port clients reach its Kafka port at: the runner's proxy with faults.network on
	realAddr string // host:port of its Kafka port itself
	argv     []string
	env      []string
	readyURL string
	logFile  *os.File
	log      *logWatcher

	mu   sync.Mutex
	proc *nodeProcess // the last process started; nil before the first start
}

// nodeProcess is one run of a node's command.
type nodeProcess struct {
	cmd     *exec.Cmd
	pid     int
	started time.Time
	exited  chan struct{} // closed once the process was reaped, its output read and its exit recorded
	logDone chan struct{} // closed once its output reached EOF
	state   *os.ProcessState
	// expected is set before the runner stops or kills the process on
	// purpose: its exit is then no failure.
	expected atomic.Bool
	// ended is how it ended ("exit status 1"), set once it was reaped.
	ended atomic.Pointer[string]
}

// exitText says how p ended, e.g. "exit status 101" or "signal: killed".
func (p *nodeProcess) exitText() string {
	if p.state == nil {
		return "an unknown status"
	}
	return p.state.String()
}

func (p *nodeProcess) hasExited() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// current returns the node's last process, or nil.
func (n *spawnNode) current() *nodeProcess {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.proc
}

// running returns the node's process if it is running, or nil.
func (n *spawnNode) running() *nodeProcess {
	if p := n.current(); p != nil && !p.hasExited() {
		return p
	}
	return nil
}

// start runs the node's command from the launcher's thread, with its
// output going through the log watcher, and calls onExit once the process
// was reaped. The pid goes to the node's pid file.
func (n *spawnNode) start(l *launcher, onExit func(*spawnNode, *nodeProcess)) error {
	if n.running() != nil {
		return fmt.Errorf("node %d is running already", n.id)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("node %d: output pipe: %w", n.id, err)
	}
	cmd := exec.Command(n.argv[0], n.argv[1:]...)
	cmd.Dir = n.dir
	cmd.Env = n.env
	cmd.Stdout, cmd.Stderr = w, w
	cmd.SysProcAttr = sysProcAttr()
	n.log.started()
	l.do(func() { err = cmd.Start() })
	_ = w.Close() // the node holds the write end now
	if err != nil {
		_ = r.Close()
		return fmt.Errorf("node %d: start %s: %w", n.id, n.argv[0], err)
	}
	p := &nodeProcess{cmd: cmd, pid: cmd.Process.Pid, started: time.Now(), exited: make(chan struct{}), logDone: make(chan struct{})}
	n.mu.Lock()
	n.proc = p
	n.mu.Unlock()
	n.log.note("started node %d (pid %d): %s", n.id, p.pid, strings.Join(n.argv, " "))
	_ = os.WriteFile(n.pidPath, []byte(strconv.Itoa(p.pid)+"\n"), 0o644)

	go func() {
		n.log.follow(r)
		_ = r.Close()
		close(p.logDone)
	}()
	go func() {
		_ = cmd.Wait()
		p.state = cmd.ProcessState
		ended := p.exitText()
		p.ended.Store(&ended)
		// Anything the node started in its group goes with it.
		_ = signalGroup(p.pid, sigKill)
		select {
		case <-p.logDone: // its last words are in the log and the tail
		case <-time.After(logDrain): // a child of the node still holds the pipe
		}
		n.log.note("node %d (pid %d) exited: %s", n.id, p.pid, p.exitText())
		onExit(n, p)
		close(p.exited)
	}()
	return nil
}

// stop asks the node's process to stop with sig and kills its process group
// if it still runs after grace. It returns how the process ended, or "" if
// none was running.
func (n *spawnNode) stop(ctx context.Context, sig syscall.Signal, grace time.Duration) (string, error) {
	p := n.running()
	if p == nil {
		return "", nil
	}
	p.expected.Store(true)
	n.log.stopJudging()
	if sig != sigKill {
		if err := signalGroup(p.pid, sig); err != nil {
			return "", fmt.Errorf("node %d (pid %d): send %s: %w", n.id, p.pid, sig, err)
		}
		_ = signalGroup(p.pid, sigCont) // a paused node must run to stop
		t := time.NewTimer(grace)
		defer t.Stop()
		select {
		case <-p.exited:
			return p.exitText(), nil
		case <-t.C:
			n.log.note("node %d (pid %d) still runs %s after %s: killing it", n.id, p.pid, grace, sig)
		case <-ctx.Done():
		}
	}
	if err := signalGroup(p.pid, sigKill); err != nil {
		return "", fmt.Errorf("node %d (pid %d): kill: %w", n.id, p.pid, err)
	}
	select {
	case <-p.exited:
		return p.exitText(), nil
	case <-time.After(killWait):
		return "", fmt.Errorf("node %d (pid %d) did not exit within %s of SIGKILL", n.id, p.pid, killWait)
	}
}

// signal sends sig to the node's process group (pause and resume).
func (n *spawnNode) signal(sig syscall.Signal) error {
	p := n.running()
	if p == nil {
		return fmt.Errorf("node %d is not running", n.id)
	}
	return signalGroup(p.pid, sig)
}

// describe returns the node as the report shows it.
func (n *spawnNode) describe() report.Node {
	rn := report.Node{ID: n.id, Addr: n.addr, Ports: n.ports, LogFile: n.logPath}
	if p := n.current(); p != nil {
		rn.PID = p.pid
		if ended := p.ended.Load(); ended != nil && !p.expected.Load() {
			rn.Exit = *ended
		}
	}
	_, _, rn.LogCounts = n.log.snapshot()
	if len(rn.LogCounts) == 0 {
		rn.LogCounts = nil
	}
	return rn
}

// errNodeExited is the error of a node whose process ended while the run needed it.
type errNodeExited struct {
	failure report.NodeFailure
	log     string
}

func (e *errNodeExited) Error() string { return e.failure.Error }

// failureOf describes the unexpected exit of p.
func (n *spawnNode) failureOf(p *nodeProcess, during string) *errNodeExited {
	msg := fmt.Sprintf("node %d (pid %d) exited with %s %s, %s after it started",
		n.id, p.pid, p.exitText(), during, time.Since(p.started).Round(time.Millisecond))
	return &errNodeExited{
		failure: report.NodeFailure{Node: n.id, PID: p.pid, Time: time.Now(), Error: msg, LogTail: n.log.lastLines()},
		log:     n.logPath,
	}
}

// withTail renders a node failure with the tail of its log, for an error message.
func (e *errNodeExited) withTail() string {
	var b strings.Builder
	b.WriteString(e.failure.Error)
	if len(e.failure.LogTail) == 0 {
		fmt.Fprintf(&b, "; its log %s is empty", e.log)
		return b.String()
	}
	fmt.Fprintf(&b, "; the last %d line(s) of its log %s:", len(e.failure.LogTail), e.log)
	for _, l := range e.failure.LogTail {
		b.WriteString("\n  | " + l)
	}
	return b.String()
}

// isNodeExit reports whether err is a node that exited, and returns it.
func isNodeExit(err error) (*errNodeExited, bool) {
	var e *errNodeExited
	ok := errors.As(err, &e)
	return e, ok
}

// FailureText renders err for a person: a node that exited comes with the
// tail of its log; any other error as it is.
func FailureText(err error) string {
	if e, ok := isNodeExit(err); ok {
		return e.withTail()
	}
	return err.Error()
}
