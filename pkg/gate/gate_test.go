package gate

import (
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/chronik-e2e/chronik-e2e/pkg/report"
)

// healthy is the report of a run that produced and consumed 1,000 messages.
func healthy() *report.Report {
	r := report.New("3x3", "run-1", time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	r.Config = report.Config{Nodes: 3, Partitions: 3, ReplicationFactor: 3, Messages: 1000, Keys: 100, ValueBytes: 100, Acks: "all"}
	r.Cluster.Mode = "embedded"
	r.Scenarios = []*report.Scenario{
		{Name: "topic-create", Passed: true, Metrics: map[string]float64{"create_s": 0.01, "all_leaders_s": 0.02}},
		{Name: "produce", Passed: true},
		{Name: "consume", Passed: true},
		{Name: "metadata", Passed: true, Metrics: map[string]float64{"leaders_max_minus_min": 0}},
	}
	r.Produced, r.Consumed = true, true
	r.Delivery = report.Delivery{Counts: report.Counts{Sent: 1000, Acked: 1000, Consumed: 1000}}
	r.Throughput = report.Throughput{ProduceMsgsPerS: 100000, ConsumeMsgsPerS: 10000, ProduceMBPerS: 10, ConsumeMBPerS: 1}
	r.Latency = report.Latency{P50: 5, P99: 10, P999: 12, Max: 13, Mean: 6}
	r.Finish(r.StartedAt.Add(time.Second))
	return r
}

func TestParseThreshold(t *testing.T) {
	tests := []struct {
		expr    string
		metric  string
		op      string
		limit   float64
		wantErr string
	}{
		{"delivery.lost == 0", "delivery.lost", "==", 0, ""},
		{"  produce.p99_ms<50 ", "produce.p99_ms", "<", 50, ""},
		{"produce.msgs_per_s >= 5e4", "produce.msgs_per_s", ">=", 50000, ""},
		{"leaders.max_minus_min <= 1", "leaders.max_minus_min", "<=", 1, ""},
		{"topic_create.all_leaders_s > 0.5", "topic_create.all_leaders_s", ">", 0.5, ""},
		{"delivery.duplicated != 3", "delivery.duplicated", "!=", 3, ""},
		{"", "", "", 0, "empty threshold: write METRIC OP NUMBER"},
		{"produce.p99_ms 50", "", "", 0, `"produce.p99_ms 50" has no comparison`},
		{"produce.p99_ms = 50", "", "", 0, `"produce.p99_ms = 50": "=" is not a comparison`},
		{"produce.p99_ms => 50", "", "", 0, `"=>" is not a comparison`},
		{"< 50", "", "", 0, `"< 50" names no metric before <`},
		{"produce.p99 < 50", "", "", 0, `"produce.p99 < 50": unknown metric "produce.p99" (did you mean produce.p99_ms`},
		{"p99_ms < 50", "", "", 0, `unknown metric "p99_ms" (did you mean produce.p99_ms?)`},
		{"produce.p99_ms <", "", "", 0, `has no number after <`},
		{"produce.p99_ms < 50ms", "", "", 0, `"50ms" is not a number (produce.p99_ms is in ms; write the number alone)`},
		{"produce.p99_ms < inf", "", "", 0, `"inf" is not a number`},
		{"delivery.lost == 0 && delivery.duplicated == 0", "", "", 0, `is not a number`},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			th, err := ParseThreshold(tt.expr)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if th.Metric.Name != tt.metric || th.Op != tt.op || th.Limit != tt.limit {
				t.Errorf("parsed %+v, want %s %s %v", th, tt.metric, tt.op, tt.limit)
			}
			if th.Expr != strings.TrimSpace(tt.expr) {
				t.Errorf("expr = %q", th.Expr)
			}
		})
	}
}

func TestThresholdCheck(t *testing.T) {
	r := healthy()
	check := func(expr string) report.Threshold {
		t.Helper()
		th, err := ParseThreshold(expr)
		if err != nil {
			t.Fatal(err)
		}
		return th.Check(r)
	}
	for expr, want := range map[string]bool{
		"delivery.lost == 0":           true,
		"delivery.lost != 0":           false,
		"produce.p99_ms < 10":          false, // 10 is not below 10
		"produce.p99_ms <= 10":         true,
		"produce.msgs_per_s > 50000":   true,
		"produce.msgs_per_s >= 200000": false,
		"leaders.max_minus_min <= 1":   true,
		"duration_s < 2":               true,
	} {
		if got := check(expr); got.Passed != want || got.Value == nil {
			t.Errorf("%s: passed %v (value %v), want %v", expr, got.Passed, got.Value, want)
		}
	}
	got := check("produce.p99_ms < 50")
	if *got.Value != 10 || got.Unit != "ms" || got.Metric != "produce.p99_ms" {
		t.Errorf("result = %+v", got)
	}

	// A metric the run did not measure fails, saying why.
	r.Consumed = false
	got = check("delivery.lost == 0")
	if got.Passed || got.Value != nil || !strings.Contains(got.Reason, "the consume scenario did not run") {
		t.Errorf("unmeasured: %+v", got)
	}
	r.Scenarios = r.Scenarios[:1]
	if got := check("leaders.max_minus_min <= 1"); got.Passed || got.Value != nil {
		t.Errorf("leaders without metadata: %+v", got)
	}
}

