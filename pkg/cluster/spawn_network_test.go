//go:build unix

package cluster_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chronik-e2e/chronik-e2e/pkg/cluster"
	"github.com/chronik-e2e/chronik-e2e/pkg/exitcode"
	"github.com/chronik-e2e/chronik-e2e/pkg/kafka"
	"github.com/chronik-e2e/chronik-e2e/pkg/testbroker"
)

// TestSpawnNetwork: with faults.network on, three test nodes advertise the
// runner's client proxies ({{.ClientAddr "kafka"}}), their templates name
// links to their peers ({{$.LinkAddr}}), and the spawned cluster is a
// NetworkController over every one of those links. Cutting the runner's
// link to node 2 makes node 2 unreachable to the runner while the others
// answer, the node can still be killed and started (the runner checks the
// node itself, not through its proxy), and healing makes it reachable
// again. Close closes every proxy.
func TestSpawnNetwork(t *testing.T) {
	backend, err := testbroker.StartBackend(3)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = backend.Close() })
	spec := brokerSpec(t, "--backend", backend.URL(), "--index", "{{.Index}}", "--advertise", `{{.ClientAddr "kafka"}}`)
	// The test broker has no peer links yet: the environment names some,
	// so that the runner fronts them.
	spec.Env["PEERS"] = `{{range .Peers}}{{$.LinkAddr .ID "http"}} {{end}}`
	s, err := cluster.StartSpawn(context.Background(), 3, spec, cluster.SpawnOptions{Name: "test", Network: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	brokers, _, err := waitReady(t, s, "")
	if err != nil {
		t.Fatal(err)
	}
	nodes := s.Nodes()
	for i, b := range brokers {
		if own := fmt.Sprintf("127.0.0.1:%d", nodes[i].Ports["kafka"]); b.Addr != s.Bootstrap()[i] || b.Addr == own {
			t.Errorf("broker %d advertises %s, want node %d's client proxy %s (not its own port %s)", b.ID, b.Addr, i+1, s.Bootstrap()[i], own)
		}
	}

	nc, why := cluster.Network(s)
	if nc == nil {
		t.Fatalf("Network = nil, %q", why)
	}
	links := nc.Links()
	var names []string
	for _, l := range links {
		names = append(names, l.String())
	}
	want := []string{"1→2 http", "1→3 http", "2→1 http", "2→3 http", "3→1 http", "3→2 http", "runner→1 kafka", "runner→2 kafka", "runner→3 kafka"}
	if !slices.Equal(names, want) {
		t.Errorf("Links = %v, want %v", names, want)
	}

	cfg, err := kafka.Config("3.6.0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	// answers asks addr for metadata, giving up after a while when it must not answer.
	answers := func(addr string, must bool) error {
		wait := bound
		if !must {
			wait = 2 * time.Second // it cannot answer at all: the wait only bounds the test
		}
		_, err := cluster.WaitReady(ctx, []string{addr}, 3, wait, cfg, nil)
		return err
	}
	cut := cluster.NetFault{Kind: cluster.NetCut, Links: []cluster.Link{{From: cluster.ClientNode, To: 2, Port: "kafka"}}}
	what, err := nc.Apply(ctx, cut)
	if err != nil || !strings.HasPrefix(what, "cut (reset) runner→2 kafka") {
		t.Fatalf("Apply = %q, %v", what, err)
	}
	if err := answers(s.Bootstrap()[1], false); err == nil {
		t.Error("node 2 answered the runner through a cut link")
	}
	for _, i := range []int{0, 2} {
		if err := answers(s.Bootstrap()[i], true); err != nil {
			t.Errorf("node %d, whose link is not cut: %v", i+1, err)
		}
	}
	// The node behind a cut link is killed and started as ever.
	for _, op := range []cluster.Op{cluster.OpKill, cluster.OpStart} {
		if out, err := s.Do(ctx, op, cluster.Node{ID: 2, Addr: s.Bootstrap()[1]}); err != nil {
			t.Fatalf("%s node 2 behind a cut link: %v (%s)", op, err, out)
		}
	}
	// What the runner does when a scenario ends: heal what is left faulted.
	what, err = cluster.HealLeft(ctx, s)
	if err != nil || what != "healed runner→2 kafka" {
		t.Errorf("HealLeft = %q, %v", what, err)
	}
	if what, err := cluster.HealLeft(ctx, s); err != nil || what != "" {
		t.Errorf("HealLeft with nothing faulted = %q, %v; want nothing done", what, err)
	}
	if err := answers(s.Bootstrap()[1], true); err != nil {
		t.Errorf("node 2 after heal: %v", err)
	}

	for _, f := range []cluster.NetFault{
		{Kind: cluster.NetCut, Links: []cluster.Link{{From: 1, To: 2, Port: "raft"}}},
		{Kind: "pause", Links: []cluster.Link{{From: 1, To: 2, Port: "http"}}},
	} {
		if _, err := nc.Apply(ctx, f); !errors.Is(err, cluster.ErrUnsupported) {
			t.Errorf("Apply(%s) = %v, want ErrUnsupported", f, err)
		}
	}
	if _, err := nc.Apply(ctx, cluster.NetFault{Kind: cluster.NetFlaky, Links: links[:1]}); err == nil || !strings.Contains(err.Error(), "give a time above 0") {
		t.Errorf("flaky without ResetEvery: %v", err)
	}

	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, addr := range s.Bootstrap() {
		if c, err := net.DialTimeout("tcp", addr, bound); err == nil {
			_ = c.Close()
			t.Errorf("the proxy %s still accepts connections after Close", addr)
		}
	}
}

// With faults.network on, nodes that advertise their own addresses are an
// exit-3 error at readiness: the runner's clients would go around its proxies.
func TestSpawnNetworkNeedsClientAddr(t *testing.T) {
	backend, err := testbroker.StartBackend(1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = backend.Close() })
	spec := brokerSpec(t, "--backend", backend.URL(), "--index", "{{.Index}}")
	s, err := cluster.StartSpawn(context.Background(), 1, spec, cluster.SpawnOptions{Name: "test", Network: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	_, _, err = waitReady(t, s, "")
	if exitcode.Code(err) != exitcode.Unreachable || !strings.Contains(err.Error(), "not the runner's proxies") || !strings.Contains(exitcode.Hint(err), `{{.ClientAddr "kafka"}}`) {
		t.Errorf("WaitReady = %v (hint %q), want exit 3: the nodes' own addresses refused", err, exitcode.Hint(err))
	}
}
