package scenarios

// Replica placement: metadata says which nodes are replicas of a partition
// (and lists them in sync); only a node's disk says whether it holds the
// partition. The profile's placement hook (spawn.placement, or
// faults.hooks.placement in attach mode) prints, per node and topic, the
// partitions the node physically holds, one per line, optionally with
// "records=N" (and "bytes=N", which is only shown); a line of bare numbers
// lists several partitions ("0 1 2", as `ls` of Chronik's WAL directory for
// the topic prints). Every replica must hold every partition it is a replica
// of that has records and, where the hook counts records, all of them.

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/IBM/sarama"

	"github.com/chronik-e2e/chronik-e2e/pkg/cluster"
)

// placementPoll is how often a placement that has not converged is looked at again.
const placementPoll = 250 * time.Millisecond

// holding is what one node's placement hook printed: per partition, its
// records (-1: not counted).
type holding map[int32]int64

// parsePlacement reads a placement hook's output.
func parsePlacement(out string) (holding, error) {
	h := holding{}
	for line := range strings.Lines(out) {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		bare := true
		for _, f := range fields {
			if _, err := strconv.ParseUint(f, 10, 31); err != nil {
				bare = false
			}
		}
		if bare {
			for _, f := range fields {
				p, _ := strconv.ParseUint(f, 10, 31)
				h[int32(p)] = -1
			}
			continue
		}
		p, err := strconv.ParseUint(fields[0], 10, 31)
		if err != nil {
			return nil, fmt.Errorf("line %q: want a partition number first, then records=N or bytes=N", strings.TrimSpace(line))
		}
		h[int32(p)] = -1
		for _, f := range fields[1:] {
			k, v, ok := strings.Cut(f, "=")
			n, err := strconv.ParseInt(v, 10, 64)
			if !ok || err != nil || n < 0 || (k != "records" && k != "bytes") {
				return nil, fmt.Errorf("line %q: %q is not records=N or bytes=N", strings.TrimSpace(line), f)
			}
			if k == "records" {
				h[int32(p)] = n
			}
		}
	}
	return h, nil
}

// String lists the partitions held: "0 (334 records), 1, 2".
func (h holding) String() string {
	if len(h) == 0 {
		return "nothing"
	}
	ids := make([]int32, 0, len(h))
	for p := range h {
		ids = append(ids, p)
	}
	slices.Sort(ids)
	parts := make([]string, len(ids))
	for i, p := range ids {
		parts[i] = fmt.Sprint(p)
		if n := h[p]; n >= 0 {
			parts[i] += fmt.Sprintf(" (%d records)", n)
		}
	}
	return "partitions " + strings.Join(parts, ", ")
}

// placementGap is what one replica lacks of what metadata says it holds.
type placementGap struct {
	node    int32
	missing []int32  // partitions it holds none of
	short   []string // "partition 1: 120 of 334 records"
}

// checkPlacement asks every replica of the kit's topic what it holds,
// until every replica holds all of every partition it is a replica of that
// has records, or faults.recovery_timeout passes; then it fails the
// scenario for each replica short of that, naming the partitions. Without a
// placement hook it is not applicable and says so (once per scenario).
func (k *faultKit) checkPlacement(ctx context.Context, when string) error {
	pl, why := cluster.PlacerOf(k.env.Cluster)
	if pl == nil {
		if !k.placementNoted {
			k.placementNoted = true
			k.step.Notef("replica placement: not applicable: %s", why)
		}
		return nil
	}
	sizes, err := k.logSizes(ctx)
	if err != nil {
		return err
	}
	timeout := k.cfg.RecoveryTimeout.Duration
	deadline := time.Now().Add(timeout)
	k.env.status("  %s: asking every replica what it holds of %s (%s), up to %s …", k.name, k.topic, when, timeout)
	start := time.Now()
	for {
		snap := k.watch.snapshot()
		held, gaps, failed := k.placementOnce(ctx, pl, snap, sizes)
		if len(failed) > 0 {
			for _, f := range failed {
				k.step.Failf("replica placement %s: %s", when, f)
			}
			return ctxOr(ctx)
		}
		if len(gaps) == 0 || time.Now().After(deadline) || ctx.Err() != nil {
			ids := make([]int32, 0, len(held))
			for id := range held {
				ids = append(ids, id)
			}
			slices.Sort(ids)
			for _, id := range ids {
				k.step.Notef("replica placement %s: node %d holds %s of %s", when, id, held[id], k.topic)
			}
			for _, g := range gaps {
				if len(g.missing) > 0 {
					k.step.Failf("replica placement %s: node %d holds none of %s of %s, though metadata lists it as a replica: the data is on fewer nodes than the replication factor promises (after waiting %s)",
						when, g.node, partitionsNamed(g.missing), k.topic, timeout)
				}
				for _, s := range g.short {
					k.step.Failf("replica placement %s: node %d holds only %s of %s (after waiting %s)", when, g.node, s, k.topic, timeout)
				}
			}
			if len(gaps) == 0 {
				k.step.Metric("placement_converged_s", time.Since(start).Seconds())
			}
			return ctxOr(ctx)
		}
		if err := sleepCtx(ctx, placementPoll); err != nil {
			return err
		}
	}
}

