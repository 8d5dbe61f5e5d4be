package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/IBM/sarama"

	"github.com/chronik-e2e/chronik-e2e/pkg/report"
)

// The network faults of an attached cluster: faults.hooks.partition cuts
// one node off from a set of peers, both ways, at the grain of a node (a
// NetworkPolicy, iptables rules on its host); faults.hooks.heal undoes it.
// Nothing finer: no one-way cut, no slow or flaky link, no cut between the
// runner and a node.

// WaitReady waits until the cluster lists cluster.nodes brokers, as an
// attached cluster's readiness is judged, and keeps them: the network
// hooks render with their addresses.
func (h *Hooked) WaitReady(ctx context.Context, wait time.Duration, cfg *sarama.Config, status func(format string, args ...any)) ([]report.Broker, error) {
	brokers, err := WaitReady(ctx, h.addrs, h.nodes, wait, cfg, status)
	if err == nil {
		h.mu.Lock()
		h.brokers = brokers
		h.mu.Unlock()
	}
	return brokers, err
}

// networkOff says why the cluster has no network faults, or "".
func (h *Hooked) networkOff() string {
	if h.partition == nil {
		return "the attached cluster has no network hooks: set faults.hooks.partition and faults.hooks.heal in the profile to let the runner cut its links"
	}
	return ""
}

// Links returns a link of every port (AnyPort) between every two brokers
// the cluster listed when it was ready.
func (h *Hooked) Links() []Link {
	if h.networkOff() != "" {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	var links []Link
	for _, from := range h.brokers {
		for _, to := range h.brokers {
			if from.ID != to.ID {
				links = append(links, Link{From: from.ID, To: to.ID, Port: AnyPort})
			}
		}
	}
	return links
}

// hooksCan is what the network hooks can do, for errors.
const hooksCan = "faults.hooks.partition cuts one node off from a set of peers, both ways, whatever the port; faults.hooks.heal undoes it"

// Apply runs the partition hook for the node f cuts off from its peers:
// f must be a cut whose links join one node to each of a set of peers both
// ways (ports are ignored; the hook decides how connections are cut). Any
// other fault is an error wrapping ErrUnsupported.
func (h *Hooked) Apply(ctx context.Context, f NetFault) (string, error) {
	if why := h.networkOff(); why != "" {
		return "", fmt.Errorf("%s: %w (%s)", f.Kind, ErrUnsupported, why)
	}
	if f.Kind != NetCut {
		return "", fmt.Errorf("%s: %w (%s)", f.Kind, ErrUnsupported, hooksCan)
	}
	node, peers, err := isolation(f.Links)
	if err != nil {
		return "", err
	}
	data, err := h.hookData("partition", node, peers)
	if err != nil {
		return "", err
	}
	h.mu.Lock()
	// Recorded before the hook runs: a hook that fails half-way is healed too.
	for _, p := range peers {
		if !slices.Contains(h.partitioned[node], p) {
			h.partitioned[node] = append(h.partitioned[node], p)
		}
	}
	slices.Sort(h.partitioned[node])
	h.mu.Unlock()
	out, err := h.runNetHook(ctx, h.partition, data)
	what := f.String() + ": partition hook for node " + strconv.Itoa(int(node))
	if out != "" {
		what += ": " + out
	}
	return what, err
}

// faulted reports whether the partition hook cut a node off that is not healed yet.
func (h *Hooked) faulted() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.partitioned) > 0
}

// Heal runs the heal hook for every node the partition hook cut off, with
// the peers it was cut off from, and forgets the nodes it healed.
func (h *Hooked) Heal(ctx context.Context) (string, error) {
	if why := h.networkOff(); why != "" {
		return "", fmt.Errorf("heal: %w (%s)", ErrUnsupported, why)
	}
	h.mu.Lock()
	nodes := make([]int32, 0, len(h.partitioned))
	for n := range h.partitioned {
		nodes = append(nodes, n)
	}
	h.mu.Unlock()
	if len(nodes) == 0 {
		return "healed: no node was partitioned", nil
	}
	slices.Sort(nodes)
	var said []string
	var errs []error
	for _, n := range nodes {
		h.mu.Lock()
		peers := slices.Clone(h.partitioned[n])
		h.mu.Unlock()
		data, err := h.hookData("heal", n, peers)
		if err == nil {
			var out string
			out, err = h.runNetHook(ctx, h.heal, data)
			line := fmt.Sprintf("healed node %d from %s", n, idList(peers))
			if out != "" {
				line += ": " + out
			}
			said = append(said, line)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("heal node %d: %w", n, err))
			continue
		}
		h.mu.Lock()
		delete(h.partitioned, n)
		h.mu.Unlock()
	}
	return strings.Join(said, "; "), errors.Join(errs...)
}

