package scenarios

// ISR honesty: whenever a fault scenario kills, stops or pauses a node,
// the kit follows in the watcher's metadata answers when each partition's
// in-sync replica set dropped the node and when it listed it again, and
// judges the node: a node still listed in sync faults.isr_timeout after it
// went down means metadata over-reports replication (Chronik's #29 showed
// isr=[1,2,3] for months with nothing replicated). What it cannot see:
// whether a node listed in sync holds the data (the placement check looks
// at that), or an ISR that shrinks on time but lists a node again before it
// has caught up.

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/chronik-e2e/chronik-e2e/pkg/cluster"
	"github.com/chronik-e2e/chronik-e2e/pkg/report"
)

// embeddedISR says why the ISR check cannot judge the embedded cluster.
const embeddedISR = "the embedded cluster (kfake) lists as replicas, and as in-sync replicas, only the brokers that are up: " +
	"a node that goes down leaves both lists at once, so its ISR can neither lag nor over-report and shows nothing about " +
	"replication; spawn or attach mode against a real broker checks it"

// isrWatch is one node's in-sync replica membership through one fault.
type isrWatch struct {
	node    int32
	topic   string
	fault   string // "kill node 2"
	at      time.Time
	started time.Time // zero until the node is started or resumed

	replicaOf []int32             // partitions it was a replica of when it went down
	member    map[int32]bool      // per partition: in the ISR in the last answer
	shrunk    map[int32]time.Time // per partition: first answer without it
	restored  map[int32]time.Time // per partition: first answer with it again, after the start
	allOut    time.Time           // first answer listing it in no ISR
	allBack   time.Time           // first answer after the start listing it in every ISR
	dropped   []int32             // partitions whose replica list dropped it too
	unlisted  bool                // an answer after the fault no longer listed it among the brokers
	relisted  bool                // a later answer listed it again before it was started: it came back by itself
	judged    *report.NodeISR     // the verdict, once given
}

// isrDown starts following node n's ISR membership as op takes it down
// at at; called before the op runs, so that the last answer shows the node
// as it was. dropISR forgets the watch when the op fails.
func (k *faultKit) isrDown(op cluster.Op, n cluster.Node, at time.Time) *isrWatch {
	label := fmt.Sprintf("%s node %d", op, n.ID)
	if k.watch == nil {
		return nil
	}
	if _, ok := k.env.Cluster.(*cluster.Embedded); ok {
		if !k.isrNoted {
			k.isrNoted = true
			k.step.Notef("ISR honesty: not applicable: %s", embeddedISR)
		}
		w := &isrWatch{node: n.ID, topic: k.topic, fault: label, at: at, judged: &report.NodeISR{Verdict: report.ISRNotApplicable, Detail: embeddedISR}}
		k.mu.Lock()
		defer k.mu.Unlock()
		k.isr = append(k.isr, w)
		return w
	}
	s := k.watch.snapshot()
	w := &isrWatch{node: n.ID, topic: k.topic, fault: label, at: at,
		member: map[int32]bool{}, shrunk: map[int32]time.Time{}, restored: map[int32]time.Time{}}
	for _, p := range s.parts {
		if slices.Contains(p.replicas, n.ID) {
			w.replicaOf = append(w.replicaOf, p.id)
			w.member[p.id] = slices.Contains(p.isr, n.ID)
		}
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.isr = append(k.isr, w)
	return w
}

// dropISR forgets w: the op that was to take its node down failed.
func (k *faultKit) dropISR(w *isrWatch) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.isr = slices.DeleteFunc(k.isr, func(x *isrWatch) bool { return x == w })
}

// isrUp marks node id started (or resumed) again at at: its ISR is followed
// until every partition lists it again.
func (k *faultKit) isrUp(id int32, at time.Time) {
	if w := k.openISR(id); w != nil {
		k.judgeISR(w)
		k.mu.Lock()
		w.started = at
		k.mu.Unlock()
	}
}

// openISR returns node id's watch whose node has not been started again.
func (k *faultKit) openISR(id int32) *isrWatch {
	k.mu.Lock()
	defer k.mu.Unlock()
	for i := len(k.isr) - 1; i >= 0; i-- {
		if w := k.isr[i]; w.node == id && w.started.IsZero() {
			return w
		}
	}
	return nil
}

