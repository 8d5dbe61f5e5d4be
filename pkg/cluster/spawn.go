package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/chronik-e2e/chronik-e2e/pkg/exitcode"
	"github.com/chronik-e2e/chronik-e2e/pkg/profile"
	"github.com/chronik-e2e/chronik-e2e/pkg/report"
)

// SpawnOptions are what StartSpawn needs besides the profile's spawn section.
type SpawnOptions struct {
	// Name goes into the work dir's name, e.g. "3x3-1a2b3c4d".
	Name string
	// Status receives one-line progress messages; nil shows none.
	Status func(format string, args ...any)
	// Network fronts every link between the nodes, and the runner's to
	// each, with a proxy of the runner's (faults.network).
	Network bool
}

// Spawned is a cluster of broker processes started from a profile's spawn
// section: one process group per node, each node's output in its own log
// file, every exit and every log line watched while it runs.
type Spawned struct {
	nodes    []*spawnNode
	workDir  string
	stopSig  syscall.Signal
	grace    time.Duration
	launcher *launcher
	status   func(format string, args ...any)
	spec     profile.Spawn // for spawn.placement
	net      *linkNet      // the link proxies; nil with faults.network off

	ready  atomic.Bool   // set once WaitReady succeeded
	failed chan error    // the first unexpected exit
	usage  *usageSampler // nil where resource use cannot be read

	mu        sync.Mutex
	failures  []report.NodeFailure
	closed    bool
	closeOnce sync.Once
	closeErr  error
}

var (
	_ Cluster        = (*Spawned)(nil)
	_ Watcher        = (*Spawned)(nil)
	_ ReadyWaiter    = (*Spawned)(nil)
	_ Describer      = (*Spawned)(nil)
	_ WorkDirOwner   = (*Spawned)(nil)
	_ NodeController = (*Spawned)(nil)
	_ NodeLogs       = (*Spawned)(nil)
)

// StartSpawn starts count nodes as spec says, each in a fresh work dir
// under spec.WorkDir, and returns without waiting for them to be ready
// (WaitReady does). Everything that can be checked is checked before the
// first node starts: the environment the templates read, the work dir, the
// fixed ports, the program; each problem is an exit-3 error that says what
// to do.
func StartSpawn(ctx context.Context, count int, spec profile.Spawn, opts SpawnOptions) (*Spawned, error) {
	if errNoSpawn != nil {
		return nil, exitcode.ClusterError(errNoSpawn, "use an embedded profile, or attach to a cluster with --bootstrap")
	}
	status := opts.Status
	if status == nil {
		status = func(string, ...any) {}
	}
	if err := checkEnv(spec); err != nil {
		return nil, err
	}
	rules, err := compileLogRules(spec.Logs)
	if err != nil {
		return nil, exitcode.UsageError(err)
	}
	sig, ok := signals[spec.Stop.StopSignal()]
	if !ok {
		return nil, exitcode.Usagef("cluster.spawn.stop.signal %q: this system has no such signal", spec.Stop.Signal)
	}
	workDir, err := makeWorkDir(spec.WorkDir, opts.Name)
	if err != nil {
		return nil, err
	}
	prepared := false
	defer func() {
		if !prepared { // nothing ran: the work dir holds nothing worth keeping
			_ = os.RemoveAll(workDir)
		}
	}()
	nodes, links, err := prepareNodes(ctx, count, spec, workDir, rules, opts.Network)
	if err != nil {
		return nil, err
	}
	prepared = true

	s := &Spawned{
		nodes: nodes, workDir: workDir, stopSig: sig, grace: spec.Stop.Grace.Duration, spec: spec, net: links,
		launcher: newLauncher(), status: status, failed: make(chan error, 1),
	}
	for _, n := range nodes {
		if err := ctx.Err(); err != nil {
			_ = s.Close()
			return nil, err
		}
		status("starting node %d of %d: %s (log %s)", n.id, count, strings.Join(n.argv, " "), n.logPath)
		if err := n.start(s.launcher, s.onExit); err != nil {
			_ = s.Close()
			return nil, exitcode.ClusterError(err, "the node logs and rendered files are in "+workDir)
		}
	}
	s.usage = startUsageSampler(s.nodes, usageInterval) // usage.go
	return s, nil
}

