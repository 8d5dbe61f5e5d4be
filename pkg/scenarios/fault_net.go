package scenarios

// The kit's network faults: cutting, slowing and healing links through the
// cluster's NetworkController, each on the run's timeline with the links it
// touched, and the promise every network scenario keeps: whatever happened,
// every link is healed and every paused node resumed when it ends, within a
// deadline of its own.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/chronik-e2e/chronik-e2e/pkg/cluster"
	"github.com/chronik-e2e/chronik-e2e/pkg/report"
	"github.com/chronik-e2e/chronik-e2e/pkg/verify"
)

// interruptedUndo bounds healing and resuming after an interrupted run:
// the user asked to stop, the cleanup must not keep them waiting.
const interruptedUndo = 10 * time.Second

// requireNetwork gives the kit the cluster's network controller, or makes
// the scenario not applicable with cluster.Network's reason.
func (k *faultKit) requireNetwork() error {
	nc, why := cluster.Network(k.env.Cluster)
	if nc == nil {
		return NotApplicable("%s", why)
	}
	k.net = nc
	// Kafka's broker ids (the kit's, and the report's) may not be the ids
	// the controller names its links by (a spawned node's template id):
	// the nodes are matched by their Kafka address.
	k.toLink, k.fromLink = map[int32]int32{}, map[int32]int32{}
	var named []string
	for _, n := range k.env.Report.Cluster.Nodes {
		for _, b := range k.nodes {
			if b.Addr == n.Addr && int32(n.ID) != b.ID {
				k.toLink[b.ID], k.fromLink[int32(n.ID)] = int32(n.ID), b.ID
				named = append(named, fmt.Sprintf("broker %d is node %d", b.ID, n.ID))
			}
		}
	}
	if len(named) > 0 {
		slices.Sort(named)
		k.step.Notef("links are named by broker id, as metadata lists the nodes; what the cluster says it did names the spawned nodes (%s)", strings.Join(named, ", "))
	}
	return nil
}

// links returns the links the controller can fault, named by broker ids.
func (k *faultKit) links() []cluster.Link {
	return mapLinks(k.net.Links(), k.fromLink)
}

// mapLinks renames the nodes of links by ids (a node not in it keeps its id).
func mapLinks(links []cluster.Link, ids map[int32]int32) []cluster.Link {
	if len(ids) == 0 {
		return links
	}
	out := make([]cluster.Link, len(links))
	for i, l := range links {
		if id, ok := ids[l.From]; ok {
			l.From = id
		}
		if id, ok := ids[l.To]; ok {
			l.To = id
		}
		out[i] = l
	}
	return out
}

// cutMode is faults.cut_mode as the controller names it.
func (k *faultKit) cutMode() cluster.CutMode {
	if k.cfg.CutMode == string(cluster.CutDrop) {
		return cluster.CutDrop
	}
	return cluster.CutReset
}

// cut cuts links (faults.cut_mode), labelled label on the timeline and in
// the windows ("partition node 1"); node is the node it is about.
func (k *faultKit) cut(ctx context.Context, label string, node int32, links []cluster.Link) (time.Time, error) {
	return k.netDo(ctx, label, node, cluster.NetFault{Kind: cluster.NetCut, Links: links, Mode: k.cutMode()})
}

// netDo puts f on its links, marks it, and records on the timeline what
// the cluster said it did, with the links.
func (k *faultKit) netDo(ctx context.Context, label string, node int32, f cluster.NetFault) (time.Time, error) {
	start := time.Now()
	if len(f.Links) == 0 {
		return start, fmt.Errorf("%s: the cluster has no such links to fault (links it can: %s)", label, linkList(k.links()))
	}
	k.mu.Lock()
	k.marks = append(k.marks, faultMark{label: label, at: start})
	k.mu.Unlock()
	k.netFault = true // a failed Apply may have faulted some links
	k.env.status("  %s: %s: %s …", k.name, label, f)
	asked := f
	asked.Links = mapLinks(f.Links, k.toLink)
	out, err := k.net.Apply(ctx, asked)
	if err != nil {
		k.netEvent(start, node, f.Links, "%s failed: %s: %v", label, f, err)
		if errors.Is(err, cluster.ErrUnsupported) {
			return start, NotApplicable("%s: %v", label, err)
		}
		return start, fmt.Errorf("%s: %w", label, err)
	}
	if out == "" {
		out = "done"
	}
	k.netEvent(start, node, f.Links, "%s (took %s): %s: %s", label, time.Since(start).Round(100*time.Microsecond), f, out)
	return start, nil
}

