package scenarios

// node-restart kills a follower (the node leading the fewest partitions of
// its topic, or faults.target when that names a node or random) while
// producing with acks=all, keeps producing, starts it again, waits until it
// is back in every in-sync replica set and reads everything back.
//
// Measures: the time until the restarted node was back in every in-sync
// replica set; unavailability windows and produce errors of the partitions
// it led, if any.
// Fails: on any acknowledged message lost, duplicated, reordered or
// misplaced; on a node not back in every in-sync replica set
// faults.recovery_timeout after it was started.
// Not applicable: without node control, with one node, or with replication
// factor 1.
// Cannot detect: on the embedded cluster, a slow catch-up (one copy of the
// data: a restarted node is in sync at once).

import (
	"context"

	"github.com/chronik-e2e/chronik-e2e/pkg/cluster"
)

func init() { Register(nodeRestart{}) }

type nodeRestart struct{}

var _ Scenario = nodeRestart{}

func (nodeRestart) Name() string       { return "node-restart" }
func (nodeRestart) Requires() []string { return nil }
func (nodeRestart) FaultsNodes()       {}
func (nodeRestart) Summary() string {
	return "kill a follower while producing, start it again, time its return to every in-sync replica set"
}

func (n nodeRestart) Run(ctx context.Context, env *Env, step *Step) error {
	k, err := newFaultKit(env, step, n.Name(), cluster.OpKill, cluster.OpStart)
	if err != nil {
		return err
	}
	if err := k.requireNodes(2, 2, "a follower must have a leader to catch up from"); err != nil {
		return err
	}
	defer k.done(ctx)
	if err := k.createTopic(ctx, "restart"); err != nil {
		return err
	}
	s, err := k.startStream(streamMode{acks: "all"})
	if err != nil {
		return err
	}
	return k.failover(ctx, s, cluster.OpKill, true, "")
}
