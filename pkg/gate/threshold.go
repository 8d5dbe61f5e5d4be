package gate

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/chronik-e2e/chronik-e2e/pkg/report"
)

// Threshold is a parsed threshold expression: METRIC OP NUMBER, for example
// "produce.p99_ms < 50" (k6's thresholds, over this runner's metrics).
type Threshold struct {
	Expr   string // as written
	Metric Metric
	Op     string // <, <=, >, >=, == or !=
	Limit  float64
}

// operators, longest first so that "<=" is not read as "<".
var operators = []string{"<=", ">=", "==", "!=", "<", ">"}

// ParseThreshold parses a threshold expression. The error says what is wrong
// and what a threshold looks like.
func ParseThreshold(expr string) (Threshold, error) {
	const form = "write METRIC OP NUMBER, e.g. produce.p99_ms < 50, with OP one of <, <=, >, >=, ==, !="
	s := strings.TrimSpace(expr)
	if s == "" {
		return Threshold{}, fmt.Errorf("empty threshold: %s", form)
	}
	i := strings.IndexAny(s, "<>=!")
	if i < 0 {
		return Threshold{}, fmt.Errorf("%q has no comparison: %s", s, form)
	}
	name, rest := strings.TrimSpace(s[:i]), s[i:]
	op := ""
	for _, o := range operators {
		if strings.HasPrefix(rest, o) {
			op = o
			break
		}
	}
	if op == "" {
		return Threshold{}, fmt.Errorf("%q: %q is not a comparison: %s", s, strings.TrimRight(rest[:min(2, len(rest))], " 0123456789"), form)
	}
	if name == "" {
		return Threshold{}, fmt.Errorf("%q names no metric before %s: %s", s, op, form)
	}
	m, err := LookupMetric(name)
	if err != nil {
		return Threshold{}, fmt.Errorf("%q: %w", s, err)
	}
	num := strings.TrimSpace(rest[len(op):])
	limit, err := strconv.ParseFloat(num, 64)
	switch {
	case num == "":
		return Threshold{}, fmt.Errorf("%q has no number after %s: %s", s, op, form)
	case err != nil || math.IsNaN(limit) || math.IsInf(limit, 0):
		return Threshold{}, fmt.Errorf("%q: %q is not a number (%s is in %s; write the number alone)", s, num, m.Name, unitName(m.Unit))
	}
	return Threshold{Expr: s, Metric: m, Op: op, Limit: limit}, nil
}

// unitName names a unit for messages.
func unitName(unit string) string {
	if unit == "" {
		return "plain numbers"
	}
	return unit
}

// holds reports whether v satisfies the threshold.
func (t Threshold) holds(v float64) bool {
	switch t.Op {
	case "<":
		return v < t.Limit
	case "<=":
		return v <= t.Limit
	case ">":
		return v > t.Limit
	case ">=":
		return v >= t.Limit
	case "==":
		return v == t.Limit
	case "!=":
		return v != t.Limit
	}
	return false
}

// Check evaluates the threshold against r. A metric r did not measure fails
// the threshold: a gate never passes on a number it does not have.
func (t Threshold) Check(r *report.Report) report.Threshold {
	res := report.Threshold{Expr: t.Expr, Metric: t.Metric.Name, Unit: t.Metric.Unit}
	v, ok := t.Metric.Get(r)
	if !ok {
		res.Reason = notMeasured(t.Metric)
		return res
	}
	res.Value = &v
	res.Passed = t.holds(v)
	return res
}

// notMeasured says why a run has no value for m.
func notMeasured(m Metric) string {
	if m.Absent != "" {
		return "not measured: " + m.Absent
	}
	if m.Scenario == "" {
		return "not measured"
	}
	return fmt.Sprintf("not measured: the %s scenario did not run or did not finish", m.Scenario)
}
