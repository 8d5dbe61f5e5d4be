package scenarios

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/chronik-e2e/chronik-e2e/pkg/cluster"
)

// meshLinks returns every directed link between ids on ports, and the
// runner's link to each node, as a spawned cluster's controller lists them.
func meshLinks(ids []int32, ports ...string) []cluster.Link {
	var out []cluster.Link
	for _, from := range ids {
		for _, to := range ids {
			if from == to {
				continue
			}
			for _, p := range ports {
				out = append(out, cluster.Link{From: from, To: to, Port: p})
			}
		}
	}
	for _, to := range ids {
		out = append(out, cluster.Link{From: cluster.ClientNode, To: to, Port: "kafka"})
	}
	return out
}

// linkNames renders links as "0→1 raft; 1→0 raft".
func linkNames(links []cluster.Link) string {
	s := make([]string, len(links))
	for i, l := range links {
		s[i] = l.String()
	}
	return strings.Join(s, "; ")
}

func TestLinkSets(t *testing.T) {
	three := meshLinks([]int32{0, 1, 2}, "raft")
	five := meshLinks([]int32{1, 2, 3, 4, 5}, "raft")
	for _, tc := range []struct {
		name string
		got  []cluster.Link
		want string
	}{
		{"isolate 1 of 3", isolateLinks(three, 1), "0→1 raft; 1→0 raft; 1→2 raft; 2→1 raft"},
		{"isolate an unknown node", isolateLinks(three, 7), ""},
		{"split {1,2} from {3,4,5}", splitLinks(five, []int32{1, 2}),
			"1→3 raft; 1→4 raft; 1→5 raft; 2→3 raft; 2→4 raft; 2→5 raft; 3→1 raft; 3→2 raft; 4→1 raft; 4→2 raft; 5→1 raft; 5→2 raft"},
		{"one way 0→1,2", oneWayLinks(three, 0, 1, 2), "0→1 raft; 0→2 raft"},
		{"one way 2→0", oneWayLinks(meshLinks([]int32{0, 1, 2}, "raft", "wal"), 2, 0), "2→0 raft; 2→0 wal"},
		{"the runner's link to 1", oneWayLinks(three, cluster.ClientNode, 1), "runner→1 kafka"},
	} {
		if got := linkNames(tc.got); got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, tc.want)
		}
	}
	// The partitions never cut the runner off: its links are chosen only
	// by name (oneWayLinks from cluster.ClientNode).
	for _, ls := range [][]cluster.Link{isolateLinks(three, 0), splitLinks(five, []int32{5}), oneWayLinks(three, 0, 1, 2)} {
		if slices.ContainsFunc(ls, func(l cluster.Link) bool { return l.From == cluster.ClientNode }) {
			t.Errorf("a runner link in %s", linkNames(ls))
		}
	}
}

func TestMinoritySplit(t *testing.T) {
	for _, tc := range []struct {
		ids                []int32
		minority, majority []int32
	}{
		{[]int32{2, 0, 1}, []int32{2}, []int32{0, 1}},
		{[]int32{5, 4, 3, 2, 1}, []int32{5, 4}, []int32{3, 2, 1}},
		{[]int32{1, 2, 3, 4}, []int32{1}, []int32{2, 3, 4}},
		{[]int32{0, 1}, []int32{}, []int32{0, 1}},
	} {
		mi, ma := minoritySplit(tc.ids)
		if !slices.Equal(mi, tc.minority) || !slices.Equal(ma, tc.majority) {
			t.Errorf("minoritySplit(%v) = %v, %v; want %v, %v", tc.ids, mi, ma, tc.minority, tc.majority)
		}
	}
	if got := others([]int32{0, 1, 2, 3}, 1, 3); !slices.Equal(got, []int32{0, 2}) {
		t.Errorf("others = %v", got)
	}
}

// TestSplitCuts: a split is one cut per minority node, which together are
// the split's links.
func TestSplitCuts(t *testing.T) {
	five := meshLinks([]int32{1, 2, 3, 4, 5}, "raft")
	cuts := splitCuts(five, []int32{1, 2}, []int32{3, 4, 5})
	if len(cuts) != 2 || cuts[0].node != 1 || cuts[1].node != 2 {
		t.Fatalf("cuts %+v", cuts)
	}
	if got, want := linkNames(cuts[0].links), "1→3 raft; 1→4 raft; 1→5 raft; 3→1 raft; 4→1 raft; 5→1 raft"; got != want {
		t.Errorf("node 1's cut:\n got %s\nwant %s", got, want)
	}
	var all []cluster.Link
	for _, c := range cuts {
		all = append(all, c.links...)
	}
	want := splitLinks(five, []int32{1, 2})
	slices.SortFunc(all, func(a, b cluster.Link) int { return strings.Compare(a.String(), b.String()) })
	slices.SortFunc(want, func(a, b cluster.Link) int { return strings.Compare(a.String(), b.String()) })
	if !slices.Equal(all, want) {
		t.Errorf("the cuts make %s, the split %s", linkNames(all), linkNames(want))
	}
}

// TestBridgeCuts: a bridge cuts each node of one half off from the other
// half, and leaves every link of the bridge.
func TestBridgeCuts(t *testing.T) {
	five := meshLinks([]int32{1, 2, 3, 4, 5}, "raft")
	a, b := halves([]int32{1, 2, 3, 4, 5}, 3)
	if !slices.Equal(a, []int32{1, 2}) || !slices.Equal(b, []int32{4, 5}) {
		t.Fatalf("halves = %v, %v", a, b)
	}
	var got []string
	for _, c := range bridgeCuts(five, 3, a, b) {
		got = append(got, fmt.Sprintf("%d: %s", c.node, linkNames(c.links)))
	}
	want := []string{"1: 1→4 raft; 1→5 raft; 4→1 raft; 5→1 raft", "2: 2→4 raft; 2→5 raft; 4→2 raft; 5→2 raft"}
	if !slices.Equal(got, want) {
		t.Errorf("bridge 3:\n got %q\nwant %q", got, want)
	}
	a, b = halves([]int32{0, 1, 2}, 1)
	cuts := bridgeCuts(meshLinks([]int32{0, 1, 2}, "raft"), 1, a, b)
	if len(cuts) != 1 || linkNames(cuts[0].links) != "0→2 raft; 2→0 raft" {
		t.Errorf("bridge 1 of 3: %+v", cuts)
	}
}

// TestMapLinks: links are renamed node by node, the runner's kept.
func TestMapLinks(t *testing.T) {
	links := meshLinks([]int32{1, 2}, "raft")
	got := linkNames(mapLinks(links, map[int32]int32{1: 0, 2: 1}))
	if want := "0→1 raft; 1→0 raft; runner→0 kafka; runner→1 kafka"; got != want {
		t.Errorf("mapLinks = %s, want %s", got, want)
	}
	if got := mapLinks(links, nil); !slices.Equal(got, links) {
		t.Errorf("mapLinks without ids = %v", got)
	}
}
