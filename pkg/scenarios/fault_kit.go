package scenarios

// The fault scenarios (05_... to 11_...) are each a faultScenario: a
// descriptor of what it needs of the cluster and a body that works with this
// kit: node control and the reasons a scenario is not applicable, the
// scenario's own topic, the seeded target choice, the run's fault timeline,
// and putting nodes back up when a scenario ends early. The steps the bodies
// share (a failover, waiting for the cluster to be whole) are in fault_steps.go.

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	mrand "math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/IBM/sarama"

	"github.com/chronik-e2e/chronik-e2e/pkg/cluster"
	"github.com/chronik-e2e/chronik-e2e/pkg/profile"
	"github.com/chronik-e2e/chronik-e2e/pkg/report"
)

// NodeFaulter is implemented by the scenarios that may kill, stop or restart
// nodes: an embedded cluster keeps its data on disk for them, so that even a
// restart of every node keeps it.
type NodeFaulter interface{ FaultsNodes() bool }

// FaultsNodes reports whether a scenario of plan faults nodes.
func FaultsNodes(plan []Scenario) bool {
	for _, s := range plan {
		if f, ok := s.(NodeFaulter); ok && f.FaultsNodes() {
			return true
		}
	}
	return false
}

// faultScenario describes one fault scenario: the node operations it needs,
// the smallest cluster it makes sense on, and its body.
type faultScenario struct {
	name, summary string
	ops           []cluster.Op // the node operations it performs
	// minNodes and minRF: on a smaller cluster or topic it is not applicable, because needs.
	minNodes, minRF int
	needs           string
	// network: it faults the links between nodes, so it is not applicable
	// without a network controller (cluster.Network).
	network bool
	// needsOf, when set, says ops and network from the profile (the
	// nemesis strikes with the faults faults.nemesis lists).
	needsOf func(profile.Faults) (ops []cluster.Op, network bool)
	body    func(ctx context.Context, k *faultKit) error
}

var _ Scenario = faultScenario{}

func (f faultScenario) Name() string       { return f.name }
func (f faultScenario) Summary() string    { return f.summary }
func (f faultScenario) Requires() []string { return nil }

// FaultsNodes reports whether the scenario kills, stops or starts nodes.
func (f faultScenario) FaultsNodes() bool { return len(f.ops) > 0 || f.needsOf != nil }

// Run opens the kit, checks the cluster is big enough, runs the body and
// puts the cluster back together.
func (f faultScenario) Run(ctx context.Context, env *Env, step *Step) error {
	ops, network := f.ops, f.network
	if f.needsOf != nil {
		ops, network = f.needsOf(env.Profile.Faults)
	}
	k, err := newFaultKit(env, step, f.name, ops...)
	if err != nil {
		return err
	}
	if network {
		if err := k.requireNetwork(); err != nil {
			return err
		}
	}
	if f.minNodes > 0 {
		if err := k.requireNodes(f.minNodes, f.minRF, f.needs); err != nil {
			return err
		}
	}
	defer k.done(ctx)
	return f.body(ctx, k)
}

// NotApplicableError is returned by Run when a scenario cannot run on this
// cluster at all (a fault scenario without node control, a single node): it
// is reported as not applicable, which neither passes nor fails the run.
type NotApplicableError struct{ Reason string }

// Error returns "not applicable: REASON".
func (e *NotApplicableError) Error() string { return "not applicable: " + e.Reason }

// NotApplicable returns a NotApplicableError with a formatted reason.
func NotApplicable(format string, args ...any) error {
	return &NotApplicableError{Reason: fmt.Sprintf(format, args...)}
}

// IsNotApplicable reports whether err is a NotApplicableError.
func IsNotApplicable(err error) bool {
	var na *NotApplicableError
	return errors.As(err, &na)
}