// checkEnv fails when a variable the templates read as {{.Env.NAME}} is unset.
func checkEnv(spec profile.Spawn) error {
	var missing []string
	for _, name := range spec.RequiredEnv() {
		if os.Getenv(name) == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	what := "is not set"
	if len(missing) > 1 {
		what = "are not set"
	}
	refs := make([]string, len(missing))
	for i, m := range missing {
		refs[i] = "{{.Env." + m + "}}"
	}
	hint := fmt.Sprintf("set it before the run, e.g. %s=/path/to/the/program chronik-e2e run ...", missing[0])
	if slices.Contains(missing, "CHRONIK_BIN") {
		hint = "set CHRONIK_BIN to the chronik-server binary to test, e.g. CHRONIK_BIN=$PWD/target/release/chronik-server"
	}
	return exitcode.ClusterError(fmt.Errorf("environment variable %s %s: cluster.spawn uses %s",
		strings.Join(missing, ", "), what, strings.Join(refs, ", ")), hint)
}

var unsafeNameChars = regexp.MustCompile(`[^a-zA-Z0-9._-]+`)

// makeWorkDir makes a fresh directory for one run under parent (the system's
// temp dir when empty), creating parent if needed.
func makeWorkDir(parent, name string) (string, error) {
	if parent == "" {
		parent = os.TempDir()
	}
	hint := "set cluster.spawn.work_dir to a directory this user can write to"
	abs, err := filepath.Abs(parent)
	if err != nil {
		return "", exitcode.ClusterError(fmt.Errorf("work dir %s: %w", parent, err), hint)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return "", exitcode.ClusterError(fmt.Errorf("cannot create the work dir %s for the nodes: %w", abs, unwrapPath(err)), hint)
	}
	name = unsafeNameChars.ReplaceAllString(name, "-")
	dir, err := os.MkdirTemp(abs, "chronik-e2e-"+name+"-")
	if err != nil {
		return "", exitcode.ClusterError(fmt.Errorf("cannot create a directory for the nodes in %s: %w", abs, unwrapPath(err)), hint)
	}
	return dir, nil
}

// unwrapPath drops the operation and path a *PathError repeats.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Path, pe.Err)
	}
	return err
}

// prepareNodes allocates the ports, starts the link proxies when network
// is set, renders every node's templates, checks the program and writes
// each node's files into workDir. On error no proxy is left.
func prepareNodes(ctx context.Context, count int, spec profile.Spawn, workDir string, rules *logRules, network bool) (nodes []*spawnNode, links *linkNet, err error) {
	plan, inUse, err := planPorts(count, spec.Ports, spec.PortBases)
	if err != nil {
		return nil, nil, err
	}
	tnodes := templateNodes(count, spec, workDir, plan)
	tmpl, err := spec.Compile()
	if err != nil {
		return nil, nil, exitcode.UsageError(err)
	}
	if network {
		if links, err = startLinkNet(count, linkPorts(spec), spec.KafkaPort, plan); err != nil {
			return nil, nil, err
		}
		defer func() {
			if err != nil {
				links.close()
				links = nil
			}
		}()
		links.fill(tnodes)
	}
	rendered := make([]*profile.Rendered, count)
	progs := make([]string, count)
	for i, tn := range tnodes {
		if rendered[i], err = tmpl.RenderContext(ctx, tn); err != nil {
			return nil, nil, exitcode.UsageError(err)
		}
		if progs[i], err = resolveProgram(rendered[i].Command[0], spec); err != nil {
			return nil, nil, err // a missing program first: it is the bigger problem
		}
	}
	if inUse != nil {
		return nil, nil, inUse
	}
	baseEnv := os.Environ()
	nodes = make([]*spawnNode, count)
	for i, tn := range tnodes {
		r, prog := rendered[i], progs[i]
		n := &spawnNode{
			id: tn.ID, dir: tn.WorkDir, dataDir: tn.DataDir, tnode: tn,
			logPath:  filepath.Join(workDir, fmt.Sprintf("node-%d.log", tn.ID)),
			pidPath:  filepath.Join(workDir, fmt.Sprintf("node-%d.pid", tn.ID)),
			ports:    plan[i],
			addr:     net2(loopbackHost, plan[i][spec.KafkaPort]),
			realAddr: net2(loopbackHost, plan[i][spec.KafkaPort]),
			argv:     append([]string{prog}, r.Command[1:]...),
			env:      append(slices.Clone(baseEnv), r.Env...),
			readyURL: r.ReadyURL,
		}
		if links != nil {
			n.addr = links.clientAddr(tn.ID)
		}
		if err = writeNodeFiles(n, r.Files); err != nil {
			closeLogs(nodes[:i])
			return nil, nil, err
		}
		if n.logFile, err = openLog(n.logPath); err != nil {
			closeLogs(nodes[:i])
			return nil, nil, exitcode.ClusterError(fmt.Errorf("node %d: log file: %w", n.id, unwrapPath(err)), "")
		}
		n.log = newLogWatcher(n.id, n.logFile, rules)
		nodes[i] = n
	}
	return nodes, links, nil
}

