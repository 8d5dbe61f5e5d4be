//go:build unix

package runner_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chronik-e2e/chronik-e2e/pkg/cluster"
	"github.com/chronik-e2e/chronik-e2e/pkg/profile"
	"github.com/chronik-e2e/chronik-e2e/pkg/runner"
	"github.com/chronik-e2e/chronik-e2e/pkg/scenarios"
)

// TestNetworkFaultHealedWhateverHappened: a scenario cuts node 0 off from
// its peers through the attached cluster's partition hook and then never
// heals it: it panics, it waits past its deadline, or the run is
// interrupted (Ctrl-C) meanwhile. The runner heals the
// cut when the scenario ends, under a context of its own (the scenario's
// has ended), so the heal hook runs either way.
func TestNetworkFaultHealedWhateverHappened(t *testing.T) {
	for _, how := range []string{"panic", "deadline", "interrupt"} {
		t.Run(how, func(t *testing.T) {
			e := startEmbedded(t, 3)
			file := filepath.Join(t.TempDir(), "hooks.log")
			h, err := cluster.AttachWithHooks(e.Bootstrap(), cluster.Hooks{
				Partition: `echo "partition {{.ID}}" >> ` + file,
				Heal:      `echo "heal {{.ID}}" >> ` + file,
				Nodes:     3, Timeout: 20 * time.Second,
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = h.Close() })
			p := smallProfile(t, 3, 3, 3, func(p *profile.Profile) {
				p.Scenarios = []string{"topic-create", hookName}
				p.Timeouts.Scenario = profile.Duration{Duration: 2 * time.Second}
			})
			runCtx, interrupt := context.WithCancel(context.Background())
			defer interrupt()
			onHook(t, h, func(ctx context.Context, env *scenarios.Env) error {
				nc, why := cluster.Network(env.Cluster)
				if nc == nil {
					t.Errorf("no network controller: %s", why)
					return nil
				}
				if _, err := nc.Apply(ctx, cluster.NetFault{Kind: cluster.NetCut, Links: []cluster.Link{
					{From: 0, To: 1, Port: cluster.AnyPort}, {From: 1, To: 0, Port: cluster.AnyPort},
					{From: 0, To: 2, Port: cluster.AnyPort}, {From: 2, To: 0, Port: cluster.AnyPort},
				}}); err != nil {
					return err
				}
				switch how {
				case "panic":
					panic("a bug in the scenario, mid-cut")
				case "interrupt":
					interrupt() // Ctrl-C
				}
				<-ctx.Done()
				return ctx.Err()
			})
			rep, _ := runner.Run(runCtx, runner.Options{Profile: p, Cluster: h})
			if rep == nil {
				t.Fatal("no report")
			}
			if s := section(t, rep, hookName); s.Passed {
				t.Errorf("the scenario passed")
			}
			got, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != "partition 0\nheal 0\n" {
				t.Errorf("the hooks ran\n%s\nwant node 0 partitioned, then healed", got)
			}
			if s := section(t, rep, hookName); len(notesWith(s, "left by the scenario", "healed node 0")) != 1 {
				t.Errorf("notes %q: want the heal of what the scenario left", s.Notes)
			}
		})
	}
}