// faultKit is what one fault scenario works with.
type faultKit struct {
	env  *Env
	step *Step
	name string
	cfg  profile.Faults
	nc   cluster.NodeController
	net  cluster.NetworkController // nil unless the scenario faults links
	// toLink and fromLink map broker ids to the ids the controller names
	// links by, and back, where they differ (fault_net.go).
	toLink, fromLink map[int32]int32
	nodes            []cluster.Node // the cluster's nodes as metadata listed them when it was ready
	rep              *report.Faults
	rng              *mrand.Rand

	topic    string
	watch    *watcher
	down     map[int32]bool // nodes this scenario took down and has not started again
	paused   map[int32]bool // nodes this scenario paused and has not resumed
	netFault bool           // a network fault may be on: heal when the scenario ends
	cleanups []func()       // run by done, last first

	isrNoted       bool // the ISR check's not-applicable note was given
	placementNoted bool // the placement check's

	mu    sync.Mutex
	marks []faultMark // the faults this scenario injected, in order
	isr   []*isrWatch // the nodes taken down, their ISR followed (fault_isr.go)
}

// faultMark is one injected fault and when it began.
type faultMark struct {
	label string // "kill node 0"
	at    time.Time
}

// newFaultKit returns the kit for scenario name, or a NotApplicableError
// when the cluster cannot perform the node operations ops.
func newFaultKit(env *Env, step *Step, name string, ops ...cluster.Op) (*faultKit, error) {
	k := &faultKit{env: env, step: step, name: name, cfg: env.Profile.Faults, down: map[int32]bool{}, paused: map[int32]bool{}}
	if len(ops) > 0 {
		nc, why := cluster.Controller(env.Cluster)
		if nc == nil {
			return nil, NotApplicable("%s", why)
		}
		for _, op := range ops {
			if nc.Supports(op) {
				continue
			}
			if env.Cluster.Mode() == profile.ModeAttach {
				return nil, NotApplicable("%s needs to %s nodes: set faults.hooks.%s in the profile", name, op, op)
			}
			return nil, NotApplicable("%s needs to %s nodes, which the %s cluster cannot", name, op, env.Cluster.Mode())
		}
		k.nc = nc
	}
	for _, b := range env.Report.Cluster.Brokers {
		k.nodes = append(k.nodes, cluster.Node{ID: b.ID, Addr: b.Addr})
	}
	k.rep = faultsReport(env)
	h := fnv.New64a()
	h.Write([]byte(name))
	k.rng = mrand.New(mrand.NewPCG(uint64(k.rep.Seed), h.Sum64()))
	return k, nil
}

// faultsReport returns the run's fault report, creating it on first use:
// the target, the seed (picked now when the profile leaves it 0), what the
// cluster cannot simulate, and the guarantee table.
func faultsReport(env *Env) *report.Faults {
	if env.Report.Faults != nil {
		return env.Report.Faults
	}
	f := env.Profile.Faults
	seed := int64(f.Seed)
	if seed == 0 {
		var b [4]byte
		_, _ = rand.Read(b[:])
		seed = int64(binary.BigEndian.Uint32(b[:])>>1) + 1 // positive, short enough to type
	}
	rep := &report.Faults{Target: f.Target, Seed: seed, Timeline: []report.Event{}, Windows: []report.Window{}, Runs: []report.FaultRun{}, Guarantees: guaranteeTable()}
	if _, ok := env.Cluster.(*cluster.Embedded); ok {
		rep.Limits = cluster.EmbeddedLimits
	}
	env.Report.Faults = rep
	return rep
}

// at places t on the run's time axis: seconds since the run started.
func (k *faultKit) at(t time.Time) float64 { return t.Sub(k.env.Report.StartedAt).Seconds() }

// event adds a timeline event at t.
func (k *faultKit) event(t time.Time, kind string, node, partition int32, format string, args ...any) {
	k.rep.AddEvent(report.Event{AtS: k.at(t), Scenario: k.name, Kind: kind, Node: node, Partition: partition, Detail: fmt.Sprintf(format, args...)})
}

// onDone registers fn to run when the scenario ends, last registered first.
func (k *faultKit) onDone(fn func()) { k.cleanups = append(k.cleanups, fn) }