// heal removes every network fault and marks it.
func (k *faultKit) heal(ctx context.Context) (time.Time, error) {
	start := time.Now()
	k.mu.Lock()
	k.marks = append(k.marks, faultMark{label: "heal", at: start})
	k.mu.Unlock()
	k.env.status("  %s: healing every link …", k.name)
	out, err := k.net.Heal(ctx)
	if err != nil {
		k.netEvent(start, -1, nil, "heal failed: %v", err)
		return start, fmt.Errorf("heal the network: %w", err)
	}
	k.netFault = false
	if out == "" {
		out = "done"
	}
	k.netEvent(start, -1, nil, "heal (took %s): %s", time.Since(start).Round(100*time.Microsecond), out)
	return start, nil
}

// netEvent adds a fault event with its links (named by broker ids) to the timeline.
func (k *faultKit) netEvent(t time.Time, node int32, links []cluster.Link, format string, args ...any) {
	var names []string
	for _, l := range links {
		names = append(names, l.String())
	}
	k.rep.AddEvent(report.Event{AtS: k.at(t), Scenario: k.name, Kind: report.EventFault, Node: node, Partition: -1,
		Detail: fmt.Sprintf(format, args...), Links: names})
}

// undo heals the network and resumes every node the scenario paused, when
// it ends, whatever happened: within faults.recovery_timeout past the
// scenario's deadline, or interruptedUndo after Ctrl-C.
func (k *faultKit) undo(scenarioCtx context.Context) {
	paused := make([]int32, 0, len(k.paused))
	for id := range k.paused {
		paused = append(paused, id)
	}
	slices.Sort(paused)
	if !k.netFault && len(paused) == 0 {
		return
	}
	limit := k.cfg.RecoveryTimeout.Duration
	if errors.Is(scenarioCtx.Err(), context.Canceled) {
		limit = min(limit, interruptedUndo)
	}
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	if k.netFault && k.net != nil {
		if _, err := k.heal(ctx); err != nil {
			k.step.Failf("the network could not be healed when the scenario ended, so the next scenarios may find links cut: %v", err)
		}
	}
	for _, id := range paused {
		if k.nc == nil {
			break
		}
		if _, err := k.do(ctx, cluster.OpResume, k.node(id)); err != nil {
			k.step.Failf("node %d could not be resumed when the scenario ended, so the cluster is left with it paused: %v", id, err)
		}
	}
}

// linkList renders links as "0→1 raft, 1→0 raft", or "none".
func linkList(links []cluster.Link) string {
	if len(links) == 0 {
		return "none"
	}
	names := make([]string, len(links))
	for i, l := range links {
		names[i] = l.String()
	}
	return strings.Join(names, ", ")
}

// warmStream creates the scenario's own topic (suffix) and starts an
// acks=all stream on it, warmed up.
func (k *faultKit) warmStream(ctx context.Context, suffix string) (*stream, error) {
	if err := k.createTopic(ctx, suffix); err != nil {
		return nil, err
	}
	s, err := k.startStream(ctx, verify.Mode{Acks: "all"})
	if err != nil {
		return nil, err
	}
	return s, s.warmup(ctx)
}