// partitionsNamed says "partition 0" or "partitions 0, 2".
func partitionsNamed(ids []int32) string {
	if len(ids) == 1 {
		return fmt.Sprintf("partition %d", ids[0])
	}
	return "partitions " + ints(ids)
}

// logSizes returns how many records each partition of the kit's topic has:
// its end offset less its log start.
func (k *faultKit) logSizes(ctx context.Context) (map[int32]int64, error) {
	ids := make([]int32, k.env.Profile.Topic.Partitions)
	for i := range ids {
		ids[i] = int32(i)
	}
	starts, err := offsetsOf(ctx, k.env.Client, k.topic, ids, sarama.OffsetOldest)
	if err != nil {
		return nil, fmt.Errorf("the log starts of %s: %w", k.topic, err)
	}
	ends, err := offsetsOf(ctx, k.env.Client, k.topic, ids, sarama.OffsetNewest)
	if err != nil {
		return nil, fmt.Errorf("the end offsets of %s: %w", k.topic, err)
	}
	sizes := map[int32]int64{}
	for i, p := range ids {
		sizes[p] = ends[i] - starts[i]
	}
	return sizes, nil
}

// placementOnce asks every replica once; failed lists hooks that failed.
func (k *faultKit) placementOnce(ctx context.Context, pl cluster.Placer, snap snapshot, hwms map[int32]int64) (map[int32]holding, []placementGap, []string) {
	replicasOf := map[int32][]int32{} // node -> partitions it is a replica of
	for _, p := range snap.parts {
		for _, r := range p.replicas {
			replicasOf[r] = append(replicasOf[r], p.id)
		}
	}
	nodes := make([]int32, 0, len(replicasOf))
	for id := range replicasOf {
		nodes = append(nodes, id)
	}
	slices.Sort(nodes)
	held := map[int32]holding{}
	var gaps []placementGap
	var failed []string
	for _, id := range nodes {
		out, err := pl.Placement(ctx, k.node(id), k.topic)
		if err != nil {
			failed = append(failed, fmt.Sprintf("the placement hook for node %d failed: %v", id, err))
			continue
		}
		h, err := parsePlacement(out)
		if err != nil {
			failed = append(failed, fmt.Sprintf("the placement hook for node %d printed what is not a partition list: %v", id, err))
			continue
		}
		held[id] = h
		g := placementGap{node: id}
		ps := replicasOf[id]
		sort.Slice(ps, func(i, j int) bool { return ps[i] < ps[j] })
		for _, p := range ps {
			n, ok := h[p]
			switch {
			case hwms[p] <= 0:
			case !ok:
				g.missing = append(g.missing, p)
			case n >= 0 && n < hwms[p]:
				g.short = append(g.short, fmt.Sprintf("%d of the %d records of partition %d", n, hwms[p], p))
			}
		}
		if len(g.missing)+len(g.short) > 0 {
			gaps = append(gaps, g)
		}
	}
	return held, gaps, failed
}
