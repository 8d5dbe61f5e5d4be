package profile

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestThresholdsAndBaseline(t *testing.T) {
	p := mustParse(t, "gate.yaml", `thresholds:
  - delivery.lost == 0
  - "produce.p99_ms < 50"
baseline:
  tolerance_pct: 2.5
  metrics: [produce.p99_ms, consume.msgs_per_s]
`)
	if err := p.Validate(known); err != nil {
		t.Fatal(err)
	}
	if want := []string{"delivery.lost == 0", "produce.p99_ms < 50"}; !reflect.DeepEqual(p.Thresholds, want) {
		t.Errorf("thresholds = %q", p.Thresholds)
	}
	plan, err := p.GatePlan()
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Thresholds) != 2 || plan.Thresholds[1].Metric.Name != "produce.p99_ms" || plan.Thresholds[1].Limit != 50 ||
		plan.TolerancePct != 2.5 || !reflect.DeepEqual(plan.Metrics, []string{"produce.p99_ms", "consume.msgs_per_s"}) || plan.Baseline != nil {
		t.Errorf("plan = %+v", plan)
	}

	// Left out: no thresholds, a tolerance of 10 %, the default metrics.
	p = mustParse(t, "plain.yaml", "name: plain\n")
	if plan, err := p.GatePlan(); err != nil || !plan.Empty() || plan.TolerancePct != 10 || len(plan.Metrics) != 0 {
		t.Errorf("default plan = %+v, %v", plan, err)
	}
}

func TestThresholdProblems(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []Problem
	}{
		{"bad expressions", "thresholds:\n  - delivery.lost == 0\n  - produce.p99 < 50\n  - produce.p99_ms =< 5\n", []Problem{
			{Key: "thresholds[1]", Line: 3, Msg: `"produce.p99 < 50": unknown metric "produce.p99" (did you mean produce.p99_ms or produce.p999_ms?); ` + "`chronik-e2e metrics` lists them all"},
			{Key: "thresholds[2]", Line: 4, Msg: `"produce.p99_ms =< 5": "=<" is not a comparison: write METRIC OP NUMBER, e.g. produce.p99_ms < 50, with OP one of <, <=, >, >=, ==, !=`},
		}},
		{"not a list", "thresholds: delivery.lost == 0\n", []Problem{
			{Key: "thresholds", Line: 1, Msg: `must be a list like [a, b], not "delivery.lost == 0"`},
		}},
		{"tolerance", "baseline:\n  tolerance_pct: -1\n", []Problem{
			{Key: "baseline.tolerance_pct", Line: 2, Msg: "must be a percentage of 0 or more, not -1"},
		}},
		{"tolerance type", "baseline:\n  tolerance_pct: ten\n", []Problem{
			{Key: "baseline.tolerance_pct", Line: 2, Msg: `must be a number, not "ten"`},
		}},
		{"baseline metrics", "baseline:\n  metrics:\n    - produce.p99_ms\n    - delivery.lost\n    - p50\n", []Problem{
			{Key: "baseline.metrics[1]", Line: 4, Msg: "delivery.lost is a count, not a throughput, latency or duration: a baseline compares only metrics that are better higher or lower (a threshold can check it)"},
			{Key: "baseline.metrics[2]", Line: 5, Msg: `unknown metric "p50" (did you mean produce.p50_ms?); ` + "`chronik-e2e metrics` lists them all"},
		}},
		{"unknown key", "baseline:\n  tolerance: 5\n", []Problem{
			{Line: 2, Msg: `unknown key "tolerance" in baseline (known: tolerance_pct, metrics)`},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Parse returns the profile as far as it decodes; Validate
			// reports its decode problems with every other one.
			p, err := Parse("gate.yaml", []byte(tt.yaml))
			if p != nil {
				err = p.Validate(known)
			}
			got := problemsOf(t, err)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("problems:\n%s\nwant:\n%s", fmtProblems(got), fmtProblems(tt.want))
			}
		})
	}
}

func fmtProblems(ps []Problem) string {
	var b strings.Builder
	for _, p := range ps {
		fmt.Fprintf(&b, "  %s line %d: %s\n", p.Key, p.Line, p.Msg)
	}
	return b.String()
}
