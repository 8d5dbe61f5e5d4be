package report

import "time"

// Gate is the performance verdict of a run: the profile's thresholds and the
// comparison with a baseline run. A run whose checks all passed but whose
// gate did not fails with exit status 4.
type Gate struct {
	// Passed is set when every threshold held and no compared metric
	// regressed beyond the tolerance.
	Passed bool `json:"passed"`
	// ChecksPassed is the run's verdict without the gate: every
	// correctness check passed. The report's passed is both.
	ChecksPassed bool        `json:"checks_passed"`
	Thresholds   []Threshold `json:"thresholds"`
	// Baseline is the comparison with the --baseline report; nil without one.
	Baseline *Comparison `json:"baseline,omitempty"`
}

// Threshold is one threshold expression of the profile and what it found.
type Threshold struct {
	Expr   string `json:"expr"`   // as written in the profile: "produce.p99_ms < 50"
	Metric string `json:"metric"` // the metric it reads: "produce.p99_ms"
	Unit   string `json:"unit,omitempty"`
	Passed bool   `json:"passed"`
	// Value is the measured value; nil when the run did not measure the
	// metric, which fails the threshold.
	Value *float64 `json:"value"`
	// Reason says why a threshold without a value failed.
	Reason string `json:"reason,omitempty"`
}

// Comparison is a run's throughput and latency compared with a baseline run.
type Comparison struct {
	// File is the baseline report the run was compared with.
	File string `json:"file"`
	// Profile, RunID and StartedAt identify the baseline run.
	Profile   string    `json:"profile"`
	RunID     string    `json:"run_id"`
	StartedAt time.Time `json:"started_at"`
	// TolerancePct is how much worse than the baseline a metric may be.
	TolerancePct float64 `json:"tolerance_pct"`
	// Passed is set when no metric regressed beyond the tolerance.
	Passed  bool    `json:"passed"`
	Metrics []Delta `json:"metrics"`
	// Notes say what makes the comparison less telling: a different
	// configuration, metrics only one of the runs measured.
	Notes []string `json:"notes,omitempty"`
}

// Delta is one metric of a comparison.
type Delta struct {
	Metric   string `json:"metric"`   // "produce.p99_ms"
	Scenario string `json:"scenario"` // the scenario that measures it
	Unit     string `json:"unit,omitempty"`
	// Better is "higher" or "lower": the direction in which the metric improves.
	Better   string  `json:"better"`
	Baseline float64 `json:"baseline"`
	Value    float64 `json:"value"`
	// DeltaPct is (value - baseline) / baseline in percent; nil when the baseline is 0.
	DeltaPct *float64 `json:"delta_pct"`
	// Regressed is set when the value is worse than the baseline by more than the tolerance.
	Regressed bool `json:"regressed"`
}

// Bucket is one bar of a latency histogram: the count of observations above
// the previous bucket's LeMs (0 for the first bucket) and at most LeMs.
type Bucket struct {
	LeMs  float64 `json:"le_ms"`
	Count int64   `json:"count"`
}

// ChecksPassed reports whether the run's correctness checks passed: its
// verdict (Finish) before the gate was folded in. Thresholds and the
// baseline comparison are not checks: see Gate.
func (r *Report) ChecksPassed() bool {
	if r.Gate != nil {
		return r.Gate.ChecksPassed
	}
	return r.Passed
}

// GateFailed reports whether the run failed only on its gate: every check
// passed, but a threshold or the baseline comparison did not (exit status 4).
func (r *Report) GateFailed() bool {
	return r.ChecksPassed() && r.Gate != nil && !r.Gate.Passed
}
