package report

import "time"

// Node is one broker process the runner started (spawn mode).
type Node struct {
	ID      int            `json:"id"`
	PID     int            `json:"pid"`
	Addr    string         `json:"addr"` // the host:port clients bootstrap from
	Ports   map[string]int `json:"ports"`
	LogFile string         `json:"log_file"`
	// Exit is how the process ended when it ended before the runner stopped it, e.g. "exit status 101".
	Exit string `json:"exit,omitempty"`
	// LogCounts counts the log lines matching each of the profile's logs.count patterns.
	LogCounts map[string]int64 `json:"log_counts,omitempty"`
}

// NodeFailure is a node that exited while the run needed it: it fails the run.
type NodeFailure struct {
	Node  int       `json:"node"`
	PID   int       `json:"pid"`
	Time  time.Time `json:"time"`
	Error string    `json:"error"` // e.g. "node 2 (pid 4242) exited with exit status 101 during scenario produce"
	// LogTail is the last lines of the node's log, oldest first.
	LogTail []string `json:"log_tail"`
}

// LogFinding is a node log line that matched one of the profile's logs.fail_on patterns.
type LogFinding struct {
	Node    int       `json:"node"`
	Time    time.Time `json:"time"`
	Line    string    `json:"line"`
	Pattern string    `json:"pattern"`
	// InGrace marks a line within logs.grace of the node's start: reported, but it does not fail the run.
	InGrace bool `json:"in_grace,omitempty"`
}

// Fails reports whether the cluster's own observations fail the run: a
// node that exited, or a log line matching logs.fail_on after the grace.
func (c *Cluster) Fails() bool {
	if len(c.NodeFailures) > 0 || c.LogFindingsDropped > 0 {
		return true
	}
	for _, f := range c.LogFindings {
		if !f.InGrace {
			return true
		}
	}
	return false
}
