package cluster

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"strconv"
	"time"
)

// Placer runs a cluster's placement hook: a command that prints which
// partitions of a topic one node physically holds (for Chronik, a listing
// of its WAL directory for the topic). Metadata says what a node should
// hold; only the node's disk says what it does.
type Placer interface {
	// Placement returns what the hook printed for node n and topic.
	Placement(ctx context.Context, n Node, topic string) (string, error)
}

// placementTimeout bounds a spawned node's placement hook.
const placementTimeout = 30 * time.Second

// PlacerOf returns c's placement hook, or nil and why it has none.
func PlacerOf(c Cluster) (Placer, string) {
	switch c := c.(type) {
	case *Embedded:
		return nil, "the embedded cluster (kfake) keeps one copy of the data for every broker, so no node holds anything of its own"
	case *Spawned:
		if c.spec.Placement != "" {
			return c, ""
		}
		return nil, "the profile has no cluster.spawn.placement command to list what each node holds"
	case *Hooked:
		if c.placement != nil {
			return c, ""
		}
	}
	return nil, "the profile has no faults.hooks.placement command to list what each node holds"
}

// Placement runs spawn.placement for the spawned node that n stands for.
func (s *Spawned) Placement(ctx context.Context, n Node, topic string) (string, error) {
	sn, err := s.nodeFor(n)
	if err != nil {
		return "", fmt.Errorf("placement: %w", err)
	}
	cmdline, err := s.spec.RenderPlacement(sn.tnode, topic)
	if err != nil {
		return "", err
	}
	return runHook(ctx, placementTimeout, cmdline, placementEnv(n, topic))
}

// Placement runs faults.hooks.placement for node n and topic.
func (h *Hooked) Placement(ctx context.Context, n Node, topic string) (string, error) {
	host, port, _ := net.SplitHostPort(n.Addr)
	var cmdline bytes.Buffer
	data := struct {
		HookData
		Topic string
	}{HookData{ID: n.ID, Addr: n.Addr, Host: host, Port: port, Op: "placement"}, topic}
	if err := h.placement.Execute(&cmdline, data); err != nil {
		return "", fmt.Errorf("placement hook for node %d: %w", n.ID, err)
	}
	return runHook(ctx, h.timeout, cmdline.String(), placementEnv(n, topic))
}

func placementEnv(n Node, topic string) []string {
	return []string{"CHRONIK_E2E_NODE_ID=" + strconv.Itoa(int(n.ID)), "CHRONIK_E2E_NODE_ADDR=" + n.Addr, "CHRONIK_E2E_TOPIC=" + topic}
}
