package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/template"
	"time"

	"github.com/chronik-e2e/chronik-e2e/pkg/report"
)

// HookData is what a hook's command template may use: {{.ID}}, {{.Addr}},
// {{.Host}} and {{.Port}} of the node, {{.Op}}, and for the partition and
// heal hooks {{.Peers}}, the nodes it is cut off from.
type HookData struct {
	ID    int32
	Addr  string // host:port as the cluster's metadata lists it
	Host  string
	Port  string
	Op    Op
	Peers []HookPeer
}

// HookPeer is a node a partitioned node is cut off from: {{range .Peers}}{{.Host}}{{end}}.
type HookPeer struct {
	ID   int32
	Addr string
	Host string
	Port string
}

// exampleHookData is the node a hook template is tried on before anything runs.
var exampleHookData = HookData{ID: 1, Addr: "broker-1:9092", Host: "broker-1", Port: "9092", Op: OpKill,
	Peers: []HookPeer{{ID: 2, Addr: "broker-2:9092", Host: "broker-2", Port: "9092"}}}

// ParseHook parses a hook's command template and tries it on an example
// node, so that an unknown field ({{.Name}}) is an error before anything runs.
func ParseHook(name, text string) (*template.Template, error) {
	t, err := template.New(name).Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, err
	}
	if err := t.Execute(new(bytes.Buffer), exampleHookData); err != nil {
		return nil, err
	}
	return t, nil
}

// Hooks are the shell commands that control the nodes of an attached
// cluster: one command template per operation, run with sh -c.
type Hooks struct {
	Commands map[Op]string
	// Placement prints what one node holds of a topic (see Placer).
	Placement string
	// Stats prints one node's resource use (see ParseStats), run for every
	// node every StatsInterval once the cluster is ready.
	Stats         string
	StatsInterval time.Duration
	// Partition cuts a node off from its .Peers, both ways; Heal undoes
	// it. Both or neither: they make the cluster a NetworkController.
	Partition, Heal string
	// Nodes is how many brokers the cluster lists (cluster.nodes): the
	// network hooks render with the addresses of the brokers it lists.
	Nodes int
	// Timeout bounds each command; it is killed, with every process it
	// started, when it runs longer.
	Timeout time.Duration
}

// hookOutputMax is how much of a hook's output the report keeps (the end).
const hookOutputMax = 4 << 10

// Hooked is an attached cluster whose nodes the profile's hooks control.
type Hooked struct {
	*Attached
	tmpl      map[Op]*template.Template
	placement *template.Template
	timeout   time.Duration
	nodes     int
	// partition and heal are the network hooks; nil when the profile has none.
	partition, heal *template.Template

	mu          sync.Mutex
	brokers     []report.Broker   // as WaitReady found them
	partitioned map[int32][]int32 // node -> the peers it is cut off from, until Heal

	stats         *template.Template
	statsText     string
	statsInterval time.Duration
	statsOnce     sync.Once
	sampler       *statsSampler
}

var (
	_ NodeController    = (*Hooked)(nil)
	_ NetworkController = (*Hooked)(nil)
	_ ReadyWaiter       = (*Hooked)(nil)
)

// AttachWithHooks returns the cluster at addrs, its nodes controlled by h.
// Operations without a command are unsupported.
func AttachWithHooks(addrs []string, h Hooks) (*Hooked, error) {
	hc := &Hooked{Attached: Attach(addrs), tmpl: map[Op]*template.Template{}, timeout: h.Timeout, nodes: h.Nodes, partitioned: map[int32][]int32{}}
	for op, text := range h.Commands {
		if strings.TrimSpace(text) == "" {
			continue
		}
		t, err := ParseHook(string(op), text)
		if err != nil {
			return nil, fmt.Errorf("%s hook: %w", op, err)
		}
		hc.tmpl[op] = t
	}
	if strings.TrimSpace(h.Placement) != "" {
		t, err := template.New("placement").Option("missingkey=error").Parse(h.Placement)
		if err != nil {
			return nil, fmt.Errorf("placement hook: %w", err)
		}
		hc.placement = t
	}
	if strings.TrimSpace(h.Stats) != "" {
		t, err := ParseHook("stats", h.Stats)
		if err != nil {
			return nil, fmt.Errorf("stats hook: %w", err)
		}
		hc.stats, hc.statsText, hc.statsInterval = t, h.Stats, h.StatsInterval
		if hc.statsInterval <= 0 {
			hc.statsInterval = 5 * time.Second
		}
	}
	if (strings.TrimSpace(h.Partition) == "") != (strings.TrimSpace(h.Heal) == "") {
		return nil, errors.New("the partition and heal hooks go together: set both, or neither")
	}
	if strings.TrimSpace(h.Partition) != "" {
		var err error
		if hc.partition, err = ParseHook("partition", h.Partition); err != nil {
			return nil, fmt.Errorf("partition hook: %w", err)
		}
		if hc.heal, err = ParseHook("heal", h.Heal); err != nil {
			return nil, fmt.Errorf("heal hook: %w", err)
		}
	}
	if hc.timeout <= 0 {
		hc.timeout = time.Minute
	}
	return hc, nil
}

