package cluster

import (
	"context"
	"errors"
	"fmt"
)

// Op is something done to one node of a cluster.
type Op string

// The node operations. Kill and Stop leave the node's data in place, so that
// Start brings the same node back with it.
const (
	OpKill   Op = "kill"   // stop at once, like SIGKILL: no goodbye to clients or peers
	OpStop   Op = "stop"   // shut down gracefully, like SIGTERM
	OpStart  Op = "start"  // start a killed or stopped node again, with its data and address
	OpPause  Op = "pause"  // freeze without closing anything, like SIGSTOP
	OpResume Op = "resume" // thaw a paused node, like SIGCONT
)

// Ops are the node operations, in the order profiles and reports list them.
var Ops = []Op{OpKill, OpStop, OpStart, OpPause, OpResume}

// Node is one broker of the cluster: its id and the address clients reach it at.
type Node struct {
	ID   int32
	Addr string
}

// NodeController kills, stops, pauses and starts the nodes of a cluster:
// the embedded cluster, spawned processes, or an attached cluster through
// the profile's hooks.
type NodeController interface {
	// Do performs op on node n and returns what it did, in words, for the
	// report (a hook's output). An op the cluster cannot perform returns
	// an error wrapping ErrUnsupported. Do returns once the op is done
	// (a started node may still be catching up); ctx bounds it.
	Do(ctx context.Context, op Op, n Node) (string, error)
	// Supports reports whether the cluster can perform op at all.
	Supports(op Op) bool
}

// ErrUnsupported is returned for a node operation the cluster cannot perform.
var ErrUnsupported = errors.New("not supported by this cluster")

// Controller returns c's node controller, or nil and why there is none.
func Controller(c Cluster) (NodeController, string) {
	if nc, ok := c.(NodeController); ok {
		return nc, ""
	}
	if c.Mode() == "attach" {
		return nil, "the attached cluster has no node hooks: set faults.hooks (kill, stop, start) in the profile to let the runner control its nodes"
	}
	return nil, fmt.Sprintf("the %s cluster cannot control its nodes", c.Mode())
}

// unsupported returns the error for op on a cluster that cannot perform it.
func unsupported(op Op, why string) error {
	return fmt.Errorf("%s: %w (%s)", op, ErrUnsupported, why)
}