// observeISR follows every watched node through one metadata answer of
// topic, and puts each partition's ISR shrinking and growing back on the
// timeline. The watcher calls it for every answer.
func (k *faultKit) observeISR(topic string, s snapshot) {
	type ev struct {
		p      int32
		node   int32
		kind   string
		detail string
	}
	var evs []ev
	k.mu.Lock()
	for _, w := range k.isr {
		if w.member == nil || w.topic != topic || !s.at.After(w.at) || !w.allBack.IsZero() {
			continue
		}
		listed := slices.Contains(s.brokers, w.node)
		switch {
		case !listed:
			w.unlisted = true
		case w.unlisted && w.started.IsZero():
			w.relisted = true
		}
		in, out := 0, 0
		for _, p := range s.parts {
			if !slices.Contains(w.replicaOf, p.id) {
				continue
			}
			if !slices.Contains(p.replicas, w.node) {
				if !slices.Contains(w.dropped, p.id) {
					w.dropped = append(w.dropped, p.id)
				}
				continue
			}
			cur := slices.Contains(p.isr, w.node)
			if cur {
				in++
			} else {
				out++
			}
			switch {
			case w.member[p.id] && !cur:
				w.shrunk[p.id] = s.at
				evs = append(evs, ev{p.id, w.node, report.EventISRShrunk, fmt.Sprintf("in-sync replicas dropped node %d, %s after %s: in sync %v of replicas %v",
					w.node, s.at.Sub(w.at).Round(time.Millisecond), w.fault, p.isr, p.replicas)})
			case !w.member[p.id] && cur && !w.started.IsZero():
				w.restored[p.id] = s.at
				evs = append(evs, ev{p.id, w.node, report.EventISRGrew, fmt.Sprintf("in-sync replicas list node %d again, %s after it was started: in sync %v",
					w.node, s.at.Sub(w.started).Round(time.Millisecond), p.isr)})
			}
			w.member[p.id] = cur
		}
		if in == 0 && out > 0 && w.allOut.IsZero() {
			w.allOut = s.at
		}
		if !w.started.IsZero() && out == 0 && in > 0 {
			w.allBack = s.at
		}
	}
	k.mu.Unlock()
	for _, e := range evs {
		k.event(s.at, e.kind, e.node, e.p, "%s", e.detail)
	}
}

// stillInISR returns the partitions of s whose in-sync replicas list id.
func stillInISR(s snapshot, id int32) []int32 {
	var out []int32
	for _, p := range s.parts {
		if slices.Contains(p.isr, id) {
			out = append(out, p.id)
		}
	}
	return out
}

// awaitISRShrink waits, until faults.isr_timeout after node id went down,
// for metadata to list it in no partition's in-sync replicas, then judges
// it: a node still listed then fails the scenario, naming the partitions.
func (k *faultKit) awaitISRShrink(ctx context.Context, id int32) error {
	w := k.openISR(id)
	if w == nil || w.judged != nil {
		return nil
	}
	if left := k.cfg.ISRTimeout.Duration - time.Since(w.at); left > 0 {
		k.env.status("  %s: waiting up to %s for the in-sync replicas to drop node %d (faults.isr_timeout) …", k.name, left.Round(time.Millisecond), id)
		_, err := k.watch.waitFor(ctx, left, func(s snapshot) bool {
			if !s.at.After(w.at) {
				return false
			}
			k.mu.Lock()
			relisted := w.relisted
			k.mu.Unlock()
			if relisted {
				return true // back by itself: nothing to wait for
			}
			for _, p := range s.parts {
				if !slices.Contains(w.replicaOf, p.id) {
					continue
				}
				if !slices.Contains(p.replicas, id) {
					return true // dropped from the replicas too: nothing to wait for
				}
				if slices.Contains(p.isr, id) {
					return false
				}
			}
			return true
		})
		if err != nil && ctx.Err() != nil {
			return err
		}
	}
	k.judgeISR(w)
	return nil
}

