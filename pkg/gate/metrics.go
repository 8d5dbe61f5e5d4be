// Package gate is the release gate: the named metrics of a run, threshold
// expressions over them, the comparison of a run with a baseline run, and
// the spread of the metrics over repeated runs.
package gate

import (
	"errors"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/chronik-e2e/chronik-e2e/pkg/report"
	"github.com/chronik-e2e/chronik-e2e/pkg/suggest"
)

// Better says in which direction a metric improves.
type Better int

// Directions of improvement.
const (
	Neither Better = iota // a count or a fact: thresholds read it, baselines do not compare it
	Higher                // throughput
	Lower                 // latency, durations
)

// String is "higher", "lower" or "".
func (b Better) String() string {
	switch b {
	case Higher:
		return "higher"
	case Lower:
		return "lower"
	}
	return ""
}

// Metric is one named measurement of a run that thresholds and baseline
// comparisons read.
type Metric struct {
	Name     string // dotted name, e.g. "produce.p99_ms"
	Unit     string // "ms", "s", "msg/s", "MB/s", "messages", "%", ...
	Scenario string // the scenario that measures it; "" for the run as a whole
	Better   Better
	// Compare marks the metrics a baseline comparison checks when the
	// profile does not list its own (baseline.metrics).
	Compare bool
	Doc     string // what it is, for the README and `chronik-e2e metrics`
	// Absent says why a run may lack the metric when no scenario measures it.
	Absent string
	// Get returns the metric's value in r, and false when r did not measure it.
	Get func(r *report.Report) (float64, bool)
}