func TestEveryMetricReads(t *testing.T) {
	r := healthy()
	r.Distribution = report.Distribution{Variance: 2, MaxDeviationPct: 1}
	// What a storm on a spawned cluster adds.
	r.Scenarios = append(r.Scenarios, &report.Scenario{Name: "topic-storm", Passed: true, Metrics: map[string]float64{
		"create_s": 2, "creates_per_s": 250, "converge_s": 0.1, "restart_converge_s": 0.2}})
	r.Cluster.Resources = &report.Resources{IntervalS: 1, Nodes: []report.NodeUsage{
		{Node: 1, Samples: 3, PeakRSSMB: 412, PeakCPUPct: 80, PeakFDs: 120},
		{Node: 2, Samples: 0, PeakRSSMB: 9000}, // never sampled (its stats hook failed every time)
		{Node: 3, Samples: 3, PeakRSSMB: 500, PeakCPUPct: 20, PeakFDs: 90},
	}}
	// A node never sampled leaves every node metric unmeasured: the largest
	// over the others is no budget check of it (the node whose stats fail
	// may be the one running out of memory).
	for _, name := range []string{"node.max_rss_mb", "node.max_cpu_pct", "node.max_fds"} {
		if v, ok := Values(r)[name]; ok {
			t.Errorf("%s = %v with node 2 never sampled, want it not measured", name, v)
		}
	}
	r.Cluster.Resources.Nodes[1] = report.NodeUsage{Node: 2, Samples: 3, PeakRSSMB: 300, PeakCPUPct: 10, PeakFDs: 50}
	for name, want := range map[string]float64{"node.max_rss_mb": 500, "node.max_cpu_pct": 80, "node.max_fds": 120} {
		if got := Values(r)[name]; got != want {
			t.Errorf("%s = %v, want %v (the largest over the nodes)", name, got, want)
		}
	}
	// A stats hook that prints no fds: node.max_fds is not measured, not 0.
	r.Cluster.Resources.Missing = []string{report.FigureFDs}
	if v, ok := Values(r)["node.max_fds"]; ok {
		t.Errorf("node.max_fds = %v from a source that gives no fds, want it absent", v)
	}
	if v := Values(r)["node.max_rss_mb"]; v != 500 {
		t.Errorf("node.max_rss_mb = %v with only fds missing, want 500", v)
	}
	r.Cluster.Resources.Missing = nil
	if th, err := ParseThreshold("node.max_rss_mb < 6000"); err != nil {
		t.Error(err)
	} else if got := th.Check(healthy()); got.Passed || !strings.Contains(got.Reason, "not measured: nodes' resources are sampled in spawn mode on Linux, and in attach mode by faults.hooks.stats") {
		t.Errorf("node.max_rss_mb on an embedded run: %+v, want not measured, saying why", got)
	}
	names := map[string]bool{}
	for _, m := range Metrics() {
		if names[m.Name] {
			t.Errorf("metric %s registered twice", m.Name)
		}
		names[m.Name] = true
		if m.Doc == "" || m.Unit == "" && m.Name != "distribution.variance" {
			t.Errorf("metric %s has no doc or unit", m.Name)
		}
		if m.Compare && m.Better == Neither {
			t.Errorf("metric %s is compared by default but has no better direction", m.Name)
		}
		if _, ok := m.Get(r); !ok {
			t.Errorf("metric %s: not measured in a full healthy report", m.Name)
		}
	}
	// The namespace the README and the issue promise.
	for _, n := range []string{
		"delivery.sent", "delivery.acked", "delivery.failed", "delivery.consumed", "delivery.lost",
		"delivery.duplicated", "delivery.reordered", "delivery.unexpected", "delivery.misplaced", "delivery.unacked_read",
		"produce.msgs_per_s", "produce.mb_per_s", "produce.p50_ms", "produce.p99_ms", "produce.p999_ms", "produce.max_ms",
		"consume.msgs_per_s", "leaders.max_minus_min", "topic_create.create_s", "topic_create.all_leaders_s",
		"distribution.variance", "distribution.max_deviation_pct", "duration_s",
	} {
		if !names[n] {
			t.Errorf("no metric %s", n)
		}
	}
	// Values of an empty report: only what every run has.
	if v := Values(report.New("p", "id", time.Now())); len(v) != 0 {
		t.Errorf("values of an empty report: %v", v)
	}
}

