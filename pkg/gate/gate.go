package gate

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/chronik-e2e/chronik-e2e/pkg/report"
)

// DefaultTolerancePct is how much worse than the baseline a compared metric
// may be when the profile does not say (baseline.tolerance_pct).
const DefaultTolerancePct = 10

// Plan is what the gate checks: the profile's thresholds and, with a
// baseline, the comparison settings.
type Plan struct {
	Thresholds []Threshold
	// Baseline is the run to compare with; nil for none.
	Baseline *Source
	// TolerancePct is how much worse than the baseline a metric may be.
	TolerancePct float64
	// Metrics are the metrics compared with the baseline; empty: the
	// registry's default ones (Metric.Compare).
	Metrics []string
}

// Empty reports whether the plan checks nothing.
func (p *Plan) Empty() bool { return p == nil || len(p.Thresholds) == 0 && p.Baseline == nil }

// Source is a run's metric values as a comparison reads them: a single
// run's values, or the medians of a repeat's runs.
type Source struct {
	File      string
	Profile   string
	RunID     string // a single run's id; for a repeat, "N runs"
	StartedAt time.Time
	Config    report.Config
	Mode      string // cluster mode
	Values    map[string]float64
}

// FromRun returns the values of a single run.
func FromRun(file string, r *report.Report) *Source {
	return &Source{File: file, Profile: r.Profile, RunID: r.RunID, StartedAt: r.StartedAt,
		Config: r.Config, Mode: r.Cluster.Mode, Values: Values(r)}
}

// FromRepeat returns the medians of a repeat's runs.
func FromRepeat(file string, r *report.Repeat) *Source {
	s := &Source{File: file, Profile: r.Profile, RunID: fmt.Sprintf("median of %d runs", len(r.Runs)),
		StartedAt: r.StartedAt, Values: map[string]float64{}}
	if len(r.Runs) > 0 {
		s.Config, s.Mode = r.Runs[0].Config, r.Runs[0].Cluster.Mode
	}
	for _, sp := range r.Spread {
		s.Values[sp.Metric] = sp.Median
	}
	return s
}

// FromStored returns the values of a report read back with report.ReadJSON.
func FromStored(file string, st report.Stored) *Source {
	if st.Repeat != nil {
		return FromRepeat(file, st.Repeat)
	}
	return FromRun(file, st.Run)
}

// Judge checks r against the plan, records the verdict in r.Gate and folds
// it into r.Passed. A plan that checks nothing leaves r alone.
func (p *Plan) Judge(r *report.Report) {
	if p.Empty() {
		return
	}
	g := &report.Gate{Passed: true, ChecksPassed: r.Passed, Thresholds: []report.Threshold{}}
	for _, t := range p.Thresholds {
		res := t.Check(r)
		g.Passed = g.Passed && res.Passed
		g.Thresholds = append(g.Thresholds, res)
	}
	if p.Baseline != nil {
		g.Baseline = Compare(p.Baseline, FromRun("", r), p.TolerancePct, p.Metrics)
		g.Passed = g.Passed && g.Baseline.Passed
	}
	r.Gate = g
	r.Passed = r.Passed && g.Passed
	r.UpdateVerdict()
}

// JudgeRepeat judges a repeat: every run against the thresholds (each run's
// own gate), the medians of the runs against the baseline, and the verdicts
// of each scenario across the runs. It fills rep's Scenarios, Spread,
// Baseline and Passed; the runs must already be in rep.Runs.
func (p *Plan) JudgeRepeat(rep *report.Repeat) {
	if p == nil {
		p = &Plan{}
	}
	runPlan := &Plan{Thresholds: p.Thresholds}
	for _, r := range rep.Runs {
		if r.Gate == nil {
			runPlan.Judge(r)
		}
	}
	rep.Scenarios = Scenarios(rep.Runs)
	rep.Spread = Spread(rep.Runs)
	rep.Passed = !rep.Interrupted && len(rep.Runs) == rep.Requested && len(rep.Runs) > 0
	for _, r := range rep.Runs {
		rep.Passed = rep.Passed && r.Passed
	}
	for _, s := range rep.Scenarios {
		rep.Passed = rep.Passed && !s.Flaky && s.Passed == s.Runs
	}
	if p.Baseline != nil && len(rep.Runs) > 0 {
		rep.Baseline = Compare(p.Baseline, FromRepeat("", rep), p.TolerancePct, p.Metrics)
		rep.Passed = rep.Passed && rep.Baseline.Passed
	}
}

