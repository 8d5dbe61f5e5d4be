//go:build unix

package cluster_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chronik-e2e/chronik-e2e/pkg/cluster"
	"github.com/chronik-e2e/chronik-e2e/pkg/testbroker"
)

// waitBackendEvents waits until b has recorded n events containing want.
func waitBackendEvents(t *testing.T, b *testbroker.Backend, want string, n int) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for {
		got := 0
		for _, e := range b.Events() {
			if strings.Contains(e, want) {
				got++
			}
		}
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d backend event(s) %q within %s, want %d; events:\n%s", got, want, bound, n, strings.Join(b.Events(), "\n"))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Spawned test nodes under a backend's membership rule, each given its
// heartbeat port and its peers' by the template lines a profile uses:
// pausing a node as the runner does (SIGSTOP) costs it its majority and its
// leadership; resuming it gives both back.
func TestSpawnMembershipPause(t *testing.T) {
	backend, err := testbroker.StartBackend(3, testbroker.WithMembership(testbroker.MembershipHealthy, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = backend.Close() })
	spec := brokerSpec(t, "--backend", backend.URL(), "--index", "{{.Index}}", "--raft-listen", `{{.Addr "raft"}}`,
		"--peers", `{{range .Peers}}{{.ID}}={{$.LinkAddr .ID "raft"}},{{end}}`) // network off: the peers' own ports
	spec.Ports = append(spec.Ports, "raft")
	s := start(t, 3, spec)
	if _, _, err := waitReady(t, s, ""); err != nil {
		t.Fatalf("WaitReady: %v", err)
	}
	waitBackendEvents(t, backend, "has a majority (hears brokers", 3)
	log, err := os.ReadFile(s.Nodes()[0].LogFile)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(log), "node 1 answers heartbeats on 127.0.0.1:") || !strings.Contains(string(log), "and pings 2 peer(s) every 100ms") {
		t.Errorf("node 1's log lacks its heartbeats:\n%s", log)
	}

	ctx := context.Background()
	if _, err := s.Do(ctx, cluster.OpPause, cluster.Node{ID: 1}); err != nil {
		t.Fatal(err)
	}
	waitBackendEvents(t, backend, "membership: broker 0 lost its majority", 1)
	waitBackendEvents(t, backend, "membership: broker 0 still has no majority", 1)
	if _, err := s.Do(ctx, cluster.OpResume, cluster.Node{ID: 1}); err != nil {
		t.Fatal(err)
	}
	waitBackendEvents(t, backend, "membership: broker 0 has a majority", 2)
}

// The runner's whole network path on spawned test nodes: with
// faults.network on, each node pings its peers through the runner's link
// proxies ({{$.LinkAddr .ID "raft"}}); cutting node 1's raft links, both
// ways, as a partition does, costs it its majority and its leadership under
// the backend's rule; healing gives both back.
func TestSpawnMembershipPartition(t *testing.T) {
	backend, err := testbroker.StartBackend(3, testbroker.WithMembership(testbroker.MembershipHealthy, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = backend.Close() })
	spec := brokerSpec(t, "--backend", backend.URL(), "--index", "{{.Index}}", "--advertise", `{{.ClientAddr "kafka"}}`,
		"--raft-listen", `{{.Addr "raft"}}`, "--peers", `{{range .Peers}}{{.ID}}={{$.LinkAddr .ID "raft"}},{{end}}`)
	spec.Ports = append(spec.Ports, "raft")
	s, err := cluster.StartSpawn(context.Background(), 3, spec, cluster.SpawnOptions{Name: "test", Network: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if _, _, err := waitReady(t, s, ""); err != nil {
		t.Fatalf("WaitReady: %v", err)
	}
	waitBackendEvents(t, backend, "has a majority (hears brokers", 3)
	nc, why := cluster.Network(s)
	if nc == nil {
		t.Fatalf("Network = nil, %q", why)
	}
	var cut []cluster.Link
	for _, l := range nc.Links() {
		if l.Port == "raft" && (l.From == 1 || l.To == 1) {
			cut = append(cut, l)
		}
	}
	if len(cut) != 4 {
		t.Fatalf("node 1's raft links %v, want 4", cut)
	}
	ctx := context.Background()
	if _, err := nc.Apply(ctx, cluster.NetFault{Kind: cluster.NetCut, Links: cut, Mode: cluster.CutDrop}); err != nil {
		t.Fatal(err)
	}
	waitBackendEvents(t, backend, "membership: broker 0 lost its majority (hears broker 0 only; needs 2 of 3)", 1)
	waitBackendEvents(t, backend, "membership: broker 0 still has no majority", 1)
	if _, err := nc.Heal(ctx); err != nil {
		t.Fatal(err)
	}
	waitBackendEvents(t, backend, "membership: broker 0 has a majority", 2)
}