// closeLogs closes the log files of nodes that will not start.
func closeLogs(nodes []*spawnNode) {
	for _, n := range nodes {
		_ = n.logFile.Close()
	}
}

func net2(host string, port int) string { return host + ":" + strconv.Itoa(port) }

// templateNodes returns what the templates see of each node.
func templateNodes(count int, spec profile.Spawn, workDir string, plan []map[string]int) []*profile.TemplateNode {
	env := map[string]string{}
	for _, kv := range os.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	nodes := make([]*profile.TemplateNode, count)
	for i := range nodes {
		dir := filepath.Join(workDir, fmt.Sprintf("node-%d", i+1))
		n := &profile.TemplateNode{
			ID: i + 1, Index: i, Nodes: count, Host: loopbackHost,
			WorkDir: dir, DataDir: filepath.Join(dir, "data"),
			Env: env, Ports: plan[i], Files: map[string]string{},
		}
		for name := range spec.Files {
			n.Files[name] = filepath.Join(dir, filepath.FromSlash(name))
		}
		nodes[i] = n
	}
	for _, n := range nodes {
		n.Peers = nodes
	}
	return nodes
}

// resolveProgram returns the absolute path of the program prog names (a
// path, or a name looked up in PATH), or an exit-3 error saying what is
// wrong with it.
func resolveProgram(prog string, spec profile.Spawn) (string, error) {
	from := ""
	if tmpl := spec.Command[0]; tmpl != prog {
		from = fmt.Sprintf(" (from %q)", tmpl)
	}
	hint := "set cluster.spawn.command[0] to the broker's program"
	if m := regexp.MustCompile(`\.Env\.(\w+)`).FindStringSubmatch(spec.Command[0]); m != nil {
		hint = fmt.Sprintf("set %s to the path of the broker's program", m[1])
	}
	fail := func(format string, args ...any) (string, error) {
		return "", exitcode.ClusterError(fmt.Errorf("cluster.spawn.command: the program %q%s %s", prog, from, fmt.Sprintf(format, args...)), hint)
	}
	if !strings.Contains(prog, "/") {
		p, err := exec.LookPath(prog)
		if err != nil {
			return fail("is not in PATH")
		}
		prog = p
	}
	abs, err := filepath.Abs(prog)
	if err != nil {
		return fail("has no absolute path: %v", err)
	}
	st, err := os.Stat(abs)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return fail("does not exist")
	case err != nil:
		return fail("cannot be read: %v", unwrapPath(err))
	case st.IsDir():
		return fail("is a directory")
	case st.Mode()&0o111 == 0:
		return fail("is not executable (chmod +x it)")
	}
	return abs, nil
}

// writeNodeFiles makes the node's directories and writes its rendered files.
func writeNodeFiles(n *spawnNode, files map[string]string) error {
	if err := os.MkdirAll(n.dataDir, 0o755); err != nil {
		return exitcode.ClusterError(fmt.Errorf("node %d: data dir: %w", n.id, unwrapPath(err)), "")
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		path := filepath.Join(n.dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return exitcode.ClusterError(fmt.Errorf("node %d: file %s: %w", n.id, name, unwrapPath(err)), "")
		}
		if err := os.WriteFile(path, []byte(files[name]), 0o644); err != nil {
			return exitcode.ClusterError(fmt.Errorf("node %d: file %s: %w", n.id, name, unwrapPath(err)), "")
		}
	}
	return nil
}