// metrics is the registry: one line per metric. The README's metric table is
// generated from it (go generate ./pkg/gate).
var metrics = []Metric{
	{Name: "delivery.sent", Unit: "messages", Scenario: "produce", Doc: "messages handed to the producer", Get: produced(func(r *report.Report) float64 { return float64(r.Delivery.Sent) })},
	{Name: "delivery.acked", Unit: "messages", Scenario: "produce", Doc: "messages the cluster acknowledged", Get: produced(func(r *report.Report) float64 { return float64(r.Delivery.Acked) })},
	{Name: "delivery.failed", Unit: "messages", Scenario: "produce", Doc: "messages not acknowledged: an error, no answer, or offset -1", Get: produced(func(r *report.Report) float64 { return float64(r.Delivery.Failed) })},
	{Name: "delivery.consumed", Unit: "messages", Scenario: "consume", Doc: "records read back, duplicates included", Get: consumed(func(r *report.Report) float64 { return float64(r.Delivery.Consumed) })},
	{Name: "delivery.lost", Unit: "messages", Scenario: "consume", Doc: "acknowledged messages never read back", Get: consumed(func(r *report.Report) float64 { return float64(r.Delivery.Lost) })},
	{Name: "delivery.duplicated", Unit: "messages", Scenario: "consume", Doc: "extra reads of messages read more than once", Get: consumed(func(r *report.Report) float64 { return float64(r.Delivery.Duplicated) })},
	{Name: "delivery.reordered", Unit: "messages", Scenario: "consume", Doc: "messages read after a later message of the same key", Get: consumed(func(r *report.Report) float64 { return float64(r.Delivery.Reordered) })},
	{Name: "delivery.unexpected", Unit: "messages", Scenario: "consume", Doc: "records that are not a valid payload of this run", Get: consumed(func(r *report.Report) float64 { return float64(r.Delivery.Unexpected) })},
	{Name: "delivery.misplaced", Unit: "messages", Scenario: "consume", Doc: "messages read once, but not where they were acknowledged", Get: consumed(func(r *report.Report) float64 { return float64(r.Delivery.Misplaced) })},
	{Name: "delivery.unacked_read", Unit: "messages", Scenario: "consume", Doc: "messages read back although their produce failed (allowed)", Get: consumed(func(r *report.Report) float64 { return float64(r.Delivery.UnackedRead) })},
	{Name: "produce.msgs_per_s", Unit: "msg/s", Scenario: "produce", Better: Higher, Compare: true, Doc: "produce throughput, first send to last answer", Get: produced(func(r *report.Report) float64 { return r.Throughput.ProduceMsgsPerS })},
	{Name: "produce.mb_per_s", Unit: "MB/s", Scenario: "produce", Better: Higher, Doc: "produce throughput in megabytes of values", Get: produced(func(r *report.Report) float64 { return r.Throughput.ProduceMBPerS })},
	{Name: "produce.duration_s", Unit: "s", Scenario: "produce", Better: Lower, Doc: "time from the first send to the last answer", Get: produced(func(r *report.Report) float64 { return r.Throughput.ProduceDurationS })},
	{Name: "produce.p50_ms", Unit: "ms", Scenario: "produce", Better: Lower, Compare: true, Doc: "median acknowledgement latency", Get: produced(func(r *report.Report) float64 { return r.Latency.P50 })},
	{Name: "produce.p99_ms", Unit: "ms", Scenario: "produce", Better: Lower, Compare: true, Doc: "99th percentile acknowledgement latency", Get: produced(func(r *report.Report) float64 { return r.Latency.P99 })},
	{Name: "produce.p999_ms", Unit: "ms", Scenario: "produce", Better: Lower, Doc: "99.9th percentile acknowledgement latency", Get: produced(func(r *report.Report) float64 { return r.Latency.P999 })},
	{Name: "produce.max_ms", Unit: "ms", Scenario: "produce", Better: Lower, Doc: "slowest acknowledgement", Get: produced(func(r *report.Report) float64 { return r.Latency.Max })},
	{Name: "produce.mean_ms", Unit: "ms", Scenario: "produce", Better: Lower, Doc: "mean acknowledgement latency", Get: produced(func(r *report.Report) float64 { return r.Latency.Mean })},
	{Name: "consume.msgs_per_s", Unit: "msg/s", Scenario: "consume", Better: Higher, Compare: true, Doc: "read-back throughput, all partitions in parallel", Get: consumed(func(r *report.Report) float64 { return r.Throughput.ConsumeMsgsPerS })},
	{Name: "consume.mb_per_s", Unit: "MB/s", Scenario: "consume", Better: Higher, Doc: "read-back throughput in megabytes of values", Get: consumed(func(r *report.Report) float64 { return r.Throughput.ConsumeMBPerS })},
	{Name: "consume.duration_s", Unit: "s", Scenario: "consume", Better: Lower, Doc: "time from the first record read until every partition was read to its high watermark", Get: consumed(func(r *report.Report) float64 { return r.Throughput.ConsumeDurationS })},
	{Name: "topic_create.create_s", Unit: "s", Scenario: "topic-create", Better: Lower, Doc: "time the CreateTopics request took", Get: scenarioMetric("topic-create", "create_s")},
	{Name: "topic_create.all_leaders_s", Unit: "s", Scenario: "topic-create", Better: Lower, Doc: "time until metadata showed a leader for every partition", Get: scenarioMetric("topic-create", "all_leaders_s")},
	{Name: "leaders.max_minus_min", Unit: "partitions", Scenario: "metadata", Doc: "partitions led by the busiest broker minus by the idlest", Get: scenarioMetric("metadata", "leaders_max_minus_min")},
	{Name: "distribution.variance", Unit: "messages²", Scenario: "produce", Doc: "variance of acknowledged messages per partition", Get: produced(func(r *report.Report) float64 { return r.Distribution.Variance })},
	{Name: "distribution.max_deviation_pct", Unit: "%", Scenario: "produce", Doc: "largest deviation of a partition from the mean, in percent of the mean", Get: produced(func(r *report.Report) float64 { return r.Distribution.MaxDeviationPct })},
	{Name: "storm.create_s", Unit: "s", Scenario: "topic-storm", Better: Lower, Doc: "time to create every storm topic, storm.parallelism at a time", Get: scenarioMetric("topic-storm", "create_s")},
	{Name: "storm.creates_per_s", Unit: "topics/s", Scenario: "topic-storm", Better: Higher, Doc: "storm topics created per second", Get: scenarioMetric("topic-storm", "creates_per_s")},
	{Name: "storm.converge_s", Unit: "s", Scenario: "topic-storm", Better: Lower, Doc: "time from the last creation until every broker listed every storm topic, led", Get: scenarioMetric("topic-storm", "converge_s")},
	{Name: "storm.restart_converge_s", Unit: "s", Scenario: "topic-storm", Better: Lower, Doc: "time from the restart until every broker listed every storm topic again, led", Get: scenarioMetric("topic-storm", "restart_converge_s")},
	{Name: "node.max_rss_mb", Absent: nodesAbsent, Unit: "MB", Better: Lower, Doc: "the highest resident memory of any node, sampled through the run (spawn mode: every second from /proc; attach mode: by faults.hooks.stats)", Get: nodeUsage(report.FigureRSS, func(n report.NodeUsage) float64 { return n.PeakRSSMB })},
	{Name: "node.max_cpu_pct", Absent: nodesAbsent, Unit: "%", Better: Lower, Doc: "the highest CPU use of any node at a sample, in percent of one core", Get: nodeUsage(report.FigureCPU, func(n report.NodeUsage) float64 { return n.PeakCPUPct })},
	{Name: "node.max_fds", Absent: nodesAbsent, Unit: "fds", Better: Lower, Doc: "the most file descriptors any node held open at a sample", Get: nodeUsage(report.FigureFDs, func(n report.NodeUsage) float64 { return float64(n.PeakFDs) })},
	{Name: "duration_s", Unit: "s", Better: Lower, Doc: "the whole run, cluster start to verdict", Get: func(r *report.Report) (float64, bool) { return r.DurationS, r.DurationS > 0 }},
}

