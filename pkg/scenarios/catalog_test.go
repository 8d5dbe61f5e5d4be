package scenarios

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// view builds a broker's catalog view listing topics, all led.
func view(id int32, brokers int, topics ...string) *catalogView {
	v := &catalogView{id: id, addr: "b", brokers: brokers, listed: map[string]bool{}, leaderless: map[string][]int32{}}
	for _, t := range topics {
		v.listed[t] = true
	}
	return v
}

func TestCompareCatalogs(t *testing.T) {
	want := []string{"s-1", "s-2", "s-3"}
	unled := view(1, 3, "s-1", "s-2", "s-3")
	unled.leaderless["s-2"] = []int32{0, 2}
	for _, tc := range []struct {
		name     string
		views    []*catalogView
		findings []string // one substring per finding, in order
	}{
		{"converged", []*catalogView{view(0, 3, want...), view(1, 3, want...), view(2, 3, want...)}, nil},
		{"creation loss", []*catalogView{view(0, 3, "s-1", "s-3"), view(1, 3, "s-1", "s-3")},
			[]string{"creation loss: 1 of 3 topic(s) whose creation the cluster acknowledged are listed by no broker (brokers 0, 1) after 2s: s-2"}},
		{"divergence", []*catalogView{view(0, 3, want...), view(1, 3, "s-3"), view(2, 3, "s-1", "s-3")},
			[]string{"catalog divergence: broker 1 lists 1 of 3 topic(s); it is missing 2 that brokers 0, 2 list: s-1, s-2",
				"catalog divergence: broker 2 lists 2 of 3 topic(s); it is missing 1 that broker 0 lists: s-2"}},
		{"leaderless", []*catalogView{view(0, 3, want...), unled},
			[]string{"broker 1 lists 1 topic(s) with partitions missing or without a leader: s-2 (partitions [0 2])"}},
		{"silent, short and extra", []*catalogView{{id: 0, addr: "127.0.0.1:9", err: errors.New("connection refused")}, view(1, 2, "s-1", "s-2", "s-3", "s-9")},
			[]string{"broker 0 at 127.0.0.1:9 did not answer metadata: connection refused",
				"broker 1 lists 1 topic(s) of this storm that were not created (their CreateTopics failed or was never sent): s-9",
				"broker 1's metadata lists 2 broker(s), want 3: a node is missing from the cluster"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := compareCatalogs(tc.views, want, 3)
			if g.converged() != (len(tc.findings) == 0) {
				t.Errorf("converged = %v with findings %q", g.converged(), tc.findings)
			}
			got := g.findings(tc.views, 2*time.Second, "creation loss")
			if len(got) != len(tc.findings) {
				t.Fatalf("findings:\n  %s\nwant %d:\n  %s", strings.Join(got, "\n  "), len(tc.findings), strings.Join(tc.findings, "\n  "))
			}
			for i, f := range tc.findings {
				if !strings.Contains(got[i], f) {
					t.Errorf("finding %d = %q, want it to contain %q", i, got[i], f)
				}
			}
		})
	}
}

func TestNameSome(t *testing.T) {
	var names []string
	for i := range 12 {
		names = append(names, string(rune('l'-i)))
	}
	if got := nameSome(names); got != "a, b, c, d, e, f, g, h, i, j … and 2 more" {
		t.Errorf("nameSome = %q", got)
	}
}