// Compare compares cur with base: every compared metric both measured, each
// failing when it is worse than the baseline by more than tolerancePct.
// metrics names the metrics to compare; empty means the default ones.
func Compare(base, cur *Source, tolerancePct float64, metrics []string) *report.Comparison {
	c := &report.Comparison{
		File: base.File, Profile: base.Profile, RunID: base.RunID, StartedAt: base.StartedAt,
		TolerancePct: tolerancePct, Passed: true, Metrics: []report.Delta{},
	}
	for _, m := range compared(metrics) {
		b, inBase := base.Values[m.Name]
		v, inCur := cur.Values[m.Name]
		switch {
		case inBase && inCur:
		case inBase:
			c.Notes = append(c.Notes, fmt.Sprintf("%s: not measured by this run (baseline %s)", m.Name, report.FormatValue(b, m.Unit)))
			continue
		case inCur:
			c.Notes = append(c.Notes, fmt.Sprintf("%s: not in the baseline", m.Name))
			continue
		default:
			continue
		}
		d := report.Delta{Metric: m.Name, Scenario: m.Scenario, Unit: m.Unit, Better: m.Better.String(), Baseline: b, Value: v}
		if b != 0 {
			pct := (v - b) / math.Abs(b) * 100
			d.DeltaPct = &pct
		}
		d.Regressed = regressed(m.Better, b, v, tolerancePct)
		c.Passed = c.Passed && !d.Regressed
		c.Metrics = append(c.Metrics, d)
	}
	c.Notes = append(configNotes(base, cur), c.Notes...)
	return c
}

// compared returns the metrics to compare: those named, or the default ones.
func compared(names []string) []Metric {
	var out []Metric
	for _, m := range metrics {
		if m.Better == Neither {
			continue
		}
		if len(names) == 0 && m.Compare || slices.Contains(names, m.Name) {
			out = append(out, m)
		}
	}
	return out
}

// regressed reports whether v is worse than base by more than tolerancePct.
func regressed(better Better, base, v, tolerancePct float64) bool {
	slack := math.Abs(base) * tolerancePct / 100
	switch better {
	case Higher:
		return v < base-slack
	case Lower:
		return v > base+slack
	}
	return false
}

// configNotes says how the two runs' configurations differ: numbers from
// different workloads compare poorly.
func configNotes(base, cur *Source) []string {
	if base.Config == (report.Config{}) || cur.Config == (report.Config{}) {
		return nil
	}
	a, b := base.Config, cur.Config
	var diffs []string
	add := func(what string, x, y any) {
		if x != y {
			diffs = append(diffs, fmt.Sprintf("%s %v → %v", what, x, y))
		}
	}
	add("cluster", base.Mode, cur.Mode)
	add("nodes", a.Nodes, b.Nodes)
	add("partitions", a.Partitions, b.Partitions)
	add("replication factor", a.ReplicationFactor, b.ReplicationFactor)
	add("messages", a.Messages, b.Messages)
	add("keys", a.Keys, b.Keys)
	add("value bytes", a.ValueBytes, b.ValueBytes)
	add("acks", a.Acks, b.Acks)
	if len(diffs) == 0 {
		return nil
	}
	msg := "the baseline ran another configuration: "
	for i, d := range diffs {
		if i > 0 {
			msg += ", "
		}
		msg += d
	}
	return []string{msg}
}

// Scenarios returns each scenario's verdicts across runs, in the order the
// scenarios first ran. A skipped scenario counts as failed; one not
// applicable to the cluster neither passes nor fails, and is left out.
func Scenarios(runs []*report.Report) []report.RepeatScenario {
	var out []report.RepeatScenario
	index := map[string]int{}
	for _, r := range runs {
		for _, s := range r.Scenarios {
			if s.NotApplicable {
				continue
			}
			i, ok := index[s.Name]
			if !ok {
				i = len(out)
				index[s.Name] = i
				out = append(out, report.RepeatScenario{Name: s.Name})
			}
			out[i].Runs++
			if s.Passed && !s.Skipped {
				out[i].Passed++
			}
		}
	}
	for i := range out {
		out[i].Flaky = out[i].Passed > 0 && out[i].Passed < out[i].Runs
	}
	return out
}

// Spread returns the min, median and max of every metric over the runs
// that measured it, in the registry's order.
func Spread(runs []*report.Report) []report.Spread {
	out := []report.Spread{}
	for _, m := range metrics {
		var vs []float64
		for _, r := range runs {
			if v, ok := m.Get(r); ok {
				vs = append(vs, v)
			}
		}
		if len(vs) == 0 {
			continue
		}
		sort.Float64s(vs)
		out = append(out, report.Spread{Metric: m.Name, Unit: m.Unit, Runs: len(vs),
			Min: vs[0], Median: median(vs), Max: vs[len(vs)-1]})
	}
	return out
}

// median of sorted values: the middle one, or the mean of the two middle ones.
func median(sorted []float64) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}
