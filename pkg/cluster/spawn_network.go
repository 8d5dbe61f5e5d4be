package cluster

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/chronik-e2e/chronik-e2e/pkg/exitcode"
	"github.com/chronik-e2e/chronik-e2e/pkg/netproxy"
	"github.com/chronik-e2e/chronik-e2e/pkg/profile"
	"github.com/chronik-e2e/chronik-e2e/pkg/report"
)

// The link proxies of a spawned cluster with faults.network on: one
// listener of the runner's on 127.0.0.1 per directed link, node i reaching
// node j's port p ({{$.LinkAddr .ID "p"}} in i's templates), and one per
// node from the runner to its Kafka port ({{.ClientAddr "kafka"}}, which
// the node advertises). They are started before the templates render, so
// that the templates can name them, and closed with the cluster.

var _ NetworkController = (*Spawned)(nil)

// linkNet is the link proxies of a spawned cluster.
type linkNet struct {
	links   []Link // every proxied link: the nodes' by from, to and port, then the runner's
	proxies map[Link]*netproxy.Proxy
	kafka   string // the Kafka port's name
}

// startLinkNet starts a proxy for every directed link between count nodes
// on each of ports, and one from the runner to every node's Kafka port;
// plan is the nodes' own ports.
func startLinkNet(count int, ports []string, kafka string, plan []map[string]int) (*linkNet, error) {
	ln := &linkNet{proxies: map[Link]*netproxy.Proxy{}, kafka: kafka}
	add := func(l Link) error {
		target := net2(loopbackHost, plan[l.To-1][l.Port])
		p, err := netproxy.Listen(net2(loopbackHost, 0), target)
		if err != nil {
			return exitcode.ClusterError(fmt.Errorf("faults.network: no port on %s for the proxy of link %s: %w", loopbackHost, l, err), "")
		}
		ln.links = append(ln.links, l)
		ln.proxies[l] = p
		return nil
	}
	for from := 1; from <= count; from++ {
		for to := 1; to <= count; to++ {
			if from == to {
				continue
			}
			for _, port := range ports {
				if err := add(Link{From: int32(from), To: int32(to), Port: port}); err != nil {
					ln.close()
					return nil, err
				}
			}
		}
	}
	for to := 1; to <= count; to++ {
		if err := add(Link{From: ClientNode, To: int32(to), Port: kafka}); err != nil {
			ln.close()
			return nil, err
		}
	}
	return ln, nil
}

// linkPorts returns the ports spec's templates reach peers at through
// LinkAddr: each a link proxy per pair of nodes.
func linkPorts(spec profile.Spawn) []string {
	names, all := spec.LinkPorts()
	if all {
		return spec.Ports
	}
	return slices.DeleteFunc(names, func(n string) bool { return !slices.Contains(spec.Ports, n) })
}

// fill tells the template nodes the addresses of their links.
func (ln *linkNet) fill(nodes []*profile.TemplateNode) {
	for _, n := range nodes {
		n.Links, n.Clients = map[profile.PeerPort]string{}, map[string]string{}
	}
	for _, l := range ln.links {
		addr := ln.proxies[l].Addr()
		if l.From == ClientNode {
			nodes[l.To-1].Clients[l.Port] = addr
			continue
		}
		nodes[l.From-1].Links[profile.PeerPort{ID: int(l.To), Port: l.Port}] = addr
	}
}

// clientAddr returns the address of the runner's proxy to node id.
func (ln *linkNet) clientAddr(id int) string {
	return ln.proxies[Link{From: ClientNode, To: int32(id), Port: ln.kafka}].Addr()
}

// close closes every proxy and every connection through it.
func (ln *linkNet) close() {
	if ln == nil {
		return
	}
	for _, l := range ln.links {
		_ = ln.proxies[l].Close()
	}
}

// networkOff says why the cluster has no network faults, or "".
func (s *Spawned) networkOff() string {
	if s.net == nil {
		return "faults.network is off: set it to true to let the runner front every link between the nodes"
	}
	return ""
}

// Links returns every link the runner fronts: each directed link between
// two nodes on every port the templates reach through LinkAddr, then the
// runner's own link to each node's Kafka port.
func (s *Spawned) Links() []Link {
	if s.net == nil {
		return nil
	}
	return slices.Clone(s.net.links)
}