// cutLeader produces with acks=all to the scenario's own topic (suffix),
// picks the node leading the most partitions (faults.target), and runs
// netFailover with the cut cutOf says for it and its peers, in words
// (what, e.g. "partition node 0 from its peers") and as cuts.
func (k *faultKit) cutLeader(ctx context.Context, suffix string, cutOf func(target int32, peers []int32) (label, what string, cuts []netCut)) error {
	s, err := k.warmStream(ctx, suffix)
	if err != nil {
		return err
	}
	target, why, err := k.pickTarget(false)
	if err != nil {
		return err
	}
	led := k.watch.snapshot().ledBy()[target.ID]
	label, what, cuts := cutOf(target.ID, others(k.nodeIDs(), target.ID))
	k.step.Notef("%s: it %s; it led partitions %v of %s", what, why, led, k.topic)
	return k.netFailover(ctx, s, label, cuts, []int32{target.ID})
}

// netFailover makes cuts while s produces, waits until every partition has
// a leader outside gone (the nodes the cut leaves without a majority) and
// s has acknowledgements again, keeps producing for faults.settle, heals,
// waits until every node of gone is back in every in-sync replica set,
// settles, then drains, reads back and judges s, and reads every replica:
// after a heal they must all hold the same log.
func (k *faultKit) netFailover(ctx context.Context, s *stream, label string, cuts []netCut, gone []int32) error {
	var at time.Time
	for i, c := range cuts {
		t, err := k.cut(ctx, label, c.node, c.links)
		if err != nil {
			return err
		}
		if i == 0 {
			at = t
		}
	}
	k.watch.setAvoid(gone) // their own metadata may still show them leading
	elected, err := k.awaitLeaders(ctx, at, gone...)
	if err != nil {
		return err
	}
	if elected {
		if err := s.awaitAcks(ctx, at, k.cfg.ElectionTimeout.Duration, "after "+label); err != nil {
			if ctx.Err() != nil {
				return err
			}
			k.step.Notef("%s: %v", s.mode, err)
		}
	}
	if err := k.settle(ctx); err != nil {
		return err
	}
	healed, err := k.heal(ctx)
	if err != nil {
		return err
	}
	k.watch.setAvoid(nil)
	for _, id := range gone {
		if err := k.awaitBack(ctx, id, healed); err != nil {
			return err
		}
	}
	if err := k.settle(ctx); err != nil {
		return err
	}
	k.noteLeaders(gone)
	if err := k.finish(ctx, s, judged{leaderHit: true}); err != nil {
		return err
	}
	return k.readReplicas(ctx, "after the heal")
}

// noteLeaders says which partitions the nodes cut off lead after the heal:
// they rejoined as followers, or took their leadership back (a preferred
// leader election).
func (k *faultKit) noteLeaders(ids []int32) {
	led := k.watch.snapshot().ledBy()
	for _, id := range ids {
		if ps := led[id]; len(ps) > 0 {
			k.step.Notef("after the heal node %d leads partitions %s of %s again (a preferred leader election)", id, ints(ps), k.topic)
		} else {
			k.step.Notef("after the heal node %d rejoined as a follower of every partition it replicates", id)
		}
	}
}

// noteISRChanges puts on the timeline every partition's in-sync replicas
// shrinking or growing between two metadata answers, for the nodes no
// isrWatch follows (a node cut off or slowed is not down: the ISR honesty
// check does not judge it, but its ISR is a symptom to show).
func (k *faultKit) noteISRChanges(prev, cur snapshot) {
	for _, p := range cur.parts {
		if int(p.id) >= len(prev.parts) || prev.parts[p.id].id != p.id {
			continue
		}
		was := prev.parts[p.id].isr
		var left, joined []int32
		for _, id := range was {
			if !slices.Contains(p.isr, id) && k.openISR(id) == nil {
				left = append(left, id)
			}
		}
		for _, id := range p.isr {
			if !slices.Contains(was, id) && k.openISR(id) == nil {
				joined = append(joined, id)
			}
		}
		if len(left) > 0 {
			k.event(cur.at, report.EventISRShrunk, left[0], p.id, "in-sync replicas dropped node(s) %s after %s: %v → %v", ints(left), k.lastMark(), was, p.isr)
		}
		if len(joined) > 0 {
			k.event(cur.at, report.EventISRGrew, joined[0], p.id, "in-sync replicas list node(s) %s again after %s: %v → %v", ints(joined), k.lastMark(), was, p.isr)
		}
	}
}
