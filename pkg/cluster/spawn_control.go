package cluster

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"slices"
	"time"
)

// Supports reports whether spawned nodes can undergo op: all of them can.
func (s *Spawned) Supports(op Op) bool { return slices.Contains(Ops, op) }

// Do performs op on the node whose Kafka address is target.Addr (or, when
// none is, whose id is target.ID), through signals to its process group:
//
//   - kill: SIGKILL;
//   - stop: the profile's stop signal, SIGKILL after its grace;
//   - start: the node's command again, with the same files, data dir and
//     ports, its output appended to the same log; Do returns once its
//     process runs, its HTTP probe (if any) answers and its Kafka port
//     accepts connections;
//   - pause: SIGSTOP; resume: SIGCONT.
//
// A node killed or stopped by Do is not a failure of the run.
func (s *Spawned) Do(ctx context.Context, op Op, target Node) (string, error) {
	n, err := s.nodeFor(target)
	if err != nil {
		return "", fmt.Errorf("%s: %w", op, err)
	}
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return "", fmt.Errorf("%s node %d: the cluster is stopped", op, n.id)
	}
	switch op {
	case OpKill, OpStop:
		p := n.running()
		if p == nil {
			return "", fmt.Errorf("%s node %d: it is not running", op, n.id)
		}
		sig, grace := sigKill, time.Duration(0)
		if op == OpStop {
			sig, grace = s.stopSig, s.grace
		}
		how, err := n.stop(ctx, sig, grace)
		if err != nil {
			return "", fmt.Errorf("%s node %d: %w", op, n.id, err)
		}
		return fmt.Sprintf("sent SIG%s to node %d (pid %d): it exited with %s", signalName(sig), n.id, p.pid, how), nil
	case OpStart:
		if err := n.start(s.launcher, s.onExit); err != nil {
			return "", fmt.Errorf("start: %w", err)
		}
		p := n.current()
		took, err := n.waitServing(ctx)
		if err != nil {
			return "", fmt.Errorf("start node %d (pid %d): %w", n.id, p.pid, err)
		}
		return fmt.Sprintf("started node %d again (pid %d, same data dir and ports); it served after %s", n.id, p.pid, took.Round(time.Millisecond)), nil
	case OpPause, OpResume:
		sig := sigStop
		if op == OpResume {
			sig = sigCont
		}
		if err := n.signal(sig); err != nil {
			return "", fmt.Errorf("%s node %d: %w", op, n.id, err)
		}
		return fmt.Sprintf("sent SIG%s to node %d (pid %d)", map[Op]string{OpPause: "STOP", OpResume: "CONT"}[op], n.id, n.current().pid), nil
	}
	return "", unsupported(op, "spawned nodes know kill, stop, start, pause and resume")
}

// nodeFor finds the node a Node of the cluster's metadata stands for.
func (s *Spawned) nodeFor(target Node) (*spawnNode, error) {
	for _, n := range s.nodes {
		if target.Addr != "" && n.addr == target.Addr {
			return n, nil
		}
	}
	for _, n := range s.nodes {
		if int32(n.id) == target.ID {
			return n, nil
		}
	}
	addrs := make([]string, len(s.nodes))
	for i, n := range s.nodes {
		addrs[i] = fmt.Sprintf("%d %s", n.id, n.addr)
	}
	return nil, fmt.Errorf("no spawned node has address %q or id %d (nodes: %v)", target.Addr, target.ID, addrs)
}

// waitServing waits until a started node's process runs, its HTTP probe
// answers and its Kafka port accepts connections, or ctx ends.
func (n *spawnNode) waitServing(ctx context.Context) (time.Duration, error) {
	start := time.Now()
	client := &http.Client{Timeout: probeHTTPTimeout, Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	defer client.CloseIdleConnections()
	backoff := 20 * time.Millisecond
	reason := ""
	for {
		p := n.current()
		if p == nil || p.hasExited() {
			exit := "an unknown status"
			if p != nil {
				exit = p.exitText()
			}
			return 0, fmt.Errorf("it exited with %s; see %s", exit, n.logPath)
		}
		reason = ""
		if n.readyURL != "" {
			reason = probeHTTP(ctx, client, n.readyURL)
		}
		if reason == "" {
			d := net.Dialer{Timeout: time.Second}
			conn, err := d.DialContext(ctx, "tcp", n.realAddr)
			if err == nil {
				_ = conn.Close()
				return time.Since(start), nil
			}
			reason = fmt.Sprintf("Kafka port %s: %v", n.realAddr, err)
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("not serving after %s: %s", time.Since(start).Round(time.Millisecond), reason)
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 250*time.Millisecond)
	}
}
