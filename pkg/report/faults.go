package report

import (
	"fmt"
	"sort"
	"sync"
)

// Faults is what the fault scenarios did to the cluster and what they saw,
// on the run's time axis (seconds since the run started).
type Faults struct {
	// Target is faults.target; Seed seeds every random choice (replay a run
	// with --fault-seed).
	Target string `json:"target"`
	Seed   int64  `json:"seed"`
	// Limits says what this cluster mode cannot simulate, when it matters.
	Limits string `json:"limits,omitempty"`
	// Timeline lists faults injected and symptoms observed, in time order.
	Timeline []Event `json:"timeline"`
	// Windows are the partitions' unavailability windows around each fault.
	Windows []Window `json:"windows"`
	// Runs are the delivery counts of each producer mode through its faults.
	Runs []FaultRun `json:"runs"`
	// Guarantees is what each producer mode allows through one node failure.
	Guarantees []Guarantee `json:"guarantees"`
	// ISR is, per node taken down, when metadata dropped it from the
	// in-sync replicas and listed it again, and whether that was honest.
	ISR []NodeISR `json:"isr,omitempty"`

	mu sync.Mutex
}

// Kinds of timeline events.
const (
	EventFault      = "fault"           // a node was killed, stopped, paused or started
	EventFirstError = "first-error"     // a partition's first produce error after a fault
	EventNoLeader   = "no-leader"       // metadata showed a partition without a leader
	EventNewLeader  = "new-leader"      // metadata showed a partition's new leader
	EventFirstAck   = "first-ack-after" // a partition's first acknowledgement after it was unavailable
	EventNodeGone   = "node-gone"       // metadata stopped listing a node
	EventNodeListed = "node-listed"     // metadata listed a node again
	EventISR        = "isr-restored"    // every partition had its full in-sync replica set again
	EventGroup      = "group"           // a consumer joined or left the group
	EventRebalance  = "rebalance"       // the group's partitions were all assigned again
	EventOrphans    = "orphans"         // records an isolated leader was sent, acknowledged or refused
)

// Event is one fault injected or one symptom observed.
type Event struct {
	AtS       float64 `json:"at_s"` // seconds since the run started
	Scenario  string  `json:"scenario"`
	Kind      string  `json:"kind"`
	Node      int32   `json:"node"`      // -1: no node
	Partition int32   `json:"partition"` // -1: no partition
	Detail    string  `json:"detail"`
	// Links are the links a network fault cut, slowed or shook ("1→2 raft").
	Links []string `json:"links,omitempty"`
}

// Window is one partition's unavailability around a fault: from its last
// acknowledgement before to its first after.
type Window struct {
	Scenario  string  `json:"scenario"`
	Fault     string  `json:"fault"` // e.g. "kill node 0"
	Topic     string  `json:"topic"`
	Partition int32   `json:"partition"`
	FromS     float64 `json:"from_s"` // last ack before, on the run's time axis
	ToS       float64 `json:"to_s"`   // first ack after; the scenario's end when Open
	DurationS float64 `json:"duration_s"`
	// Open is set when no acknowledgement came after the fault before the
	// scenario stopped producing.
	Open         bool  `json:"open,omitempty"`
	LeaderBefore int32 `json:"leader_before"`
	LeaderAfter  int32 `json:"leader_after"` // -1: none
	// NewLeaderAfterS is the time from the fault until metadata showed a
	// leader on another node; -1 when it never did or the leader stayed.
	NewLeaderAfterS float64 `json:"new_leader_after_s"`
	LeaderChanges   int     `json:"leader_changes"`
	// Errors counts the produce errors of the window, by error.
	Errors map[string]int64 `json:"errors,omitempty"`
}

// FaultRun is the delivery of one producer mode through a scenario's faults.
type FaultRun struct {
	Scenario          string `json:"scenario"`
	Mode              string `json:"mode"` // e.g. "acks=all idempotent"
	Topic             string `json:"topic"`
	Acks              string `json:"acks"`
	Idempotent        bool   `json:"idempotent"`
	Retries           int    `json:"retries"`
	ReplicationFactor int    `json:"replication_factor"`
	Faults            string `json:"faults"` // what happened during the run, e.g. "kill node 0"
	Counts
	// LossAllowed and DuplicatesAllowed are what the guarantee table allows this mode.
	LossAllowed       bool `json:"loss_allowed"`
	DuplicatesAllowed bool `json:"duplicates_allowed"`
	Passed            bool `json:"passed"`
	// Audit is what the read-back's final audit found.
	Audit *Audit `json:"audit,omitempty"`
}

// Guarantee is what one producer mode allows through a single node failure.
type Guarantee struct {
	Acks              string `json:"acks"`
	Idempotent        bool   `json:"idempotent"`
	ReplicationFactor string `json:"replication_factor"` // "1" or ">=2"
	Loss              string `json:"loss"`               // "never" or "allowed"
	Duplicates        string `json:"duplicates"`         // "never" or "allowed"
	Why               string `json:"why"`
}

// AddEvent records an event; safe for concurrent use.
func (f *Faults) AddEvent(e Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Timeline = append(f.Timeline, e)
	sort.SliceStable(f.Timeline, func(i, j int) bool { return f.Timeline[i].AtS < f.Timeline[j].AtS })
}

// AddWindow records an unavailability window; safe for concurrent use.
func (f *Faults) AddWindow(w Window) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Windows = append(f.Windows, w)
}

// AddRun records a producer mode's delivery; safe for concurrent use.
func (f *Faults) AddRun(r FaultRun) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Runs = append(f.Runs, r)
}

// maxTextTimeline bounds the events per scenario the Markdown and JUnit
// reports list; the JSON report has every one.
const maxTextTimeline = 60

// TimelineText returns scenario's events as plain lines, "  12.345  fault
// node 1: partition node 1 …", at most maxTextTimeline of them and a line
// saying how many more the JSON report has.
func (f *Faults) TimelineText(scenario string) []string {
	if f == nil {
		return nil
	}
	var out []string
	more := 0
	for _, e := range f.Timeline {
		if e.Scenario != scenario {
			continue
		}
		if len(out) == maxTextTimeline {
			more++
			continue
		}
		out = append(out, fmt.Sprintf("%8.3f  %s%s: %s", e.AtS, e.Kind, e.subject(), e.Detail))
	}
	if more > 0 {
		out = append(out, fmt.Sprintf("… and %d more events in the JSON report", more))
	}
	return out
}

// subject names what an event is about: " p2 (node 1)", " p2", " node 1" or "".
func (e Event) subject() string {
	switch {
	case e.Partition >= 0 && e.Node >= 0:
		return fmt.Sprintf(" p%d (node %d)", e.Partition, e.Node)
	case e.Partition >= 0:
		return fmt.Sprintf(" p%d", e.Partition)
	case e.Node >= 0:
		return fmt.Sprintf(" node %d", e.Node)
	}
	return ""
}