// isolation returns the node links cut off from peers, both ways, or an
// error wrapping ErrUnsupported when the links are another shape.
func isolation(links []Link) (int32, []int32, error) {
	shape := func(why string) error {
		return fmt.Errorf("cut %s: %w (%s; %s)", linkList(links), ErrUnsupported, why, hooksCan)
	}
	if len(links) == 0 {
		return 0, nil, shape("no links")
	}
	for _, l := range links {
		if l.From == ClientNode || l.To == ClientNode {
			return 0, nil, shape("the runner's own link to a node is not the hooks' to cut")
		}
	}
	for _, node := range []int32{links[0].From, links[0].To} {
		var out, in []int32
		ok := true
		for _, l := range links {
			switch node {
			case l.From:
				out = append(out, l.To)
			case l.To:
				in = append(in, l.From)
			default:
				ok = false
			}
		}
		slices.Sort(out)
		slices.Sort(in)
		out, in = slices.Compact(out), slices.Compact(in)
		if ok && slices.Equal(out, in) {
			return node, out, nil
		}
	}
	return 0, nil, shape("these links do not cut one node off from its peers both ways")
}

// hookData is what the network hooks render with for node and peers.
func (h *Hooked) hookData(op string, node int32, peers []int32) (HookData, error) {
	h.mu.Lock()
	brokers := slices.Clone(h.brokers)
	h.mu.Unlock()
	find := func(id int32) (HookPeer, error) {
		for _, b := range brokers {
			if b.ID == id {
				host, port, _ := net.SplitHostPort(b.Addr)
				return HookPeer{ID: id, Addr: b.Addr, Host: host, Port: port}, nil
			}
		}
		return HookPeer{}, fmt.Errorf("%s hook: node %d is not among the brokers the cluster listed (%s)", op, id, brokerList(brokers))
	}
	n, err := find(node)
	if err != nil {
		return HookData{}, err
	}
	d := HookData{ID: n.ID, Addr: n.Addr, Host: n.Host, Port: n.Port, Op: Op(op)}
	for _, id := range peers {
		p, err := find(id)
		if err != nil {
			return HookData{}, err
		}
		d.Peers = append(d.Peers, p)
	}
	return d, nil
}

// runNetHook renders t with d and runs it like a node hook, with the peers'
// ids in CHRONIK_E2E_PEER_IDS (comma-separated).
func (h *Hooked) runNetHook(ctx context.Context, t *template.Template, d HookData) (string, error) {
	var cmdline bytes.Buffer
	if err := t.Execute(&cmdline, d); err != nil {
		return "", fmt.Errorf("%s hook for node %d: %w", d.Op, d.ID, err)
	}
	ids := make([]string, len(d.Peers))
	for i, p := range d.Peers {
		ids[i] = strconv.Itoa(int(p.ID))
	}
	return runHook(ctx, h.timeout, cmdline.String(), []string{
		"CHRONIK_E2E_OP=" + string(d.Op),
		"CHRONIK_E2E_NODE_ID=" + strconv.Itoa(int(d.ID)),
		"CHRONIK_E2E_NODE_ADDR=" + d.Addr,
		"CHRONIK_E2E_PEER_IDS=" + strings.Join(ids, ","),
	})
}

// idList returns "2, 3".
func idList(ids []int32) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.Itoa(int(id))
	}
	return strings.Join(s, ", ")
}

// linkList returns "1→2 raft, 2→1 raft".
func linkList(links []Link) string {
	s := make([]string, len(links))
	for i, l := range links {
		s[i] = l.String()
	}
	return strings.Join(s, ", ")
}
