package profile

import (
	"fmt"
	"math"

	"github.com/chronik-e2e/chronik-e2e/pkg/gate"
)

// Baseline says how a run is compared with an earlier run's JSON report
// (--baseline FILE): which metrics, and how much worse each may be.
type Baseline struct {
	// TolerancePct is how much worse than the baseline, in percent, a
	// compared metric may be before the run fails (exit 4).
	TolerancePct float64 `yaml:"tolerance_pct"`
	// Metrics are the metrics compared; empty: produce.msgs_per_s,
	// produce.p50_ms, produce.p99_ms and consume.msgs_per_s.
	Metrics []string `yaml:"metrics"`
}

// DefaultBaseline returns the baseline settings a profile has unless it says otherwise.
func DefaultBaseline() Baseline { return Baseline{TolerancePct: gate.DefaultTolerancePct} }

// validateGate checks the thresholds and the baseline settings: a bad
// expression or an unknown metric is a problem with its line.
func (p *Profile) validateGate(v *validator) {
	for i, expr := range p.Thresholds {
		if _, err := gate.ParseThreshold(expr); err != nil {
			v.add(fmt.Sprintf("thresholds[%d]", i), "%v", err)
		}
	}
	b := p.Baseline
	if tol := b.TolerancePct; tol < 0 || math.IsNaN(tol) || math.IsInf(tol, 0) {
		v.add("baseline.tolerance_pct", "must be a percentage of 0 or more, not %v", tol)
	}
	seen := map[string]bool{}
	for i, name := range b.Metrics {
		key := fmt.Sprintf("baseline.metrics[%d]", i)
		m, err := gate.LookupMetric(name)
		switch {
		case err != nil:
			v.add(key, "%v", err)
		case m.Better == gate.Neither:
			v.add(key, "%s is a count, not a throughput, latency or duration: a baseline compares only metrics that are better higher or lower (a threshold can check it)", name)
		case seen[name]:
			v.add(key, "%q is listed twice", name)
		}
		seen[name] = true
	}
}

// GatePlan returns the profile's thresholds and baseline settings as a gate
// plan, without a baseline run (the caller reads --baseline). Call it on a
// validated profile.
func (p *Profile) GatePlan() (*gate.Plan, error) {
	plan := &gate.Plan{TolerancePct: p.Baseline.TolerancePct, Metrics: p.Baseline.Metrics}
	for _, expr := range p.Thresholds {
		t, err := gate.ParseThreshold(expr)
		if err != nil {
			return nil, err
		}
		plan.Thresholds = append(plan.Thresholds, t)
	}
	return plan, nil
}