// onExit records a node that exited without being asked to.
func (s *Spawned) onExit(n *spawnNode, p *nodeProcess) {
	if p.expected.Load() {
		return
	}
	during := "while the cluster was starting"
	if s.ready.Load() {
		during = "while the run needed it"
	}
	e := n.failureOf(p, during)
	s.mu.Lock()
	s.failures = append(s.failures, e.failure)
	s.mu.Unlock()
	select {
	case s.failed <- e:
	default: // the run was told already
	}
}

// firstFailure returns the first node that exited unexpectedly, or nil.
func (s *Spawned) firstFailure() *errNodeExited {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.failures) == 0 {
		return nil
	}
	f := s.failures[0]
	return &errNodeExited{failure: f, log: s.nodes[f.Node-1].logPath}
}

// Mode returns "spawn".
func (s *Spawned) Mode() string { return profile.ModeSpawn }

// Bootstrap returns every node's Kafka address.
func (s *Spawned) Bootstrap() []string {
	addrs := make([]string, len(s.nodes))
	for i, n := range s.nodes {
		addrs[i] = n.addr
	}
	return addrs
}

// Failed delivers the first node that exited while it was not asked to.
func (s *Spawned) Failed() <-chan error { return s.failed }

// WorkDir returns the run's work dir.
func (s *Spawned) WorkDir() string { return s.workDir }

// RemoveWorkDir removes the run's work dir; call it after Close.
func (s *Spawned) RemoveWorkDir() error { return os.RemoveAll(s.workDir) }

// Nodes returns every node as the report shows it.
func (s *Spawned) Nodes() []report.Node {
	out := make([]report.Node, len(s.nodes))
	for i, n := range s.nodes {
		out[i] = n.describe()
	}
	return out
}

// Describe adds the nodes, the work dir, the nodes that exited and the log
// findings to the report's cluster section.
func (s *Spawned) Describe(c *report.Cluster) {
	c.WorkDir = s.workDir
	c.Nodes = s.Nodes()
	s.mu.Lock()
	c.NodeFailures = slices.Clone(s.failures)
	s.mu.Unlock()
	s.usage.sample() // one sample now, so that the report covers the moment it is made
	c.Resources = s.usage.report()
	c.LogFindings, c.LogFindingsDropped = nil, 0
	for _, n := range s.nodes {
		f, dropped, _ := n.log.snapshot()
		c.LogFindings = append(c.LogFindings, f...)
		c.LogFindingsDropped += dropped
	}
	sort.SliceStable(c.LogFindings, func(i, j int) bool { return c.LogFindings[i].Time.Before(c.LogFindings[j].Time) })
}

// Close stops every node at once (the stop signal to its process group,
// then SIGKILL after the grace) and waits for them; the work dir is kept.
func (s *Spawned) Close() error {
	s.closeOnce.Do(func() {
		s.usage.stop()
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		var wg sync.WaitGroup
		errs := make([]error, len(s.nodes))
		for i, n := range s.nodes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if p := n.running(); p != nil {
					s.status("stopping node %d (pid %d) with SIG%s", n.id, p.pid, signalName(s.stopSig))
				}
				_, errs[i] = n.stop(context.Background(), s.stopSig, s.grace)
			}()
		}
		wg.Wait()
		s.net.close()
		s.launcher.close()
		for _, n := range s.nodes {
			if p := n.current(); p != nil {
				select {
				case <-p.logDone:
				case <-time.After(logDrain):
				}
			}
			_ = n.logFile.Close()
		}
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}

// CopyLogs copies every node's log file into dir, as node-N.log.
func (s *Spawned) CopyLogs(dir string) error {
	var errs []error
	for _, n := range s.nodes {
		errs = append(errs, copyFile(n.logPath, filepath.Join(dir, filepath.Base(n.logPath))))
	}
	return errors.Join(errs...)
}

func copyFile(from, to string) error {
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.Create(to)
	if err != nil {
		return err
	}
	_, err = io.Copy(dst, src)
	return errors.Join(err, dst.Close())
}

// signalName returns "TERM" for SIGTERM.
func signalName(sig syscall.Signal) string {
	for name, s := range signals {
		if s == sig {
			return name
		}
	}
	return sig.String()
}