// StatsStarter is a cluster that samples its nodes' resources once it knows
// them: an attached cluster with faults.hooks.stats.
type StatsStarter interface {
	StartStats(ctx context.Context, brokers []report.Broker)
}

var (
	_ StatsStarter = (*Hooked)(nil)
	_ Describer    = (*Hooked)(nil)
)

// StartStats runs the stats hook for every broker once (ctx bounds it), then
// every stats interval in the background until Close; it starts once, and
// without a stats hook it does nothing.
func (h *Hooked) StartStats(ctx context.Context, brokers []report.Broker) {
	if h.stats == nil {
		return
	}
	h.statsOnce.Do(func() {
		h.sampler = startStatsSampler(ctx, h.stats, h.statsText, h.timeout, h.statsInterval, slices.Clone(brokers))
	})
}

// Describe adds what the stats hook sampled to the report's cluster section.
func (h *Hooked) Describe(c *report.Cluster) {
	if h.sampler != nil {
		c.Resources = h.sampler.report()
	}
}

// Close stops the stats hook's sampling; the cluster itself is left alone.
func (h *Hooked) Close() error {
	h.statsOnce.Do(func() {}) // no sampling starts after Close
	h.sampler.stop()
	return nil
}

// Supports reports whether the profile has a hook for op.
func (h *Hooked) Supports(op Op) bool { return h.tmpl[op] != nil }

// Do runs op's hook for node n under the hook timeout and ctx, and returns
// its output (the last 4 KiB). A hook that exits non-zero or runs out of
// time is an error carrying its output.
func (h *Hooked) Do(ctx context.Context, op Op, n Node) (string, error) {
	t := h.tmpl[op]
	if t == nil {
		return "", unsupported(op, fmt.Sprintf("the profile has no faults.hooks.%s command", op))
	}
	_, out, err := runNodeHook(ctx, t, h.timeout, op, n)
	return out, err
}

// runNodeHook renders hook t for node n and operation op and runs it (see
// runHook) with the node in its environment; it returns the command line
// and its output.
func runNodeHook(ctx context.Context, t *template.Template, timeout time.Duration, op Op, n Node) (cmdline, out string, err error) {
	host, port, _ := net.SplitHostPort(n.Addr)
	var b bytes.Buffer
	if err := t.Execute(&b, HookData{ID: n.ID, Addr: n.Addr, Host: host, Port: port, Op: op}); err != nil {
		return "", "", fmt.Errorf("%s hook for node %d: %w", op, n.ID, err)
	}
	out, err = runHook(ctx, timeout, b.String(), []string{
		"CHRONIK_E2E_OP=" + string(op),
		"CHRONIK_E2E_NODE_ID=" + strconv.Itoa(int(n.ID)),
		"CHRONIK_E2E_NODE_ADDR=" + n.Addr,
	})
	return b.String(), out, err
}

// runHook runs cmdline with sh -c in its own process group, killed with
// every process in it when timeout passes or ctx ends, and returns its
// combined output. What the hook left running when it exited is killed too.
func runHook(ctx context.Context, timeout time.Duration, cmdline string, env []string) (string, error) {
	hctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(hctx, "/bin/sh", "-c", cmdline)
	cmd.Env = append(os.Environ(), env...)
	out := &tailBuffer{max: hookOutputMax}
	cmd.Stdout, cmd.Stderr = out, out
	inOwnGroup(cmd)
	// Output pipes a stray grandchild keeps open must not hold us.
	cmd.WaitDelay = 2 * time.Second
	start := time.Now()
	err := cmd.Run()
	killGroup(cmd) // what it left running in the background
	took := time.Since(start).Round(time.Millisecond)
	text := strings.TrimSpace(out.String())
	switch {
	case err == nil:
		return text, nil
	case errors.Is(hctx.Err(), context.DeadlineExceeded) && ctx.Err() == nil:
		return text, fmt.Errorf("`%s` did not finish within %s; it was killed with every process it started%s", cmdline, timeout, outputSuffix(text))
	case ctx.Err() != nil:
		return text, fmt.Errorf("`%s` was stopped after %s: %w%s", cmdline, took, ctx.Err(), outputSuffix(text))
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return text, fmt.Errorf("`%s` exited with status %d after %s%s", cmdline, exit.ExitCode(), took, outputSuffix(text))
	}
	return text, fmt.Errorf("`%s`: %w%s", cmdline, err, outputSuffix(text))
}

func outputSuffix(text string) string {
	if text == "" {
		return " (no output)"
	}
	return ": " + text
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu        sync.Mutex
	max       int
	b         []byte
	truncated bool
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if over := len(t.b) - t.max; over > 0 {
		t.b = slices.Delete(t.b, 0, over)
		t.truncated = true
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.truncated {
		return "… " + string(t.b)
	}
	return string(t.b)
}