// produced reads a value that exists once the produce scenario ran.
func produced(f func(*report.Report) float64) func(*report.Report) (float64, bool) {
	return func(r *report.Report) (float64, bool) { return f(r), r.Produced }
}

// consumed reads a value that exists once the consume scenario ran.
func consumed(f func(*report.Report) float64) func(*report.Report) (float64, bool) {
	return func(r *report.Report) (float64, bool) { return f(r), r.Consumed }
}

// nodesAbsent says why a run has no node resource metrics.
const nodesAbsent = "nodes' resources are sampled in spawn mode on Linux, and in attach mode by faults.hooks.stats (the figures it prints); a node with no sample (its stats hook failed every time) leaves them unmeasured"

// nodeUsage reads the largest of a value over the nodes whose resources
// were sampled (spawn mode on Linux, faults.hooks.stats), when their source
// gave figure.
func nodeUsage(figure string, f func(report.NodeUsage) float64) func(*report.Report) (float64, bool) {
	return func(r *report.Report) (float64, bool) {
		if !r.Cluster.Resources.Has(figure) {
			return 0, false
		}
		return r.Cluster.Resources.Max(f)
	}
}

// scenarioMetric reads one of a scenario's own metrics.
func scenarioMetric(scenario, name string) func(*report.Report) (float64, bool) {
	return func(r *report.Report) (float64, bool) {
		s := r.Scenario(scenario)
		if s == nil {
			return 0, false
		}
		v, ok := s.Metrics[name]
		return v, ok
	}
}

// Metrics returns every metric, in the registry's order.
func Metrics() []Metric { return slices.Clone(metrics) }

// Lookup returns the metric called name.
func Lookup(name string) (Metric, bool) {
	for _, m := range metrics {
		if m.Name == name {
			return m, true
		}
	}
	return Metric{}, false
}

// LookupMetric returns the metric called name, or an error that suggests
// the names closest to it.
func LookupMetric(name string) (Metric, error) {
	if m, ok := Lookup(name); ok {
		return m, nil
	}
	return Metric{}, errors.New(unknownMetric(name))
}

// Values returns every metric r measured, by name.
func Values(r *report.Report) map[string]float64 {
	out := map[string]float64{}
	for _, m := range metrics {
		if v, ok := m.Get(r); ok {
			out[m.Name] = v
		}
	}
	return out
}

// unknownMetric says that name is not a metric, suggesting the closest ones.
func unknownMetric(name string) string {
	msg := "unknown metric " + strconv.Quote(name)
	if s := closeMetrics(name); len(s) > 0 {
		msg += " (did you mean " + strings.Join(s, " or ") + "?)"
	}
	return msg + "; `chronik-e2e metrics` lists them all"
}

// closeMetrics returns up to three metric names close to name: the same
// name under another prefix, or within a small edit distance.
func closeMetrics(name string) []string {
	type cand struct {
		name string
		d    int
	}
	var cs []cand
	for _, m := range metrics {
		d := suggest.Distance(name, m.Name)
		_, short, _ := strings.Cut(m.Name, ".")
		if short == name || strings.HasPrefix(m.Name, name) || len(name) >= 3 && strings.HasPrefix(short, name) {
			d = 0
		}
		if d <= max(2, len(name)/4) {
			cs = append(cs, cand{m.Name, d})
		}
	}
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].d < cs[j].d })
	var out []string
	for _, c := range cs[:min(3, len(cs))] {
		out = append(out, c.name)
	}
	return out
}