func TestCompare(t *testing.T) {
	base := FromRun("old.json", healthy())
	slow := healthy()
	slow.Throughput.ProduceMsgsPerS = 89000 // -11%: beyond 10%
	slow.Latency.P50 = 5.4                  // +8%: within
	slow.Latency.P99 = 11.5                 // +15%: beyond
	slow.Throughput.ConsumeMsgsPerS = 12000 // faster: fine
	c := Compare(base, FromRun("", slow), 10, nil)
	if c.Passed {
		t.Error("comparison passed")
	}
	got := map[string]bool{}
	for _, d := range c.Metrics {
		got[d.Metric] = d.Regressed
	}
	want := map[string]bool{"produce.msgs_per_s": true, "produce.p50_ms": false, "produce.p99_ms": true, "consume.msgs_per_s": false}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("regressed = %v, want %v", got, want)
	}
	d := c.Metrics[0]
	if d.Metric != "produce.msgs_per_s" || d.Scenario != "produce" || d.Better != "higher" || d.Unit != "msg/s" ||
		d.Baseline != 100000 || d.Value != 89000 || d.DeltaPct == nil || math.Abs(*d.DeltaPct+11) > 1e-9 {
		t.Errorf("first delta = %+v", d)
	}
	if c.File != "old.json" || c.RunID != "run-1" || c.TolerancePct != 10 || len(c.Notes) != 0 {
		t.Errorf("comparison = %+v", c)
	}

	// A wider tolerance passes; the named metrics are the ones compared.
	if c := Compare(base, FromRun("", slow), 20, nil); !c.Passed {
		t.Errorf("tolerance 20%%: %+v", c.Metrics)
	}
	c = Compare(base, FromRun("", slow), 10, []string{"produce.p999_ms", "produce.max_ms"})
	if len(c.Metrics) != 2 || !c.Passed {
		t.Errorf("named metrics: %+v", c.Metrics)
	}

	// A baseline of 0 has no percentage; any worsening regresses.
	zero := healthy()
	zero.Latency.P50 = 0
	c = Compare(FromRun("", zero), FromRun("", healthy()), 10, []string{"produce.p50_ms"})
	if d := c.Metrics[0]; d.DeltaPct != nil || !d.Regressed {
		t.Errorf("zero baseline: %+v", d)
	}

	// Another configuration and a metric only one run measured are noted.
	other := healthy()
	other.Config.Messages = 10000
	other.Consumed = false
	c = Compare(base, FromRun("", other), 10, nil)
	notes := strings.Join(c.Notes, "\n")
	for _, want := range []string{"the baseline ran another configuration: messages 1000 → 10000", "consume.msgs_per_s: not measured by this run (baseline 10,000 msg/s)"} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes %q lack %q", notes, want)
		}
	}
}

func TestJudge(t *testing.T) {
	parse := func(exprs ...string) []Threshold {
		var out []Threshold
		for _, e := range exprs {
			th, err := ParseThreshold(e)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, th)
		}
		return out
	}
	t.Run("empty plan leaves the report alone", func(t *testing.T) {
		r := healthy()
		(&Plan{}).Judge(r)
		if r.Gate != nil || !r.Passed || !r.ChecksPassed() || r.GateFailed() {
			t.Errorf("gate %+v passed %v", r.Gate, r.Passed)
		}
	})
	t.Run("a failed threshold fails only the gate", func(t *testing.T) {
		r := healthy()
		(&Plan{Thresholds: parse("delivery.lost == 0", "produce.p99_ms < 5")}).Judge(r)
		if r.Passed || r.Gate.Passed || !r.ChecksPassed() || !r.GateFailed() {
			t.Errorf("passed %v gate %+v", r.Passed, r.Gate)
		}
		if !r.Gate.Thresholds[0].Passed || r.Gate.Thresholds[1].Passed {
			t.Errorf("thresholds %+v", r.Gate.Thresholds)
		}
	})
	t.Run("a failed check is not a gate failure", func(t *testing.T) {
		r := healthy()
		r.Scenarios[2].Passed = false
		r.Finish(r.StartedAt.Add(time.Second))
		(&Plan{Thresholds: parse("delivery.lost == 0")}).Judge(r)
		if r.Passed || !r.Gate.Passed || r.ChecksPassed() || r.GateFailed() {
			t.Errorf("passed %v gate %+v", r.Passed, r.Gate)
		}
	})
	t.Run("baseline", func(t *testing.T) {
		r := healthy()
		r.Latency.P99 = 100
		(&Plan{Baseline: FromRun("b.json", healthy()), TolerancePct: 10}).Judge(r)
		if r.Passed || r.Gate.Baseline == nil || r.Gate.Baseline.Passed || !r.GateFailed() || len(r.Gate.Thresholds) != 0 {
			t.Errorf("passed %v gate %+v", r.Passed, r.Gate)
		}
	})
}

