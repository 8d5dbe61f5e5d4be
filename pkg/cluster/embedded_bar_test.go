package cluster

import (
	"slices"
	"testing"
)

// TestEmbeddedBar: a barred broker's partitions move to the next broker
// that may lead; a barred broker that starts again gets none back; lifting
// the bar gives its preferred partitions back; with every broker barred,
// partitions keep the leaders they have (pkg/testbroker's fronts show them
// leaderless).
func TestEmbeddedBar(t *testing.T) {
	e := startTest(t, 3)
	cl := client(t, e)
	createTopic(t, cl, "t", 6)
	check := func(when string, want []int32) {
		t.Helper()
		if got, _ := leaders(t, cl, "t"); !slices.Equal(got, want) {
			t.Errorf("leaders %s = %v, want %v", when, got, want)
		}
	}
	check("after create", []int32{0, 1, 2, 0, 1, 2})
	if moved := e.Bar(1, true); moved != 2 {
		t.Errorf("barring node 1 moved %d leaderships, want 2", moved)
	}
	check("with node 1 barred", []int32{0, 2, 2, 0, 2, 2})
	do(t, e, OpKill, 1)
	do(t, e, OpStart, 1)
	check("with node 1 barred and started again", []int32{0, 2, 2, 0, 2, 2})
	if moved := e.Bar(1, false); moved != 2 {
		t.Errorf("lifting node 1's bar moved %d leaderships, want 2", moved)
	}
	check("with the bar lifted", []int32{0, 1, 2, 0, 1, 2})
	for id := range int32(3) { // each bar moves leaders to the next node, until none may lead
		e.Bar(id, true)
	}
	check("with every node barred", []int32{2, 2, 2, 2, 2, 2})
}
