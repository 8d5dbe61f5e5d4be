package report

import "slices"

// Resources is what the runner sampled of each node's resource use through
// the run: resident memory, CPU and open file descriptors, read from /proc
// for a spawned node, or printed by faults.hooks.stats for an attached one.
type Resources struct {
	// IntervalS is the time between two samples of one node, in seconds.
	IntervalS float64 `json:"interval_s"`
	// Source says where the figures came from: "/proc", or the stats hook's
	// command ("faults.hooks.stats: …"). Empty in reports before it: /proc.
	Source string `json:"source,omitempty"`
	// Missing names the figures the source did not give (rss_mb, cpu_pct,
	// fds): they are not measured, and their gate metrics are absent.
	Missing []string `json:"missing,omitempty"`
	// Unavailable says why nothing was sampled (no /proc on this system, a
	// stats hook that never printed figures); empty when sampled.
	Unavailable string `json:"unavailable,omitempty"`
	// FailedSamples counts the samples a stats hook failed to take, and
	// FirstFailure says why the first one failed.
	FailedSamples int         `json:"failed_samples,omitempty"`
	FirstFailure  string      `json:"first_failure,omitempty"`
	Nodes         []NodeUsage `json:"nodes"`
}

// Figures of a node's resource use, as Missing names them.
const (
	FigureRSS = "rss_mb"
	FigureCPU = "cpu_pct"
	FigureFDs = "fds"
)

// Has reports whether figure was measured.
func (r *Resources) Has(figure string) bool { return r != nil && !slices.Contains(r.Missing, figure) }

// NodeUsage is one node's resource use: peaks, means and the samples.
type NodeUsage struct {
	Node    int `json:"node"`
	Samples int `json:"samples"`
	// PeakRSSMB and MeanRSSMB are its resident memory in MB (10^6 bytes).
	PeakRSSMB float64 `json:"peak_rss_mb"`
	MeanRSSMB float64 `json:"mean_rss_mb"`
	// PeakCPUPct and MeanCPUPct are its CPU time per wall time, in percent of one core.
	PeakCPUPct float64 `json:"peak_cpu_pct"`
	MeanCPUPct float64 `json:"mean_cpu_pct"`
	// PeakFDs and MeanFDs count its open file descriptors.
	PeakFDs int     `json:"peak_fds"`
	MeanFDs float64 `json:"mean_fds"`
	// Series is the samples over time, thinned to a bounded number for a long run.
	Series []UsageSample `json:"series"`
}

// UsageSample is one sample of one node.
type UsageSample struct {
	AtS    float64 `json:"at_s"` // seconds since the node's sampling began
	RSSMB  float64 `json:"rss_mb"`
	CPUPct float64 `json:"cpu_pct"`
	FDs    int     `json:"fds"`
}

// Max returns the largest value of f over the nodes, and false when a node
// (or every node) has no sample.
func (r *Resources) Max(f func(NodeUsage) float64) (float64, bool) {
	if r == nil {
		return 0, false
	}
	best, ok := 0.0, false
	for _, n := range r.Nodes {
		if n.Samples == 0 {
			return 0, false // that node's budget was not checked
		}
		if v := f(n); !ok || v > best {
			best, ok = v, true
		}
	}
	return best, ok
}
