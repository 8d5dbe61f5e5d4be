package profile

import (
	"reflect"
	"slices"
	"testing"
	"time"
)

// networkScenarios are the network scenarios, in the order the partition profiles list them.
var networkScenarios = []string{"partition-leader", "divergence", "partition-minority", "one-way", "pause", "nemesis"}

// TestPartitionProfiles: partition and chronik-partition run every network
// scenario and a 60 s nemesis of every fault behind link proxies, within
// their scenario timeout; chronik-partition starts Chronik as chronik-3x3
// does, failing on fewer log lines (a partition provokes quorum losses).
func TestPartitionProfiles(t *testing.T) {
	base, err := Load("chronik-3x3")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"partition", "chronik-partition"} {
		p, err := Load(name)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Validate(append(slices.Clone(known), networkScenarios...)); err != nil {
			t.Fatalf("%s: Validate: %v", name, err)
		}
		f := p.Faults
		if !f.Network || f.Duration.Duration != time.Minute || !slices.Equal(f.Nemesis, NemesisFaults) || p.Cluster.Mode != ModeSpawn {
			t.Errorf("%s: faults %+v, mode %s", name, f, p.Cluster.Mode)
		}
		for _, s := range networkScenarios {
			if !slices.Contains(p.Scenarios, s) {
				t.Errorf("%s: scenarios %v lack %s", name, p.Scenarios, s)
			}
		}
		if links, _ := p.Cluster.Spawn.LinkPorts(); len(links) == 0 || !p.Cluster.Spawn.CallsClientAddr() {
			t.Errorf("%s: links through ports %v, client proxy %v: want both", name, links, p.Cluster.Spawn.CallsClientAddr())
		}
	}
	p, _ := Load("chronik-partition")
	if !reflect.DeepEqual(p.Cluster.Spawn.Files, base.Cluster.Spawn.Files) || !slices.Equal(p.Cluster.Spawn.Command, base.Cluster.Spawn.Command) {
		t.Errorf("chronik-partition starts Chronik otherwise than chronik-3x3")
	}
	if got := p.Cluster.Spawn.Logs.FailOn; !slices.Equal(got, []string{"panicked at", "Starting in SINGLE-NODE mode"}) {
		t.Errorf("chronik-partition fails on %q", got)
	}
}
