//go:build unix

package runner_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/chronik-e2e/chronik-e2e/pkg/cluster"
	"github.com/chronik-e2e/chronik-e2e/pkg/profile"
	"github.com/chronik-e2e/chronik-e2e/pkg/runner"
)

// TestLifecycleSpawn: the one handle run and cluster up share starts the
// spawned nodes, waits until they are ready, hands the cluster to
// BeforeClose while it still runs, stops every node (startBackend checks
// that none is left) and keeps or removes the work dir as asked.
func TestLifecycleSpawn(t *testing.T) {
	for _, keep := range []bool{true, false} {
		b := startBackend(t)
		p := spawnProfile(t, b, nil, "topic-create")
		var seen cluster.Cluster
		lc, err := runner.StartCluster(context.Background(), p, runner.ClusterOptions{
			Name:        "lifecycle",
			BeforeClose: func(c cluster.Cluster) { seen = c },
		})
		if err != nil {
			t.Fatalf("StartCluster: %v", err)
		}
		brokers, err := lc.WaitReady(context.Background())
		if err != nil || len(brokers) != 3 {
			lc.Close(false)
			t.Fatalf("WaitReady = %v, %v; want 3 brokers", brokers, err)
		}
		dir := lc.WorkDir()
		if st, err := os.Stat(dir); dir == "" || err != nil || !st.IsDir() {
			t.Fatalf("work dir %q: %v", dir, err)
		}
		removed := lc.Close(keep)
		if seen != lc.Cluster {
			t.Errorf("BeforeClose got %v, want the cluster", seen)
		}
		_, err = os.Stat(dir)
		if removed == keep || os.IsNotExist(err) != !keep {
			t.Errorf("Close(keep=%v) = removed %v; work dir stat: %v", keep, removed, err)
		}
	}
}

// TestLifecycleEmbedded: an embedded cluster has no work dir to keep, and
// Close stops it.
func TestLifecycleEmbedded(t *testing.T) {
	p := smallProfile(t, 3, 3, 3, func(p *profile.Profile) { p.Cluster.Mode = profile.ModeEmbedded })
	lc, err := runner.StartCluster(context.Background(), p, runner.ClusterOptions{Durable: true})
	if err != nil {
		t.Fatal(err)
	}
	brokers, err := lc.WaitReady(context.Background())
	if err != nil || len(brokers) != 3 {
		t.Errorf("WaitReady = %v, %v; want 3 brokers", brokers, err)
	}
	if lc.WorkDir() != "" || lc.Close(false) {
		t.Errorf("embedded: work dir %q, or Close removed one", lc.WorkDir())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := lc.WaitReady(ctx); err == nil {
		t.Errorf("the cluster still answers after Close")
	}
}
