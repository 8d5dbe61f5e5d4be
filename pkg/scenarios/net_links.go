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

// bridgeLinks returns the links between the nodes of a and those of b,
// both ways, but none of bridge's: cut, the two halves hear each other
// only through bridge, which hears both.
func bridgeLinks(links []cluster.Link, bridge int32, a, b []int32) []cluster.Link {
	var out []cluster.Link
	for _, l := range links {
		if l.From == cluster.ClientNode || l.From == bridge || l.To == bridge {
			continue
		}
		if slices.Contains(a, l.From) && slices.Contains(b, l.To) || slices.Contains(b, l.From) && slices.Contains(a, l.To) {
			out = append(out, l)
		}
	}
	return out
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

// nodeLinks returns every link between node and another node, and the
// runner's link to it: slowed, everything node says or hears is late.
func nodeLinks(links []cluster.Link, node int32) []cluster.Link {
	var out []cluster.Link
	for _, l := range links {
		if l.From != l.To && (l.From == node || l.To == node) {
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