// Apply switches the proxies of f's links to f: a cut resets or holds their
// connections, slow delays their bytes, flaky resets their connections at
// random. Links not named keep what they had. It returns the fault in
// words and how many connections it reset.
func (s *Spawned) Apply(_ context.Context, f NetFault) (string, error) {
	if why := s.networkOff(); why != "" {
		return "", fmt.Errorf("%s: %w (%s)", f.Kind, ErrUnsupported, why)
	}
	st, err := proxyState(f)
	if err != nil {
		return "", err
	}
	var missing []string
	for _, l := range f.Links {
		if s.net.proxies[l] == nil {
			missing = append(missing, l.String())
		}
	}
	if len(missing) > 0 {
		ports := linkPortNames(s.net.links)
		return "", fmt.Errorf("%s: no proxy on %s: %w (the runner fronts the nodes' links on %s, from the templates' {{$.LinkAddr}} calls, and its own to each node's %s port)",
			f.Kind, strings.Join(missing, ", "), ErrUnsupported, ports, s.net.kafka)
	}
	resets := 0
	for i, l := range f.Links {
		st.Seed = uint64(f.Seed) + uint64(i)*0x9e3779b97f4a7c15 // each link its own draws
		resets += s.net.proxies[l].Set(st)
	}
	what := f.String()
	if resets > 0 {
		what += fmt.Sprintf(": %d connection(s) reset", resets)
	}
	return what, nil
}

// faulted reports whether a proxy is faulted.
func (s *Spawned) faulted() bool {
	if s.net == nil {
		return false
	}
	for _, p := range s.net.proxies {
		if p.State().Kind != netproxy.Pass {
			return true
		}
	}
	return false
}

// Heal switches every proxy back to passing bytes.
func (s *Spawned) Heal(context.Context) (string, error) {
	if why := s.networkOff(); why != "" {
		return "", fmt.Errorf("heal: %w (%s)", ErrUnsupported, why)
	}
	var healed []string
	for _, l := range s.net.links {
		if p := s.net.proxies[l]; p.State().Kind != netproxy.Pass {
			p.Heal()
			healed = append(healed, l.String())
		}
	}
	if len(healed) == 0 {
		return "healed: no link was faulted", nil
	}
	return "healed " + strings.Join(healed, ", "), nil
}

// proxyState is what f makes a proxy do.
func proxyState(f NetFault) (netproxy.State, error) {
	if len(f.Links) == 0 {
		return netproxy.State{}, fmt.Errorf("%s: no links", f.Kind)
	}
	switch f.Kind {
	case NetCut:
		switch f.Mode {
		case "", CutReset:
			return netproxy.State{Kind: netproxy.Cut}, nil
		case CutDrop:
			return netproxy.State{Kind: netproxy.Cut, Drop: true}, nil
		}
		return netproxy.State{}, fmt.Errorf("cut: mode %q is not %s or %s", f.Mode, CutReset, CutDrop)
	case NetSlow:
		if f.Latency < 0 || f.Jitter < 0 || f.Latency+f.Jitter <= 0 {
			return netproxy.State{}, fmt.Errorf("slow: latency %s ± %s: give a latency above 0 and a jitter of at least 0", f.Latency, f.Jitter)
		}
		return netproxy.State{Kind: netproxy.Slow, Latency: f.Latency, Jitter: f.Jitter}, nil
	case NetFlaky:
		if f.ResetEvery <= 0 {
			return netproxy.State{}, fmt.Errorf("flaky: a reset every %s: give a time above 0", f.ResetEvery)
		}
		return netproxy.State{Kind: netproxy.Flaky, ResetEvery: f.ResetEvery}, nil
	}
	return netproxy.State{}, fmt.Errorf("network fault %q: %w (the runner's proxies cut, slow and shake links)", f.Kind, ErrUnsupported)
}

// linkPortNames lists the ports of the nodes' links, e.g. "raft, wal", or "no port".
func linkPortNames(links []Link) string {
	var names []string
	for _, l := range links {
		if l.From != ClientNode && !slices.Contains(names, l.Port) {
			names = append(names, l.Port)
		}
	}
	if len(names) == 0 {
		return "no port"
	}
	return strings.Join(names, ", ")
}

// checkAdvertised fails when a broker's metadata lists an address other
// than the runner's proxies: the nodes then advertise their own addresses,
// the runner's clients go around its proxies, and cutting the runner off
// from a node would cut nothing.
func (s *Spawned) checkAdvertised(brokers []report.Broker) error {
	if s.net == nil {
		return nil
	}
	var wrong []string
	for _, b := range brokers {
		if !slices.ContainsFunc(s.nodes, func(n *spawnNode) bool { return n.addr == b.Addr }) {
			wrong = append(wrong, fmt.Sprintf("broker %d at %s", b.ID, b.Addr))
		}
	}
	if len(wrong) == 0 {
		return nil
	}
	proxies := make([]string, len(s.nodes))
	for i, n := range s.nodes {
		proxies[i] = fmt.Sprintf("node %d: %s", n.id, n.addr)
	}
	return exitcode.ClusterError(
		errors.New("faults.network: the cluster's metadata lists "+strings.Join(wrong, ", ")+", not the runner's proxies ("+strings.Join(proxies, "; ")+"): its clients would go around them"),
		`advertise each node's Kafka listener as {{.ClientAddr "kafka"}} in cluster.spawn (see configs/chronik-3x3.yaml)`)
}
