package scenarios

// nemesis strikes, for faults.duration, a seeded random schedule of the
// faults faults.nemesis lists (partition: a node cut off from its peers,
// or a bridge: the others split in two halves that hear each other only
// through it; one-way, slow, pause, kill, restart), one every
// faults.interval on a node picked with it, each held
// for half the interval and healed before the next, while the continuous
// producer writes with acks=all and a reader reads every partition
// throughout. Then it heals everything, waits until the cluster is whole,
// settles, and reads everything back (the final audit included), every
// replica, and what the reader read during the faults. The schedule is a
// pure function of the run's fault seed, the node ids and the list: the
// report prints it, and --fault-seed replays it.
//
// Measures: every fault and symptom on the timeline, unavailability
// windows, produce errors, records read during the faults, the time until
// the cluster was whole after the last fault.
// Fails: on any acknowledged message lost, duplicated, reordered or
// misplaced; on a record the reader read during the faults that the log no
// longer holds at its offset; on a follower serving other records than its
// leader; on a cluster not whole faults.recovery_timeout after the last
// fault.
// Not applicable: without what the listed faults need (a network
// controller for partition, one-way and slow; node control for pause,
// kill and restart), with fewer than 3 nodes or replication factor below 2.
// Cannot detect: faults that overlap (each is healed before the next), or
// what a schedule of this seed does not strike.

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/chronik-e2e/chronik-e2e/pkg/cluster"
	"github.com/chronik-e2e/chronik-e2e/pkg/profile"
	"github.com/chronik-e2e/chronik-e2e/pkg/verify"
)

func init() {
	Register(faultScenario{
		name:     "nemesis",
		summary:  "a seeded random schedule of partitions, one-way cuts, slow links, pauses, kills and restarts while producing and reading: nothing acked lost, nothing read undone",
		needsOf:  nemesisNeeds,
		minNodes: 3, minRF: 2, needs: "a node struck needs peers to take over",
		body: nemesis,
	})
}

// nemesisNeeds returns the node operations and whether the network
// controller the faults of f.Nemesis need.
func nemesisNeeds(f profile.Faults) (ops []cluster.Op, network bool) {
	add := func(more ...cluster.Op) {
		for _, op := range more {
			if !slices.Contains(ops, op) {
				ops = append(ops, op)
			}
		}
	}
	for _, n := range f.Nemesis {
		switch n {
		case profile.NemesisPartition, profile.NemesisOneWay, profile.NemesisSlow:
			network = true
		case profile.NemesisPause:
			add(cluster.OpPause, cluster.OpResume)
		case profile.NemesisKill:
			add(cluster.OpKill, cluster.OpStart)
		case profile.NemesisRestart:
			add(cluster.OpStop, cluster.OpStart)
		}
	}
	return ops, network
}

func nemesis(ctx context.Context, k *faultKit) error {
	if err := k.createTopic(ctx, "nemesis"); err != nil {
		return err
	}
	s, err := k.startStream(ctx, verify.Mode{Acks: "all"})
	if err != nil {
		return err
	}
	lr := k.startLiveReader(k.env.Profile.Topic.Partitions)
	if err := s.warmup(ctx); err != nil {
		return err
	}
	interval, duration := k.cfg.Interval.Duration, k.cfg.Duration.Duration
	steps := nemesisSchedule(k.rep.Seed, k.nodeIDs(), k.cfg.Nemesis, duration, interval)
	k.step.Notef("schedule (seed %d: --fault-seed %d replays it): %s", k.rep.Seed, k.rep.Seed, scheduleText(steps))
	k.step.Metric("nemesis_faults", float64(len(steps)))
	start := time.Now()
	for _, st := range steps {
		if err := sleepCtx(ctx, time.Until(start.Add(st.at))); err != nil {
			return err
		}
		undo, err := k.strike(ctx, st)
		if err != nil {
			return err
		}
		if err := sleepCtx(ctx, interval/2); err != nil {
			return err
		}
		if err := undo(ctx); err != nil {
			return err
		}
	}
	if err := sleepCtx(ctx, time.Until(start.Add(duration))); err != nil {
		return err
	}
	if whole, err := k.awaitWhole(ctx, time.Now(), "the nemesis's last fault", "nemesis_recovered_s"); !whole {
		return err
	}
	if err := k.settle(ctx); err != nil {
		return err
	}
	s.drain(ctx)
	if err := k.finish(ctx, s, judged{leaderHit: true}); err != nil {
		return err
	}
	if err := lr.check(ctx); err != nil {
		return err
	}
	return k.readReplicas(ctx, "after the nemesis")
}

// strike puts one step's fault on the cluster and returns what heals it.
func (k *faultKit) strike(ctx context.Context, st nemesisStep) (undo func(context.Context) error, err error) {
	n := k.node(st.node)
	healNet := func(ctx context.Context) error {
		k.watch.setAvoid(nil)
		_, err := k.heal(ctx)
		return err
	}
	switch st.fault {
	case profile.NemesisPartition:
		cuts := []netCut{{st.node, isolateLinks(k.links(), st.node)}}
		k.watch.setAvoid([]int32{st.node})
		if st.bridge {
			k.watch.setAvoid(nil)
			ids := k.nodeIDs()
			slices.Sort(ids)
			a, b := halves(ids, st.node)
			cuts = bridgeCuts(k.links(), st.node, a, b)
		}
		for _, c := range cuts {
			if _, err = k.cut(ctx, st.String(), c.node, c.links); err != nil {
				break
			}
		}
		return healNet, err
	case profile.NemesisOneWay:
		_, err = k.cut(ctx, st.String(), st.node, oneWayLinks(k.links(), st.node, st.peer))
		return healNet, err
	case profile.NemesisSlow:
		f := cluster.NetFault{Kind: cluster.NetSlow, Links: isolateLinks(k.links(), st.node), Latency: st.latency, Jitter: st.jitter}
		_, err = k.netDo(ctx, st.String(), st.node, f)
		return healNet, err
	case profile.NemesisPause:
		_, err = k.do(ctx, cluster.OpPause, n)
		return func(ctx context.Context) error { _, err := k.do(ctx, cluster.OpResume, n); return err }, err
	case profile.NemesisKill:
		_, err = k.do(ctx, cluster.OpKill, n)
		return func(ctx context.Context) error { _, err := k.do(ctx, cluster.OpStart, n); return err }, err
	case profile.NemesisRestart:
		if _, err = k.do(ctx, cluster.OpStop, n); err != nil {
			return nil, err
		}
		_, err = k.do(ctx, cluster.OpStart, n)
		return func(context.Context) error { return nil }, err
	}
	return nil, fmt.Errorf("the nemesis has no fault %q", st.fault)
}
