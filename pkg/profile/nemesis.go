package profile

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// The faults the nemesis scenario picks from (faults.nemesis).
const (
	NemesisPartition = "partition" // cut one node off from its peers, both ways
	NemesisOneWay    = "one-way"   // cut one node's links to one peer, one way
	NemesisSlow      = "slow"      // delay every link of one node
	NemesisPause     = "pause"     // SIGSTOP one node, then SIGCONT
	NemesisKill      = "kill"      // SIGKILL one node, then start it
	NemesisRestart   = "restart"   // stop one node gracefully and start it at once
)

// NemesisFaults are the faults faults.nemesis may list, in the order the
// README describes them.
var NemesisFaults = []string{NemesisPartition, NemesisOneWay, NemesisSlow, NemesisPause, NemesisKill, NemesisRestart}

// The network cut modes (faults.cut_mode).
const (
	CutReset = "reset"
	CutDrop  = "drop"
)

// MinNemesisInterval bounds faults.interval: a fault and its heal need a
// few metadata answers to show.
const MinNemesisInterval = 500 * time.Millisecond

// validateNemesis checks faults.cut_mode and the nemesis's keys.
func (p *Profile) validateNemesis(v *validator) {
	f := p.Faults
	if f.CutMode != CutReset && f.CutMode != CutDrop {
		v.add("faults.cut_mode", "must be reset (close connections, refuse new ones) or drop (hold them open, pass nothing), not %q", f.CutMode)
	}
	switch {
	case f.Duration.Duration <= 0:
		v.add("faults.duration", "must be more than 0, not %s", f.Duration)
	case f.Interval.Duration > 0 && f.Duration.Duration < f.Interval.Duration:
		v.add("faults.duration", "must be at least faults.interval (%s), or the nemesis strikes no fault, not %s", f.Interval, f.Duration)
	case slices.Contains(p.Scenarios, "nemesis") && p.Timeouts.Scenario.Duration > 0 && f.Duration.Duration >= p.Timeouts.Scenario.Duration:
		v.add("faults.duration", "the nemesis strikes for %s, which leaves no time of timeouts.scenario (%s) to heal, settle and read back: raise timeouts.scenario", f.Duration, p.Timeouts.Scenario)
	}
	if f.Interval.Duration < MinNemesisInterval {
		v.add("faults.interval", "must be at least %s (each fault is held for half of it, then healed), not %s", MinNemesisInterval, f.Interval)
	}
	if len(f.Nemesis) == 0 {
		v.add("faults.nemesis", "must list at least one of %s", strings.Join(NemesisFaults, ", "))
	}
	for i, n := range f.Nemesis {
		if !slices.Contains(NemesisFaults, n) {
			v.add(fmt.Sprintf("faults.nemesis[%d]", i), "%q is not one of %s", n, strings.Join(NemesisFaults, ", "))
		} else if slices.Index(f.Nemesis, n) < i {
			v.add(fmt.Sprintf("faults.nemesis[%d]", i), "%q is listed twice", n)
		}
	}
}
