package report_test

import (
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/chronik-e2e/chronik-e2e/pkg/report"
	"github.com/chronik-e2e/chronik-e2e/pkg/workload"
)

// shardReport returns a passed report of shard i of n of group g whose
// produce latencies are lat.
func shardReport(t *testing.T, g string, i, n int, lat *workload.Latency, sent int64) *report.Report {
	t.Helper()
	start := time.Date(2026, 12, 1, 12, 0, i, 0, time.UTC)
	r := report.New("3x3", "00000000000000aa", start)
	r.Config = report.Config{Topic: "e2e-3x3-000000aa", Partitions: 1, Messages: 3000, Keys: 30}
	first, end := 3000*i/n, 3000*(i+1)/n
	r.Shard = &report.Shard{Group: g, Index: i, Count: n, FirstSeq: first, LastSeq: end - 1, FirstKey: 30 * i / n, LastKey: 30*(i+1)/n - 1}
	r.Scenarios = []*report.Scenario{{Name: "produce", Passed: true, Findings: []string{}}}
	r.Produced, r.Consumed = true, true
	r.Delivery.Sent, r.Delivery.Acked, r.Delivery.Consumed = sent, sent, sent
	r.Delivery.SiblingsRead = 2 * sent
	r.Partitions = []report.Partition{{ID: 0, Messages: sent, HighWatermark: 3 * sent}}
	r.Latency = report.LatencyOf(lat)
	ps := start.Add(time.Second)
	r.Throughput = report.Throughput{ProduceStartedAt: &ps, ProduceDurationS: 2, ProduceMsgsPerS: float64(sent) / 2}
	r.Finish(start.Add(5 * time.Second))
	return r
}

// TestMergeLatencyExact: the merged histogram answers every percentile as
// one histogram fed every shard's samples does, not an average of the shards'.
func TestMergeLatencyExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	all := workload.NewLatency()
	var in []report.ShardReport
	for i := range 3 {
		l := workload.NewLatency()
		for range 1000 {
			// Each shard its own spread: shard 2 is ten times slower.
			d := time.Duration(rng.ExpFloat64()*float64(time.Millisecond)*float64(1+9*(i/2))) + 50*time.Microsecond
			l.Record(d)
			all.Record(d)
		}
		in = append(in, report.ShardReport{File: "s.json", Report: shardReport(t, "g", i, 3, l, 1000)})
	}
	m, err := report.Merge(in)
	if err != nil {
		t.Fatal(err)
	}
	want := report.LatencyOf(all)
	if !reflect.DeepEqual(m.Latency, want) {
		t.Errorf("merged latency\n%+v\nwant (one histogram of every sample)\n%+v", m.Latency, want)
	}
	if m.Latency.P99 == in[0].Report.Latency.P99 {
		t.Errorf("merged p99 %v equals shard 0's: the shards' spreads should differ", m.Latency.P99)
	}
	if !m.Passed || m.Verdict != report.VerdictPassed {
		t.Errorf("merged verdict %s, want PASSED", m.Verdict)
	}
	d := m.Delivery
	if d.Sent != 3000 || d.Acked != 3000 || d.Consumed != 3000 || d.SiblingsRead != 6000 {
		t.Errorf("delivery %+v, want 3000 sent, acked, consumed and 6000 sibling records", d.Counts)
	}
	if m.Partitions[0].Messages != 3000 || m.Partitions[0].HighWatermark != 3000 {
		t.Errorf("partition 0 %+v, want 3000 messages, high watermark 3000", m.Partitions[0])
	}
	// Shards start 1 s apart, each produces 1000 in 2 s: 3000 in 4 s.
	if tp := m.Throughput; tp.ProduceDurationS != 4 || tp.ProduceMsgsPerS != 750 {
		t.Errorf("throughput %v msg/s over %v s, want 750 over 4", tp.ProduceMsgsPerS, tp.ProduceDurationS)
	}
}

