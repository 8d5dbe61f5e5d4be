package cluster

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
)

var _ NodeController = (*Embedded)(nil)

// EmbeddedLimits says what the embedded cluster cannot simulate, for reports
// of fault scenarios.
const EmbeddedLimits = "embedded cluster (kfake): one copy of the data serves every broker, so a kill never loses " +
	"acknowledged data and a restarted node is in sync at once; it has no failure detector (a paused node keeps its " +
	"leadership) and saves its data on shutdown, so a hard kill of the whole cluster is a clean stop; its elections " +
	"are immediate. It shows that the runner detects loss, duplicates and missing elections; a real cluster " +
	"(spawn or attach mode) shows whether they happen"

// Supports reports whether the embedded cluster can perform op: it can perform every op.
func (e *Embedded) Supports(op Op) bool { return slices.Contains(Ops, op) }

// Do performs op on node n of the embedded cluster:
//
//   - kill removes the broker (RemoveNode closes its listener), cuts every
//     connection clients have to it, then elects new leaders for its
//     partitions: the next broker up in id order, as Kafka elects the next
//     in-sync replica;
//   - stop first moves leadership off the broker (a controlled shutdown),
//     then removes it;
//   - start adds the broker again on the same port (AddNode) and gives it back
//     the partitions it prefers to lead, as Kafka's preferred-leader
//     election does; when every node is down, or when the node is the one
//     kfake made its controller (kfake cannot re-add a controller), the whole
//     cluster restarts from its data directory on the same ports;
//   - pause freezes the broker's connections: nothing is read or answered,
//     new connections wait; resume thaws them.
//
// Killing or stopping the last node up shuts the kfake cluster down (it
// saves its data), so a later start restarts it with the data kept. A
// cluster started by StartEmbedded, its data in memory, refuses the
// operations that would need a whole-cluster restart.
func (e *Embedded) Do(ctx context.Context, op Op, n Node) (string, error) {
	e.opMu.Lock()
	defer e.opMu.Unlock()
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("%s node %d: %w", op, n.ID, err)
	}
	i := slices.Index(e.nodes, n.ID)
	if i < 0 {
		return "", fmt.Errorf("%s node %d: the embedded cluster has nodes %v", op, n.ID, e.nodes)
	}
	port := e.ports[i]
	e.mu.Lock()
	down, kc := e.down[n.ID], e.kc
	up := 0
	for _, id := range e.nodes {
		if !e.down[id] {
			up++
		}
	}
	e.mu.Unlock()

	controller := n.ID == e.nodes[len(e.nodes)-1] // kfake's controller: the last broker
	switch op {
	case OpKill, OpStop:
		if down {
			return "", fmt.Errorf("%s node %d: it is already down", op, n.ID)
		}
		if e.dataDir == "" && (up == 1 || controller) {
			what := "it is the last node up"
			if up > 1 {
				what = "it is kfake's controller, which kfake can add back only by restarting the whole cluster"
			}
			return "", fmt.Errorf("%s node %d: %s, and this embedded cluster keeps its data in memory, so a restart would lose it (StartEmbeddedDurable keeps it on disk)", op, n.ID, what)
		}
		if up == 1 {
			e.setDown(n.ID, true)
			e.mu.Lock()
			e.kc = nil
			e.mu.Unlock()
			kc.Close()
			cut := e.net.cut(port)
			return fmt.Sprintf("node %d was the last node up: the embedded cluster shut down (%d connection(s) closed); kfake saves its data on shutdown, so this is a clean stop even for a kill", n.ID, cut), nil
		}
		release := e.hold(kc)
		defer release()
		if op == OpStop {
			// A controlled shutdown: leadership moves before the broker goes.
			e.setDown(n.ID, true)
			moved := e.placeAll(kc)
			if err := kc.RemoveNode(n.ID); err != nil {
				return "", fmt.Errorf("stop node %d: %w", n.ID, err)
			}
			cut := e.net.cut(port)
			e.placeAll(kc) // RemoveNode reshuffles every leader at random
			return fmt.Sprintf("moved the leadership of %d partition(s), over every topic, off node %d, then removed it (%d client connection(s) closed)", moved, n.ID, cut), nil
		}
		if err := kc.RemoveNode(n.ID); err != nil {
			return "", fmt.Errorf("kill node %d: %w", n.ID, err)
		}
		cut := e.net.cut(port)
		e.setDown(n.ID, true)
		e.placeAll(kc)
		return fmt.Sprintf("removed node %d and cut its %d client connection(s); its partitions elected the next node up", n.ID, cut), nil

	case OpStart:
		if !down {
			return "", fmt.Errorf("start node %d: it is not down", n.ID)
		}
		e.net.resume(port)
		if kc == nil || controller {
			why := "every node was down"
			if kc != nil {
				why = fmt.Sprintf("node %d is kfake's controller, which kfake cannot add back", n.ID)
			}
			if err := e.restart(kc, n.ID); err != nil {
				return "", fmt.Errorf("start node %d: restart the embedded cluster: %w", n.ID, err)
			}
			return fmt.Sprintf("%s: the embedded cluster restarted from its data directory on the same ports, with node %d up again", why, n.ID), nil
		}
		release := e.hold(kc)
		defer release()
		if _, _, err := kc.AddNode(n.ID, port); err != nil {
			return "", fmt.Errorf("start node %d on port %d: %w", n.ID, port, err)
		}
		e.setDown(n.ID, false)
		moved := e.placeAll(kc)
		e.mu.Lock()
		barred := e.barred[n.ID]
		e.mu.Unlock()
		if barred {
			return fmt.Sprintf("added node %d back on port %d; it may not lead yet (barred), so %d partition(s) over every topic were placed again on the others", n.ID, port, moved), nil
		}
		return fmt.Sprintf("added node %d back on port %d; the leadership of %d partition(s), over every topic, moved back to it (preferred leaders)", n.ID, port, moved), nil

	case OpPause:
		if down {
			return "", fmt.Errorf("pause node %d: it is down", n.ID)
		}
		e.net.pause(port)
		return fmt.Sprintf("froze node %d's connections: nothing is read or answered (the embedded cluster has no failure detector, so it keeps its leadership)", n.ID), nil

	case OpResume:
		e.net.resume(port)
		return fmt.Sprintf("thawed node %d's connections", n.ID), nil
	}
	return "", unsupported(op, "unknown operation")
}