func TestJudgeRepeat(t *testing.T) {
	th, err := ParseThreshold("produce.p99_ms < 20")
	if err != nil {
		t.Fatal(err)
	}
	runs := func(n int) []*report.Report {
		var out []*report.Report
		for i := range n {
			r := healthy()
			r.Latency.P99 = float64(10 + i) // 10, 11, 12, ...
			out = append(out, r)
		}
		return out
	}

	rep := &report.Repeat{Requested: 5, Runs: runs(5)}
	(&Plan{Thresholds: []Threshold{th}, Baseline: FromRun("", healthy()), TolerancePct: 50}).JudgeRepeat(rep)
	if !rep.Passed || rep.PassedRuns() != 5 {
		t.Fatalf("healthy repeat: passed %v, %d runs passed", rep.Passed, rep.PassedRuns())
	}
	for _, r := range rep.Runs {
		if r.Gate == nil || len(r.Gate.Thresholds) != 1 || r.Gate.Baseline != nil {
			t.Errorf("each run has its thresholds and no baseline of its own: %+v", r.Gate)
		}
	}
	var p99 report.Spread
	for _, s := range rep.Spread {
		if s.Metric == "produce.p99_ms" {
			p99 = s
		}
	}
	if p99 != (report.Spread{Metric: "produce.p99_ms", Unit: "ms", Runs: 5, Min: 10, Median: 12, Max: 14}) {
		t.Errorf("p99 spread = %+v", p99)
	}
	if rep.Baseline == nil || len(rep.Baseline.Metrics) != 4 {
		t.Fatalf("baseline of the medians: %+v", rep.Baseline)
	}
	for _, d := range rep.Baseline.Metrics {
		if d.Metric == "produce.p99_ms" && d.Value != 12 {
			t.Errorf("the baseline compares the median: %+v", d)
		}
	}

	// A scenario that fails one run of five is flaky and fails the repeat.
	rep = &report.Repeat{Requested: 5, Runs: runs(5)}
	rep.Runs[3].Scenarios[2].Passed = false
	rep.Runs[3].Finish(rep.Runs[3].StartedAt.Add(time.Second))
	(&Plan{}).JudgeRepeat(rep)
	want := []report.RepeatScenario{
		{Name: "topic-create", Runs: 5, Passed: 5},
		{Name: "produce", Runs: 5, Passed: 5},
		{Name: "consume", Runs: 5, Passed: 4, Flaky: true},
		{Name: "metadata", Runs: 5, Passed: 5},
	}
	if !reflect.DeepEqual(rep.Scenarios, want) || rep.Passed || rep.ChecksPassed() || rep.GateFailed() {
		t.Errorf("flaky repeat: passed %v scenarios %+v", rep.Passed, rep.Scenarios)
	}

	// A threshold that fails one run fails the gate, not the checks (exit 4).
	rep = &report.Repeat{Requested: 5, Runs: runs(5)}
	rep.Runs[4].Latency.P99 = 25
	(&Plan{Thresholds: []Threshold{th}}).JudgeRepeat(rep)
	if rep.Passed || !rep.ChecksPassed() || !rep.GateFailed() || rep.PassedRuns() != 4 {
		t.Errorf("threshold in one run: passed %v checks %v", rep.Passed, rep.ChecksPassed())
	}

	// Fewer runs than requested (interrupted) never pass.
	rep = &report.Repeat{Requested: 5, Runs: runs(3)}
	(&Plan{}).JudgeRepeat(rep)
	if rep.Passed {
		t.Error("3 of 5 runs passed the repeat")
	}
}

func TestMedian(t *testing.T) {
	for _, tt := range []struct {
		in   []float64
		want float64
	}{{[]float64{1}, 1}, {[]float64{1, 2}, 1.5}, {[]float64{1, 2, 9}, 2}, {[]float64{1, 2, 3, 10}, 2.5}} {
		if got := median(tt.in); got != tt.want {
			t.Errorf("median(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}
