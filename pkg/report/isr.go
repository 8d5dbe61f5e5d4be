package report

import (
	"fmt"

	"github.com/charmbracelet/lipgloss"
)

// Verdicts of the ISR honesty check, per node and fault.
const (
	// ISRShrank: metadata dropped the node from every in-sync replica set
	// within faults.isr_timeout.
	ISRShrank = "shrank"
	// ISROverReported: the node was still listed in sync faults.isr_timeout
	// after it went down: metadata over-reports replication.
	ISROverReported = "over-reported"
	// ISRNotJudged: the node came back before faults.isr_timeout had passed
	// and metadata had not dropped it yet, which a cluster may do.
	ISRNotJudged = "not-judged"
	// ISRNotApplicable: this cluster's metadata cannot show it (see Detail).
	ISRNotApplicable = "not-applicable"
)

// Kinds of timeline events about in-sync replica sets.
const (
	EventISRShrunk = "isr-shrunk" // a partition's ISR dropped a node that was down
	EventISRGrew   = "isr-grew"   // a partition's ISR listed that node again
)

// NodeISR is what metadata showed of one node's in-sync replica
// membership through one fault (kill, stop or pause) and its return. Times
// are on the run's time axis (seconds since the run started); -1: never.
type NodeISR struct {
	Scenario string `json:"scenario"`
	Topic    string `json:"topic"`
	Node     int32  `json:"node"`
	// Fault is what took the node down, e.g. "kill node 2".
	Fault    string  `json:"fault"`
	FaultAtS float64 `json:"fault_at_s"`
	// Verdict is shrank, over-reported, not-judged or not-applicable.
	Verdict string `json:"verdict"`
	// ShrunkAtS is when metadata first listed the node in no partition's
	// in-sync replicas; ShrinkS is how long after the fault that was.
	ShrunkAtS float64 `json:"shrunk_at_s"`
	ShrinkS   float64 `json:"shrink_s"`
	// StartedAtS is when the node was started (or resumed) again.
	StartedAtS float64 `json:"started_at_s"`
	// RestoredAtS is when metadata listed the node in sync again for every
	// partition it is a replica of; RestoreS is how long after its start.
	RestoredAtS float64 `json:"restored_at_s"`
	RestoreS    float64 `json:"restore_s"`
	// StillInISR are the partitions whose in-sync replicas still listed the
	// node when it was judged (over-reported).
	StillInISR []int32 `json:"still_in_isr,omitempty"`
	// Partitions are each partition's shrink and restore times.
	Partitions []PartitionISR `json:"partitions,omitempty"`
	// Detail says why, in words.
	Detail string `json:"detail"`
}

// PartitionISR is when one partition's in-sync replicas dropped a node and
// listed it again; -1: never seen.
type PartitionISR struct {
	Partition   int32   `json:"partition"`
	ShrunkAtS   float64 `json:"shrunk_at_s"`
	RestoredAtS float64 `json:"restored_at_s"`
}

// AddISR records one node's ISR history through a fault; safe for concurrent use.
func (f *Faults) AddISR(n NodeISR) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ISR = append(f.ISR, n)
}

// isr writes one row per node and fault: how long metadata took to drop
// the node from the in-sync replicas and to list it again.
func (p *printer) isr(rows []NodeISR) {
	if len(rows) == 0 {
		return
	}
	p.section("In-sync replicas (does metadata tell the truth about a node that is down?)")
	p.line(p.st.label.Render(fmt.Sprintf("  %-16s %-14s %9s %9s  %s", "scenario", "fault", "shrank", "restored", "verdict")))
	said := map[string]bool{} // details printed already: a reason shared by every row is said once
	for _, r := range rows {
		st := lipgloss.Style{}
		switch r.Verdict {
		case ISRShrank:
			st = p.st.pass
		case ISROverReported:
			st = p.st.fail
		default:
			st = p.st.skip
		}
		row := fmt.Sprintf("  %-16s %-14s %9s %9s  ", trunc(r.Scenario, 16), trunc(r.Fault, 14), secondsOrDash(r.ShrinkS), secondsOrDash(r.RestoreS))
		p.line(row, st.Render(r.Verdict))
		if r.Verdict != ISRShrank && r.Detail != "" && !said[r.Detail] {
			said[r.Detail] = true
			p.wrapped("      ", "", r.Detail, p.st.faint)
		}
	}
}

func secondsOrDash(s float64) string {
	if s < 0 {
		return "-"
	}
	return seconds(s)
}
