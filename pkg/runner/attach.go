package runner

import (
	"github.com/chronik-e2e/chronik-e2e/pkg/cluster"
	"github.com/chronik-e2e/chronik-e2e/pkg/exitcode"
	"github.com/chronik-e2e/chronik-e2e/pkg/profile"
)

// attach returns the profile's attached cluster, its nodes controlled (and
// their resources sampled) by the profile's faults.hooks when it has any.
func attach(p *profile.Profile) (cluster.Cluster, error) {
	ph := p.Faults.Hooks
	cmds := ph.Commands()
	if len(cmds) == 0 && ph.Placement == "" && ph.Partition == "" && ph.Heal == "" && ph.Stats == "" {
		return cluster.Attach(p.Cluster.Bootstrap), nil
	}
	h := cluster.Hooks{Commands: map[cluster.Op]string{}, Placement: ph.Placement, Partition: ph.Partition, Heal: ph.Heal,
		Nodes: p.Cluster.Nodes, Timeout: ph.Timeout.Duration, Stats: ph.Stats, StatsInterval: ph.StatsInterval.Duration}
	for _, c := range cmds {
		h.Commands[cluster.Op(c.Op)] = c.Command
	}
	hc, err := cluster.AttachWithHooks(p.Cluster.Bootstrap, h)
	if err != nil { // Validate parsed the templates already
		return nil, exitcode.Usagef("faults.hooks: %v", err)
	}
	return hc, nil
}
