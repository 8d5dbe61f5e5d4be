package cluster

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// The network faults: what the runner does to the links between nodes, and
// between itself and a node, beside the node operations of control.go.
//
// In spawn mode with faults.network on, every directed link a node's
// templates name (node i reaching node j's port p) is a listener the runner
// owns and forwards to j's real port; the address a node advertises to
// clients can be one too. A NetworkController cuts, slows or shakes those
// links. An attached cluster does the same through hooks.partition and
// hooks.heal, at the grain of a node; the embedded cluster has no links.

// ClientNode is the From of a link from the runner (its Kafka clients) to a node.
const ClientNode int32 = -1

// AnyPort is the Port of a link that stands for every port between two
// nodes: hooks cut nodes off from each other, not ports.
const AnyPort = "*"

// Link is one directed link: node From reaches node To's port Port
// (e.g. "raft", "wal", or "kafka" for the runner's own link, From = ClientNode).
type Link struct {
	From, To int32
	Port     string
}

// String returns "1→2 raft", or "runner→2 kafka".
func (l Link) String() string {
	from := fmt.Sprint(l.From)
	if l.From == ClientNode {
		from = "runner"
	}
	return fmt.Sprintf("%s→%d %s", from, l.To, l.Port)
}

// NetKind is what a network fault does to its links.
type NetKind string

// The network faults.
const (
	NetCut   NetKind = "cut"   // no bytes pass: existing connections reset or black-holed, new ones refused or hung
	NetSlow  NetKind = "slow"  // bytes pass after Latency ± Jitter
	NetFlaky NetKind = "flaky" // connections are reset at random
)

// CutMode is how a cut treats connections.
type CutMode string

// The cut modes.
const (
	CutReset CutMode = "reset" // close existing connections, refuse new ones
	CutDrop  CutMode = "drop"  // hold existing and new connections open, pass nothing
)

// NetFault is one network fault on a set of links.
type NetFault struct {
	Kind  NetKind
	Links []Link
	// Mode is how NetCut treats connections; "" is CutReset.
	Mode CutMode
	// Latency and Jitter are NetSlow's delay of every chunk of bytes.
	Latency, Jitter time.Duration
	// ResetEvery is NetFlaky's mean time between resets of each connection.
	ResetEvery time.Duration
	// Seed seeds NetFlaky's random draws (each link's own from it).
	Seed int64
}

// String describes the fault for the report, e.g. "cut (reset) 1→2 raft, 2→1 raft".
func (f NetFault) String() string {
	links := make([]string, len(f.Links))
	for i, l := range f.Links {
		links[i] = l.String()
	}
	what := string(f.Kind)
	switch f.Kind {
	case NetCut:
		mode := f.Mode
		if mode == "" {
			mode = CutReset
		}
		what += " (" + string(mode) + ")"
	case NetSlow:
		what += fmt.Sprintf(" (%s ± %s)", f.Latency, f.Jitter)
	case NetFlaky:
		what += fmt.Sprintf(" (a reset every %s)", f.ResetEvery)
	}
	return what + " " + strings.Join(links, ", ")
}

// NetworkController puts network faults on the links of a cluster.
type NetworkController interface {
	// Links returns every link the runner can fault, in a stable order.
	Links() []Link
	// Apply puts f on its links, on top of any fault already there, and
	// returns what it did in words for the report (a hook's output).
	// A link the cluster cannot fault returns an error wrapping ErrUnsupported.
	Apply(ctx context.Context, f NetFault) (string, error)
	// Heal removes every network fault; scenarios call it when they end,
	// whatever happened. ctx bounds it.
	Heal(ctx context.Context) (string, error)
}

// networkOff is a cluster that implements NetworkController only when its
// profile says so; it says why not otherwise.
type networkOff interface {
	networkOff() string
}

// Network returns c's network controller, or nil and why there is none.
func Network(c Cluster) (NetworkController, string) {
	if off, ok := c.(networkOff); ok {
		if why := off.networkOff(); why != "" {
			return nil, why
		}
	}
	if nc, ok := c.(NetworkController); ok {
		return nc, ""
	}
	switch c.Mode() {
	case "attach":
		return nil, "the attached cluster has no network hooks: set faults.hooks.partition and faults.hooks.heal in the profile to let the runner cut its links"
	case "spawn":
		return nil, "faults.network is off: set it to true to let the runner front every link between the nodes"
	}
	return nil, fmt.Sprintf("the %s cluster has no links between its nodes to cut", c.Mode())
}

// faulted is a NetworkController that knows whether any fault is on.
type faulted interface{ faulted() bool }

// HealLeft heals the network faults left on c, if it has a network
// controller and any is on, and returns what it healed ("" when nothing
// was). The runner calls it when a scenario ends, whatever happened to it:
// a scenario that panicked or ran out of time never healed what it cut.
func HealLeft(ctx context.Context, c Cluster) (string, error) {
	nc, _ := Network(c)
	if nc == nil {
		return "", nil
	}
	if f, ok := nc.(faulted); ok && !f.faulted() {
		return "", nil
	}
	return nc.Heal(ctx)
}
