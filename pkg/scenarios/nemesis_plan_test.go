package scenarios

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/chronik-e2e/chronik-e2e/pkg/profile"
)

// TestNemesisSchedule: the schedule is a pure function of the seed, the
// node ids (in any order) and the faults: the same seed replays it, another
// seed strikes otherwise; every step is one of the faults listed, on a node
// of the cluster, one every interval for the duration.
func TestNemesisSchedule(t *testing.T) {
	ids := []int32{0, 1, 2}
	all := profile.NemesisFaults
	a := nemesisSchedule(42, ids, all, 60*time.Second, 4*time.Second)
	if b := nemesisSchedule(42, []int32{2, 0, 1}, all, 60*time.Second, 4*time.Second); !reflect.DeepEqual(a, b) {
		t.Errorf("seed 42 gave two schedules:\n%s\n%s", scheduleText(a), scheduleText(b))
	}
	if c := nemesisSchedule(43, ids, all, 60*time.Second, 4*time.Second); reflect.DeepEqual(a, c) {
		t.Errorf("seeds 42 and 43 gave the same schedule: %s", scheduleText(a))
	}
	if len(a) != 15 {
		t.Fatalf("%d steps in 60s every 4s, want 15: %s", len(a), scheduleText(a))
	}
	seen := map[string]bool{}
	for i, s := range a {
		seen[s.fault] = true
		switch {
		case s.at != time.Duration(i)*4*time.Second:
			t.Errorf("step %d at %s", i, s.at)
		case !slices.Contains(all, s.fault) || !slices.Contains(ids, s.node):
			t.Errorf("step %d: %+v", i, s)
		case s.fault == profile.NemesisOneWay && (s.peer == s.node || !slices.Contains(ids, s.peer)):
			t.Errorf("one-way step %d to peer %d", i, s.peer)
		case s.fault != profile.NemesisOneWay && s.peer != -1:
			t.Errorf("step %d (%s) has a peer", i, s.fault)
		case s.fault == profile.NemesisSlow && (s.latency < minSlowLatency || s.jitter != s.latency/4):
			t.Errorf("slow step %d: %s ± %s", i, s.latency, s.jitter)
		}
	}
	if len(seen) < 4 {
		t.Errorf("15 steps struck with only %v", seen)
	}
	// Only the faults listed.
	for _, s := range nemesisSchedule(7, ids, []string{profile.NemesisKill}, 10*time.Second, time.Second) {
		if s.fault != profile.NemesisKill {
			t.Errorf("step %+v, want kill only", s)
		}
	}
	if got := nemesisSchedule(7, ids, all, 3*time.Second, 4*time.Second); len(got) != 0 {
		t.Errorf("a duration shorter than the interval gave %s", scheduleText(got))
	}
	if got := (nemesisStep{fault: profile.NemesisOneWay, node: 1, peer: 2}).String(); got != "one-way 1→2" {
		t.Errorf("String() = %q", got)
	}
}
