//go:build linux

package runner_test

import (
	"flag"
	"os"
	"runtime"
	"slices"
	"testing"

	"github.com/chronik-e2e/chronik-e2e/pkg/gate"
	"github.com/chronik-e2e/chronik-e2e/pkg/profile"
	"github.com/chronik-e2e/chronik-e2e/pkg/testbroker"
)

// hungryEnv names the node (its --id) that TestHelperHungryBroker makes
// hold hungryMB of memory.
const (
	hungryEnv = "E2E_TEST_HUNGRY_NODE"
	hungryMB  = 200
)

// hunger keeps the hungry node's memory alive.
var hunger []byte

// TestHelperHungryBroker is not a test: spawned as a node, the test binary
// runs the test broker; the node named by $E2E_TEST_HUNGRY_NODE first
// allocates and touches hungryMB of memory, before it serves anything.
func TestHelperHungryBroker(t *testing.T) {
	args := flag.Args()
	if i := slices.Index(args, "--id"); i >= 0 && i+1 < len(args) && args[i+1] == os.Getenv(hungryEnv) {
		hunger = make([]byte, hungryMB<<20)
		for j := 0; j < len(hunger); j += 4096 {
			hunger[j] = 1
		}
	}
	testbroker.ServeIfHelper(args)
	t.Skip("runs only as a spawned node")
}

// TestNodeResources: in spawn mode each node's memory, CPU and file
// descriptors are sampled; a node holding 200 MB shows it and the others
// do not, the figures are plausible, and the gate reads the largest.
func TestNodeResources(t *testing.T) {
	b := startBackend(t)
	p := spawnProfile(t, b, func(p *profile.Profile) {
		p.Cluster.Spawn.Command[1] = "-test.run=^TestHelperHungryBroker$"
		p.Cluster.Spawn.Env[hungryEnv] = "2"
		p.Thresholds = []string{"node.max_rss_mb < 150"}
	}, "topic-create", "metadata")
	rep := run(t, p, nil)
	res := rep.Cluster.Resources
	if res == nil || res.Unavailable != "" || len(res.Nodes) != 3 {
		t.Fatalf("resources = %+v, want three sampled nodes", res)
	}
	for _, n := range res.Nodes {
		switch {
		case n.Samples < 1 || len(n.Series) < 1:
			t.Errorf("node %d: %d samples, series of %d: want at least one", n.Node, n.Samples, len(n.Series))
		case n.Node == 2 && n.PeakRSSMB < hungryMB:
			t.Errorf("node 2 holds %d MB, but its peak resident memory is %.1f MB", hungryMB, n.PeakRSSMB)
		case n.Node != 2 && (n.PeakRSSMB < 1 || n.PeakRSSMB >= hungryMB):
			t.Errorf("node %d: peak resident memory %.1f MB, want between 1 and %d MB", n.Node, n.PeakRSSMB, hungryMB)
		case n.PeakFDs < 3:
			t.Errorf("node %d: at most %d open file descriptors, but every process holds stdin, stdout and stderr", n.Node, n.PeakFDs)
		case n.PeakCPUPct < 0 || n.PeakCPUPct > 100*float64(runtime.NumCPU())*1.5:
			t.Errorf("node %d: peak CPU %.1f%% on %d CPUs", n.Node, n.PeakCPUPct, runtime.NumCPU())
		case n.MeanRSSMB > n.PeakRSSMB || n.MeanFDs > float64(n.PeakFDs) || n.MeanCPUPct > n.PeakCPUPct:
			t.Errorf("node %d: a mean above its peak: %+v", n.Node, n)
		}
	}
	v := gate.Values(rep)
	if v["node.max_rss_mb"] < hungryMB || v["node.max_fds"] < 3 {
		t.Errorf("gate values node.max_rss_mb %v, node.max_fds %v; want the hungry node's", v["node.max_rss_mb"], v["node.max_fds"])
	}
	th, err := gate.ParseThreshold(p.Thresholds[0])
	if err != nil {
		t.Fatal(err)
	}
	if got := th.Check(rep); got.Passed || got.Value == nil || *got.Value < hungryMB {
		t.Errorf("threshold %s = %+v, want it failed with the hungry node's memory", p.Thresholds[0], got)
	}
}
