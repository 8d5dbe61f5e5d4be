package scenarios

// The link sets of the network faults, built from node ids by small pure
// functions over the links a cluster's NetworkController can fault: cut a
// node off from its peers both ways, split the cluster into a majority and
// a minority, bridge two halves through one node, cut one direction i→j.
// Only links between nodes are chosen: the runner's own links (From =
// cluster.ClientNode) stay up, so that the runner keeps talking to every
// node, as Chronik's own divergence test keeps the client in.

import (
	"slices"

	"github.com/chronik-e2e/chronik-e2e/pkg/cluster"
)

// isolateLinks returns the links between node and every other node, both ways.
func isolateLinks(links []cluster.Link, node int32) []cluster.Link {
	return splitLinks(links, []int32{node})
}

// splitLinks returns the links between the nodes of side and the others,
// both ways: cutting them splits the cluster in two.
func splitLinks(links []cluster.Link, side []int32) []cluster.Link {
	var out []cluster.Link
	for _, l := range links {
		if l.From == cluster.ClientNode || l.From == l.To {
			continue
		}
		if slices.Contains(side, l.From) != slices.Contains(side, l.To) {
			out = append(out, l)
		}
	}
	return out
}

// netCut is one node's links to cut: the cut the network hooks of an
// attached cluster can make (one node off from a set of peers).
type netCut struct {
	node  int32
	links []cluster.Link
}

// splitCuts returns the cuts that split minority from majority: each
// minority node cut off from every majority node, both ways. Together they
// are splitLinks(links, minority).
func splitCuts(links []cluster.Link, minority, majority []int32) []netCut {
	var out []netCut
	for _, m := range minority {
		var ls []cluster.Link
		for _, l := range links {
			if l.From == m && slices.Contains(majority, l.To) || l.To == m && slices.Contains(majority, l.From) {
				ls = append(ls, l)
			}
		}
		out = append(out, netCut{node: m, links: ls})
	}
	return out
}

// bridgeCuts returns the cuts between the nodes of a and those of b, both
// ways, one per node of a, none of bridge's links: the two halves then hear
// each other only through bridge, which hears both.
func bridgeCuts(links []cluster.Link, bridge int32, a, b []int32) []netCut {
	var out []netCut
	for _, n := range a {
		if n == bridge {
			continue
		}
		cut := splitCuts(links, []int32{n}, others(b, bridge))[0]
		out = append(out, cut)
	}
	return out
}

// halves splits ids without bridge into two halves, the first the smaller.
func halves(ids []int32, bridge int32) (a, b []int32) {
	rest := others(ids, bridge)
	return rest[:len(rest)/2], rest[len(rest)/2:]
}

// oneWayLinks returns the links from node from to each node of to (every
// port), and none back: cut, from's messages no longer reach them while
// theirs still reach from.
func oneWayLinks(links []cluster.Link, from int32, to ...int32) []cluster.Link {
	var out []cluster.Link
	for _, l := range links {
		if l.From == from && l.From != l.To && slices.Contains(to, l.To) {
			out = append(out, l)
		}
	}
	return out
}

// minoritySplit splits ids into a minority of ⌊(n-1)/2⌋ nodes (the first
// of ids in the order given) and the majority of the rest; the order is the
// caller's choice of who to cut off (e.g. the nodes leading the fewest
// partitions first). With fewer than 3 nodes there is no minority.
func minoritySplit(ids []int32) (minority, majority []int32) {
	n := (len(ids) - 1) / 2
	return slices.Clone(ids[:n]), slices.Clone(ids[n:])
}

// others returns ids without the nodes of not.
func others(ids []int32, not ...int32) []int32 {
	var out []int32
	for _, id := range ids {
		if !slices.Contains(not, id) {
			out = append(out, id)
		}
	}
	return out
}