// TestMergeFailingShard: one failed shard fails the merge, which names it and why.
func TestMergeFailingShard(t *testing.T) {
	var in []report.ShardReport
	for i := range 3 {
		l := workload.NewLatency()
		l.Record(time.Millisecond)
		r := shardReport(t, "g", i, 3, l, 10)
		consume := &report.Scenario{Name: "consume", Passed: true, Findings: []string{}}
		r.Scenarios = append(r.Scenarios, consume)
		if i == 1 {
			consume.Passed, consume.Findings = false, []string{"1 lost record(s)"}
			r.Delivery.Lost = 1
			r.Finish(r.StartedAt.Add(time.Second))
		}
		in = append(in, report.ShardReport{File: []string{"a.json", "b.json", "c.json"}[i], Report: r})
	}
	m, err := report.Merge(in)
	if err != nil {
		t.Fatal(err)
	}
	if m.Passed || m.Verdict != report.VerdictFailed {
		t.Fatalf("merged verdict %s, want FAILED", m.Verdict)
	}
	if m.Delivery.Lost != 1 {
		t.Errorf("lost %d, want 1", m.Delivery.Lost)
	}
	got := m.Merged[1]
	if got.Index != 1 || got.File != "b.json" || got.Verdict != report.VerdictFailed || got.Why != "consume failed: 1 lost record(s)" {
		t.Errorf("shard 1 merged as %+v", got)
	}
	for _, s := range m.Scenarios {
		if s.Name == "consume" && (s.Passed || len(s.Findings) != 1 || s.Findings[0] != "shard 1: 1 lost record(s)") {
			t.Errorf("consume merged as %+v, want failed with shard 1's finding", s)
		}
	}
}