func (e *Embedded) setDown(id int32, down bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if down {
		e.down[id] = true
	} else {
		delete(e.down, id)
	}
}

// restart closes kc (if running), starts a new kfake cluster on the same
// ports and data directory, and removes again the nodes that are down
// other than start, which comes up.
func (e *Embedded) restart(kc *kfake.Cluster, start int32) error {
	e.mu.Lock()
	e.kc = nil
	e.mu.Unlock()
	if kc != nil {
		kc.Close()
	}
	for _, p := range e.ports {
		e.net.cut(p)
	}
	kc, err := e.newKfake(kfake.Ports(e.ports...))
	if err != nil {
		return err
	}
	release := e.hold(kc)
	defer release()
	e.setDown(start, false)
	for i, id := range e.nodes {
		e.mu.Lock()
		down := e.down[id]
		e.mu.Unlock()
		if down {
			if err := kc.RemoveNode(id); err != nil {
				kc.Close()
				return fmt.Errorf("remove node %d again: %w", id, err)
			}
			e.net.cut(e.ports[i])
		}
	}
	e.mu.Lock()
	e.kc = kc
	e.mu.Unlock()
	e.placeAll(kc)
	return nil
}

// hold makes kc hold every request it receives until release is called, so
// that no client is answered from the random leaders RemoveNode and AddNode
// leave behind before the leaders are placed again (kfake reshuffles every
// partition's leader on a membership change; a real cluster moves only the
// leaders it must). The hold lasts the few admin calls of one operation.
func (e *Embedded) hold(kc *kfake.Cluster) (release func()) {
	released := make(chan struct{})
	e.mu.Lock()
	e.holding = true
	e.mu.Unlock()
	kc.Control(func(req kmsg.Request) (kmsg.Response, error, bool) {
		select {
		case <-released:
			kc.DropControl()
			return nil, nil, false
		default:
		}
		kc.KeepControl()
		e.mu.Lock()
		again := req == e.placing
		e.mu.Unlock()
		if again { // placeLeaders slept it already: a second sleep races inside kfake
			return nil, nil, false
		}
		kc.SleepControl(func() {
			<-released
			if _, ok := req.(*kmsg.MetadataRequest); ok { // placeLeaders let it through to here
				e.mu.Lock()
				topics := e.pendingTopics()
				e.mu.Unlock()
				e.place(kc, topics, true)
			}
		})
		return nil, nil, false
	})
	var once sync.Once
	return func() {
		once.Do(func() {
			e.mu.Lock()
			e.holding = false
			e.mu.Unlock()
			close(released)
		})
	}
}