// judgeISR gives w its verdict from the latest metadata answer, once.
func (k *faultKit) judgeISR(w *isrWatch) {
	k.mu.Lock()
	if w.judged != nil {
		k.mu.Unlock()
		return
	}
	dropped, allOut, relisted := slices.Clone(w.dropped), w.allOut, w.relisted
	k.mu.Unlock()
	s := k.watch.snapshot()
	down := time.Since(w.at)
	timeout := k.cfg.ISRTimeout.Duration
	var j report.NodeISR
	still := stillInISR(s, w.node)
	switch {
	case len(w.replicaOf) == 0:
		j.Verdict, j.Detail = report.ISRNotApplicable, fmt.Sprintf("node %d was a replica of no partition of %s when it went down", w.node, w.topic)
	case len(dropped) > 0:
		j.Verdict, j.Detail = report.ISRNotApplicable, fmt.Sprintf("metadata dropped node %d from the replica lists of partitions %s, not only from their in-sync replicas: "+
			"replicas that follow the live nodes (as kfake's do) say nothing about replication, so its ISR cannot be judged", w.node, ints(dropped))
	case !s.at.After(w.at):
		j.Verdict, j.Detail = report.ISRNotJudged, fmt.Sprintf("no node answered a metadata request in the %s node %d was down", down.Round(time.Millisecond), w.node)
	case len(still) == 0:
		j.Verdict, j.Detail = report.ISRShrank, fmt.Sprintf("metadata dropped node %d from every in-sync replica set %s after %s", w.node, allOut.Sub(w.at).Round(time.Millisecond), w.fault)
		k.step.Metric("isr_shrink_s", max(k.step.metricOf("isr_shrink_s"), allOut.Sub(w.at).Seconds()))
	case relisted:
		j.Verdict, j.StillInISR = report.ISRNotJudged, still
		j.Detail = fmt.Sprintf("node %d left metadata's brokers after %s and came back by itself (a supervisor restarted it?) while still listed in sync for partitions %s: not judged",
			w.node, w.fault, ints(still))
		k.step.Notef("ISR honesty: %s", j.Detail)
	case down >= timeout:
		j.Verdict, j.StillInISR = report.ISROverReported, still
		j.Detail = fmt.Sprintf("ISR over-reports health: node %d %s %s ago, still in ISR of partitions %s", w.node, pastTense(w.fault), down.Round(time.Second), ints(still))
		k.step.Failf("%s (faults.isr_timeout %s; topic %s)", j.Detail, timeout, w.topic)
	default:
		j.Verdict, j.StillInISR = report.ISRNotJudged, still
		j.Detail = fmt.Sprintf("node %d came back %s after %s, before faults.isr_timeout (%s), while metadata still listed it in sync for partitions %s: not judged",
			w.node, down.Round(time.Millisecond), w.fault, timeout, ints(still))
		k.step.Notef("ISR honesty: %s", j.Detail)
	}
	k.mu.Lock()
	w.judged = &j
	k.mu.Unlock()
}

// reportISR judges every node not judged yet and adds each node's ISR
// history to the report; done calls it.
func (k *faultKit) reportISR() {
	k.mu.Lock()
	ws := slices.Clone(k.isr)
	k.mu.Unlock()
	for _, w := range ws {
		if w.judged == nil && k.watch != nil {
			k.judgeISR(w)
		}
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, w := range ws {
		if w.judged == nil {
			continue
		}
		r := *w.judged
		r.Scenario, r.Topic, r.Node, r.Fault, r.FaultAtS = k.name, w.topic, w.node, w.fault, k.at(w.at)
		r.ShrunkAtS, r.ShrinkS, r.StartedAtS, r.RestoredAtS, r.RestoreS = -1, -1, -1, -1, -1
		if !w.allOut.IsZero() {
			r.ShrunkAtS, r.ShrinkS = k.at(w.allOut), w.allOut.Sub(w.at).Seconds()
		}
		if !w.started.IsZero() {
			r.StartedAtS = k.at(w.started)
		}
		if !w.allBack.IsZero() && !w.started.IsZero() {
			r.RestoredAtS, r.RestoreS = k.at(w.allBack), w.allBack.Sub(w.started).Seconds()
		}
		for _, p := range w.replicaOf {
			pr := report.PartitionISR{Partition: p, ShrunkAtS: -1, RestoredAtS: -1}
			if t, ok := w.shrunk[p]; ok {
				pr.ShrunkAtS = k.at(t)
			}
			if t, ok := w.restored[p]; ok {
				pr.RestoredAtS = k.at(t)
			}
			r.Partitions = append(r.Partitions, pr)
		}
		k.rep.AddISR(r)
	}
	k.isr = nil
}

// pastTense turns "kill node 2" into "killed".
func pastTense(fault string) string {
	op, _, _ := strings.Cut(fault, " ")
	switch cluster.Op(op) {
	case cluster.OpKill:
		return "killed"
	case cluster.OpStop:
		return "stopped"
	case cluster.OpPause:
		return "paused"
	}
	return op
}

// ints renders ids as "0, 2".
func ints(ids []int32) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = fmt.Sprint(id)
	}
	return strings.Join(parts, ", ")
}