// TestMergeRefuses: reports that are not every shard of one group, once each, are refused, saying why.
func TestMergeRefuses(t *testing.T) {
	l := workload.NewLatency()
	l.Record(time.Millisecond)
	ok := func(i int) *report.Report { return shardReport(t, "g", i, 2, l, 10) }
	for _, tc := range []struct {
		name string
		edit func(a, b *report.Report)
		want string
	}{
		{"other group", func(_, b *report.Report) { b.Shard.Group = "h" }, "b.json is of run group h, a.json of run group g"},
		{"other topic", func(_, b *report.Report) { b.Config.Topic = "x" }, "b.json wrote to topic x, a.json to topic e2e-3x3-000000aa"},
		{"other count", func(_, b *report.Report) { b.Shard.Count = 3 }, "b.json is shard 1 of 3, a.json shard 0 of 2"},
		{"twice", func(_, b *report.Report) { b.Shard.Index = 0 }, "a.json and b.json are both shard 0 of run group g"},
		{"unsharded", func(_, b *report.Report) { b.Shard = nil }, "b.json is not a shard's report"},
		{"other workload", func(_, b *report.Report) { b.Config.Messages = 5 }, "b.json split 5 messages over 30 keys, a.json 3000 over 30"},
		{"merged already", func(_, b *report.Report) { b.Merged = []report.MergedShard{{Index: 1}} }, "b.json is a merged report already"},
		{"no histogram", func(_, b *report.Report) { b.Latency.HDR = "" }, "b.json has no latency_ms.hdr"},
		{"bad histogram", func(_, b *report.Report) { b.Latency.HDR = "bm90IGEgaGlzdG9ncmFt" }, "b.json: latency_ms.hdr: decode latency histogram"},
		{"other acks", func(_, b *report.Report) { b.Config.Acks = "0" }, `b.json ran with acks "0", a.json with acks ""`},
		{"other partitions", func(_, b *report.Report) { b.Config.Partitions = 9 }, "b.json ran with partitions 9, a.json with partitions 1"},
		{"other version", func(a, b *report.Report) { a.ToolVersion, b.ToolVersion = "v1.2.0", "v1.1.0" }, "b.json was written by chronik-e2e v1.1.0, a.json by v1.2.0"},
		{"other scenarios", func(_, b *report.Report) { b.Scenarios[0].Name = "metadata" }, "b.json ran scenarios metadata, a.json produce"},
		{"index beyond count", func(_, b *report.Report) { b.Shard.Index = 5 }, "b.json is shard 5 of 2"},
		{"negative index", func(_, b *report.Report) { b.Shard.Index = -1 }, "b.json is shard -1 of 2"},
		{"other split", func(_, b *report.Report) { b.Shard.FirstSeq = 7 }, "b.json: shard 1 of 2 owns sequences 7-2999 and keys 15-29; this chronik-e2e splits 3000 messages over 30 keys as 1500-2999 and 15-29"},
		{"passed with unexpected", func(_, b *report.Report) { b.Delivery.Unexpected = 1 }, "b.json says PASSED with 1 unexpected and 0 misplaced record(s)"},
		{"passed with a failed scenario", func(_, b *report.Report) { b.Scenarios[0].Passed = false }, "b.json says PASSED, but its scenario produce did not pass"},
		{"negative partition", func(_, b *report.Report) { b.Partitions[0].ID = -1 }, "b.json lists partition -1, which topic e2e-3x3-000000aa of a.json does not have"},
		{"more answers than sends", func(_, b *report.Report) { b.Delivery.Sent = 0; b.Delivery.Acked = 0 }, "b.json: its latency histogram holds 1 answer(s), more than its 0 send(s)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := ok(0), ok(1)
			tc.edit(a, b)
			_, err := report.Merge([]report.ShardReport{{File: "a.json", Report: a}, {File: "b.json", Report: b}})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
	// A count of two billion (edited, or corrupt) names the first missing
	// shards, not two billion of them.
	a, b := ok(0), ok(1)
	a.Shard.Count, b.Shard.Count = 2_000_000_000, 2_000_000_000
	_, err := report.Merge([]report.ShardReport{{File: "a.json", Report: a}, {File: "b.json", Report: b}})
	if err == nil || !strings.Contains(err.Error(), "no report of shard(s) 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 and 1999999988 more was given") {
		t.Errorf("two of two billion shards: error %v", err)
	}
	_, err = report.Merge([]report.ShardReport{{File: "a.json", Report: ok(0)}})
	if err == nil || !strings.Contains(err.Error(), "no report of shard(s) 1 was given") {
		t.Errorf("a missing shard: error %v", err)
	}
}

// TestMergeResources: the nodes every shard sampled merge per node: the
// highest peak, the mean over every sample; a figure one shard's source
// did not give is not measured.
func TestMergeResources(t *testing.T) {
	l := workload.NewLatency()
	l.Record(time.Millisecond)
	a, b := shardReport(t, "g", 0, 2, l, 10), shardReport(t, "g", 1, 2, l, 10)
	a.Cluster.Resources = &report.Resources{IntervalS: 5, Source: "faults.hooks.stats: x", Nodes: []report.NodeUsage{
		{Node: 0, Samples: 1, PeakRSSMB: 100, MeanRSSMB: 100, PeakFDs: 10, MeanFDs: 10},
		{Node: 1, Samples: 3, PeakRSSMB: 300, MeanRSSMB: 200, Series: []report.UsageSample{{}, {}, {}}},
	}}
	b.Cluster.Resources = &report.Resources{IntervalS: 5, Source: "faults.hooks.stats: x", Missing: []string{report.FigureCPU}, Nodes: []report.NodeUsage{
		{Node: 1, Samples: 1, PeakRSSMB: 250, MeanRSSMB: 250, Series: []report.UsageSample{{}}},
		{Node: 0, Samples: 3, PeakRSSMB: 90, MeanRSSMB: 60, PeakFDs: 12, MeanFDs: 6},
	}}
	m, err := report.Merge([]report.ShardReport{{File: "a", Report: a}, {File: "b", Report: b}})
	if err != nil {
		t.Fatal(err)
	}
	r := m.Cluster.Resources
	if r == nil || len(r.Nodes) != 2 || r.Has(report.FigureCPU) || !r.Has(report.FigureRSS) {
		t.Fatalf("resources %+v, want two nodes, cpu not measured", r)
	}
	n0, n1 := r.Nodes[0], r.Nodes[1]
	if n0.Node != 0 || n0.Samples != 4 || n0.PeakRSSMB != 100 || n0.MeanRSSMB != 70 || n0.PeakFDs != 12 || n0.MeanFDs != 7 {
		t.Errorf("node 0 %+v, want 4 samples, peak 100 MB, mean 70 MB, peak 12 fds, mean 7", n0)
	}
	if n1.Samples != 4 || n1.PeakRSSMB != 300 || n1.MeanRSSMB != 212.5 || len(n1.Series) != 3 {
		t.Errorf("node 1 %+v, want 4 samples, peak 300 MB, mean 212.5 MB, shard 0's series of 3", n1)
	}
}
