package scenarios

// The nemesis's schedule: a pure function of the seed, the node ids and the
// faults it may strike with, so that the same seed replays the same
// schedule on the same cluster, whatever the cluster did meanwhile.

import (
	"fmt"
	"hash/fnv"
	mrand "math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/chronik-e2e/chronik-e2e/pkg/profile"
)

// Bounds of the delay a slow link adds (its jitter is a quarter of it).
const (
	minSlowLatency   = 50 * time.Millisecond
	slowLatencyStep  = 25 * time.Millisecond
	slowLatencySteps = 10 // up to 275 ms
)

// nemesisStep is one fault of the schedule.
type nemesisStep struct {
	at    time.Duration // since the nemesis started
	fault string        // one of profile.NemesisFaults
	node  int32
	peer  int32 // one-way: the peer node no longer hears from; -1 otherwise
	// bridge: a partition that splits the other nodes in two halves that
	// hear each other only through node, rather than cut node off.
	bridge bool
	// latency and jitter of a slow node's links.
	latency, jitter time.Duration
}

// String names the step as the timeline and the windows do: "partition
// node 1", "bridge node 1", "one-way 1→2", "slow node 0".
func (s nemesisStep) String() string {
	switch {
	case s.fault == profile.NemesisOneWay:
		return fmt.Sprintf("one-way %d→%d", s.node, s.peer)
	case s.bridge:
		return fmt.Sprintf("bridge node %d", s.node)
	}
	return fmt.Sprintf("%s node %d", s.fault, s.node)
}

// nemesisSchedule returns the faults the nemesis strikes with: one every
// interval for duration, each picked with its node from seed. Node ids are
// taken in sorted order, so that their order does not matter.
func nemesisSchedule(seed int64, ids []int32, faults []string, duration, interval time.Duration) []nemesisStep {
	if len(ids) == 0 || len(faults) == 0 || interval <= 0 {
		return nil
	}
	ids = slices.Clone(ids)
	slices.Sort(ids)
	h := fnv.New64a()
	h.Write([]byte("nemesis"))
	rng := mrand.New(mrand.NewPCG(uint64(seed), h.Sum64()))
	var out []nemesisStep
	for at := time.Duration(0); at+interval <= duration; at += interval {
		s := nemesisStep{at: at, fault: faults[rng.IntN(len(faults))], node: ids[rng.IntN(len(ids))], peer: -1}
		switch s.fault {
		case profile.NemesisPartition:
			s.bridge = len(ids) >= 3 && rng.IntN(2) == 1
		case profile.NemesisOneWay:
			if peers := others(ids, s.node); len(peers) > 0 {
				s.peer = peers[rng.IntN(len(peers))]
			}
		case profile.NemesisSlow:
			s.latency = minSlowLatency + time.Duration(rng.IntN(slowLatencySteps))*slowLatencyStep
			s.jitter = s.latency / 4
		}
		out = append(out, s)
	}
	return out
}

// scheduleText renders a schedule for the report: "0s partition node 1; 4s kill node 2".
func scheduleText(steps []nemesisStep) string {
	parts := make([]string, len(steps))
	for i, s := range steps {
		parts[i] = fmt.Sprintf("%s %s", s.at, s)
	}
	return strings.Join(parts, "; ")
}
