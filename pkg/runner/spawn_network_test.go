//go:build unix

package runner_test

import (
	"fmt"
	"testing"

	"github.com/chronik-e2e/chronik-e2e/pkg/profile"
	"github.com/chronik-e2e/chronik-e2e/pkg/testbroker"
)

// TestSpawnedNetworkRuns3x3: with faults.network on, the 3x3 seed test
// passes on spawned test nodes whose every Kafka connection from the runner
// goes through its link proxies: the brokers advertise the proxies, not
// their own ports.
func TestSpawnedNetworkRuns3x3(t *testing.T) {
	t.Parallel()
	b := startBackend(t)
	names := []string{"topic-create", "produce", "consume", "metadata"}
	p := networkProfile(t, b, names...)
	rep := run(t, p, nil)
	verdicts(t, rep, map[string]bool{"topic-create": true, "produce": true, "consume": true, "metadata": true})
	if len(rep.Cluster.Nodes) != 3 {
		t.Fatalf("nodes %+v, want 3", rep.Cluster.Nodes)
	}
	for _, n := range rep.Cluster.Nodes {
		if own := fmt.Sprintf("127.0.0.1:%d", n.Ports["kafka"]); n.Addr == own {
			t.Errorf("node %d is reached at its own port %s, not through a proxy", n.ID, own)
		}
	}
	if d := rep.Delivery; d.Acked == 0 || d.Lost != 0 || d.Duplicated != 0 {
		t.Errorf("delivery %+v: want acked records, none lost or duplicated", d)
	}
}

// TestSpawnedNetworkFailover: a node killed and started behind the
// runner's proxies (which accept and reset while it is down) fails over as
// it does without them: leader-failover and node-restart pass.
func TestSpawnedNetworkFailover(t *testing.T) {
	t.Parallel()
	b := startBackend(t)
	p := networkProfile(t, b, "leader-failover", "node-restart")
	rep := run(t, p, nil)
	verdicts(t, rep, map[string]bool{"leader-failover": true, "node-restart": true})
	checkSpawnedRun(t, rep, [][2]string{{"leader-failover", "acks=all"}, {"node-restart", "acks=all"}})
}

// networkProfile is spawnProfile with faults.network on: the nodes
// advertise the runner's client proxies.
func networkProfile(t *testing.T, b *testbroker.Backend, names ...string) *profile.Profile {
	t.Helper()
	return spawnProfile(t, b, func(p *profile.Profile) {
		p.Faults.Network = true
		p.Cluster.Spawn.Command = append(p.Cluster.Spawn.Command, "--advertise", `{{.ClientAddr "kafka"}}`)
	}, names...)
}