// done starts again every node the scenario took down and did not start
// (so that the next scenario finds the cluster whole), within
// faults.recovery_timeout even past the scenario's deadline, then stops the
// scenario's helpers. An interrupted run (Ctrl-C, ctx of the scenario
// cancelled) leaves the nodes down and says so, rather than keep the user
// waiting.
func (k *faultKit) done(scenarioCtx context.Context) {
	k.undo(scenarioCtx)
	ids := make([]int32, 0, len(k.down))
	for id := range k.down {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	switch {
	case len(ids) == 0 || k.nc == nil:
	case errors.Is(scenarioCtx.Err(), context.Canceled):
		k.step.Notef("the run was interrupted while node(s) %v were down: they were left down", ids)
	default:
		ctx, cancel := context.WithTimeout(context.Background(), k.cfg.RecoveryTimeout.Duration)
		for _, id := range ids {
			if _, err := k.do(ctx, cluster.OpStart, k.node(id)); err != nil {
				k.step.Failf("node %d could not be started again when the scenario ended, so the cluster is left with it down: %v", id, err)
			}
		}
		cancel()
	}
	k.reportISR()
	for i := len(k.cleanups) - 1; i >= 0; i-- {
		k.cleanups[i]()
	}
}

// node returns the node with id.
func (k *faultKit) node(id int32) cluster.Node {
	for _, n := range k.nodes {
		if n.ID == id {
			return n
		}
	}
	return cluster.Node{ID: id}
}

// do performs op on n, records it on the timeline with what the cluster
// said it did, and remembers which nodes are down.
func (k *faultKit) do(ctx context.Context, op cluster.Op, n cluster.Node) (time.Time, error) {
	start := time.Now()
	label := fmt.Sprintf("%s node %d", op, n.ID)
	// Marked before it runs: what a slow hook's fault causes meanwhile is its.
	k.mu.Lock()
	k.marks = append(k.marks, faultMark{label: label, at: start})
	k.mu.Unlock()
	var isr *isrWatch
	switch op {
	case cluster.OpKill, cluster.OpStop, cluster.OpPause:
		isr = k.isrDown(op, n, start)
	case cluster.OpStart, cluster.OpResume:
		k.isrUp(n.ID, start)
	}
	k.env.status("  %s: %s (%s) …", k.name, label, n.Addr)
	out, err := k.nc.Do(ctx, op, n)
	if err != nil {
		if isr != nil {
			k.dropISR(isr)
		}
		k.event(start, report.EventFault, n.ID, -1, "%s failed: %v", label, err)
		return start, fmt.Errorf("%s (%s): %w", label, n.Addr, err)
	}
	switch op {
	case cluster.OpKill, cluster.OpStop:
		k.down[n.ID] = true
	case cluster.OpStart:
		delete(k.down, n.ID)
	case cluster.OpPause:
		k.paused[n.ID] = true
	case cluster.OpResume:
		delete(k.paused, n.ID)
	}
	if out == "" {
		out = "done"
	}
	k.event(start, report.EventFault, n.ID, -1, "%s (took %s): %s", label, time.Since(start).Round(100*time.Microsecond), out)
	return start, nil
}

// requireNodes makes a scenario not applicable to a cluster of fewer than
// min nodes or a topic of fewer than minRF replicas.
func (k *faultKit) requireNodes(minNodes, minRF int, why string) error {
	if n := len(k.nodes); n < minNodes {
		return NotApplicable("%s needs at least %d nodes (%s); the cluster has %d", k.name, minNodes, why, n)
	}
	if rf := k.env.Profile.Topic.ReplicationFactor; rf < minRF {
		return NotApplicable("%s needs topic.replication_factor >= %d (%s), not %d", k.name, minRF, why, rf)
	}
	return nil
}

// createTopic creates the scenario's own topic (the run's topic name with
// suffix) with the profile's partitions and replication factor, starts
// watching its metadata and waits until every partition has a leader.
func (k *faultKit) createTopic(ctx context.Context, suffix string) error {
	env := k.env
	k.topic = env.Topic + "-" + suffix
	if env.Profile.Topic.Name != "" { // a fixed name: keep the scenario's topic fresh per run
		k.topic = fmt.Sprintf("%s-%s-%08x", env.Topic, suffix, uint32(env.RunID))
	}
	t := env.Profile.Topic
	detail := &sarama.TopicDetail{NumPartitions: int32(t.Partitions), ReplicationFactor: int16(t.ReplicationFactor)}
	if err := createTopic(ctx, env, k.step, k.topic, detail); err != nil {
		return err
	}
	// Deleted with the run's topic (topic.delete).
	env.noteTopic(k.topic)
	if k.watch != nil { // the scenario's previous topic
		k.watch.stop()
	}
	k.watch = startWatcher(k, k.topic)
	w := k.watch
	k.onDone(w.stop)
	// Every partition led, and the same leaders in two answers in a row: a
	// cluster may still be placing the new topic's leaders (the embedded
	// one moves them round-robin once the topic exists).
	var prev snapshot
	_, err := k.watch.waitFor(ctx, k.cfg.ElectionTimeout.Duration, func(s snapshot) bool {
		led := len(s.parts) == t.Partitions && len(s.leaderless()) == 0
		stable := led && !prev.at.IsZero() && s.at.After(prev.at) && sameLeaders(prev, s)
		if led && !s.at.Equal(prev.at) {
			prev = s
		}
		return stable
	})
	if err != nil {
		return fmt.Errorf("topic %s: not every partition had a leader: %w", k.topic, err)
	}
	return nil
}

// sameLeaders reports whether a and b show the same leader for every partition.
func sameLeaders(a, b snapshot) bool {
	if len(a.parts) != len(b.parts) {
		return false
	}
	for i := range a.parts {
		if a.parts[i].leader != b.parts[i].leader {
			return false
		}
	}
	return true
}

// pickTarget picks the node a fault hits, by faults.target: the node leading
// the most partitions of the topic (the fewest with fewest), a given node,
// or a random one (seeded). It says why it picked it.
func (k *faultKit) pickTarget(fewest bool) (cluster.Node, string, error) {
	t, err := profile.ParseTarget(k.cfg.Target)
	if err != nil {
		return cluster.Node{}, "", err
	}
	snap := k.watch.snapshot()
	led := snap.ledBy()
	switch t.Kind {
	case "node":
		n := k.node(t.Node)
		if n.Addr == "" {
			return cluster.Node{}, "", fmt.Errorf("faults.target is node %d, but the cluster's nodes are %v", t.Node, k.nodeIDs())
		}
		return n, fmt.Sprintf("faults.target node:%d", t.Node), nil
	case profile.TargetRandom:
		n := k.nodes[k.rng.IntN(len(k.nodes))]
		return n, fmt.Sprintf("random (seed %d)", k.rep.Seed), nil
	}
	ids := k.nodeIDs()
	sort.SliceStable(ids, func(i, j int) bool {
		if fewest {
			return len(led[ids[i]]) < len(led[ids[j]])
		}
		return len(led[ids[i]]) > len(led[ids[j]])
	})
	id := ids[0]
	what := "leads the most partitions"
	if fewest {
		what = "leads the fewest partitions (a follower of the most)"
	}
	return k.node(id), fmt.Sprintf("%s: %d of %d", what, len(led[id]), len(snap.parts)), nil
}

func (k *faultKit) nodeIDs() []int32 {
	ids := make([]int32, len(k.nodes))
	for i, n := range k.nodes {
		ids[i] = n.ID
	}
	return ids
}

// lastMark names the last injected fault.
func (k *faultKit) lastMark() string {
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.marks) == 0 {
		return "warm-up"
	}
	return k.marks[len(k.marks)-1].label
}

// faulted reports whether the scenario has injected a fault yet.
func (k *faultKit) faulted() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.marks) > 0
}

// markNamed returns the last injected fault labelled label.
func (k *faultKit) markNamed(label string) (faultMark, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for i := len(k.marks) - 1; i >= 0; i-- {
		if k.marks[i].label == label {
			return k.marks[i], true
		}
	}
	return faultMark{}, false
}

// faultsSince lists the faults injected from t on, for the report: "kill node 0, start node 0".
func (k *faultKit) faultsSince(t time.Time) string {
	k.mu.Lock()
	defer k.mu.Unlock()
	var labels []string
	for _, m := range k.marks {
		if !m.at.Before(t) {
			labels = append(labels, m.label)
		}
	}
	if len(labels) == 0 {
		return "none"
	}
	return strings.Join(labels, ", ")
}
