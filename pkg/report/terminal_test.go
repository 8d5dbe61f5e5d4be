package report

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/muesli/termenv"
)

// sample is a fully populated report of a run where one scenario failed.
func sample() *Report {
	r := New("three-node", "20250102-150405-a1b2", time.Date(2025, 1, 2, 15, 4, 5, 0, time.UTC))
	r.Config = Config{
		Nodes: 3, Topic: "multi-partition-test", Partitions: 3, ReplicationFactor: 3,
		Messages: 1000, Keys: 100, ValueBytes: 256, Acks: "all", ScenarioTimeout: "2m0s",
	}
	r.Cluster = Cluster{
		Mode:      "embedded",
		Bootstrap: []string{"127.0.0.1:9092", "127.0.0.1:9093", "127.0.0.1:9094"},
		Brokers: []Broker{
			{ID: 3, Addr: "127.0.0.1:9094"}, {ID: 1, Addr: "127.0.0.1:9092"}, {ID: 2, Addr: "127.0.0.1:9093"},
		},
	}
	r.Scenarios = []*Scenario{
		{
			Name: "topic-create", Passed: true, DurationS: 0.12, Findings: []string{},
			Notes:   []string{"leaders are spread over 3 of 3 brokers"},
			Metrics: map[string]float64{"create_s": 0.12, "partitions": 3},
		},
		{
			Name: "produce", Passed: true, DurationS: 4.08, Findings: []string{},
			Metrics: map[string]float64{"records": 1000, "retries": 4, "first_ack_ms": 3.25, "produce_s": 4.08},
		},
		{
			Name: "consume-verify", Passed: false, DurationS: 75.4,
			Findings: []string{
				"partition 2: 3 of 333 acked records not read within 2m0s (fetches to broker 3 unanswered)",
				"partition 0: offset 17 read twice",
			},
			Notes:   []string{"consumer group rebalanced once while reading; this is allowed and does not fail the run, but it slows the read-back"},
			Metrics: map[string]float64{"read_s": 75.4, "balanced_pct": 99.7},
		},
		{
			Name: "leader-failover", Passed: false, DurationS: 120,
			Error:    "context deadline exceeded after 2m0s: broker 2 never gave up leadership of partition 1",
			Findings: []string{},
		},
		{Name: "rolling-restart", Skipped: true, Passed: true, Findings: []string{},
			Notes: []string{"needs a spawned cluster; this run is embedded"}},
	}
	r.Delivery = Delivery{
		Counts:        Counts{Sent: 1000, Acked: 996, Failed: 4, Consumed: 994, Lost: 3, Duplicated: 1},
		FailedByError: map[string]int64{"NOT_LEADER_FOR_PARTITION": 3, "REQUEST_TIMED_OUT": 1},
	}
	r.Throughput = Throughput{
		ProduceMsgsPerS: 245.1, ConsumeMsgsPerS: 13.2, ProduceMBPerS: 0.06, ConsumeMBPerS: 0.003,
		ProduceDurationS: 4.08, ConsumeDurationS: 75.4,
	}
	r.Latency = Latency{P50: 1.2, P99: 8.44, P999: 12.5, Max: 1532.4, Mean: 2.1}
	r.Distribution = Distribution{Variance: 0.222, MaxDeviationPct: 0.6}
	r.Partitions = []Partition{
		{ID: 1, Leader: 2, Replicas: []int32{2, 3, 1}, ISR: []int32{2, 3, 1}, Messages: 330, HighWatermark: 330},
		{ID: 0, Leader: 1, Replicas: []int32{1, 2, 3}, ISR: []int32{1, 2, 3}, Messages: 334, HighWatermark: 335},
		{ID: 2, Leader: 3, Replicas: []int32{3, 1, 2}, ISR: []int32{3, 1}, Messages: 332, HighWatermark: 332},
	}
	r.Leaders = map[string]int{"10": 0, "2": 1, "1": 1, "3": 1}
	r.Produced, r.Consumed = true, true
	r.Finish(r.StartedAt.Add(212*time.Second + 300*time.Millisecond))
	return r
}

func asciiRenderer() *lipgloss.Renderer {
	rd := lipgloss.NewRenderer(&bytes.Buffer{})
	rd.SetColorProfile(termenv.Ascii)
	return rd
}

func render(t *testing.T, r *Report, rd *lipgloss.Renderer) string {
	t.Helper()
	var b bytes.Buffer
	if err := Render(&b, r, rd); err != nil {
		t.Fatalf("Render: %v", err)
	}
	return b.String()
}

// checkGolden compares got with testdata/name; UPDATE_GOLDEN=1 rewrites the file.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	golden := filepath.Join("testdata", name)
	if os.Getenv("UPDATE_GOLDEN") != "" {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with UPDATE_GOLDEN=1 to create it)", err)
	}
	if got != string(want) {
		t.Errorf("report differs from %s (UPDATE_GOLDEN=1 to update):\n--- got\n%s\n--- want\n%s", golden, got, want)
	}
}

func TestRenderGolden(t *testing.T) {
	checkGolden(t, "report.golden", render(t, sample(), asciiRenderer()))
}

func TestRenderFailed(t *testing.T) {
	r := sample()
	out := render(t, r, asciiRenderer())
	for _, want := range append(r.Scenario("consume-verify").Findings,
		"FAILED (2/5 scenarios passed, 1 skipped)",
		"context deadline exceeded",
		"▶ leader-failover  FAILED (2m0s)",
	) {
		if !strings.Contains(oneLine(out), oneLine(want)) {
			t.Errorf("report lacks %q", want)
		}
	}
}

func TestRenderASCIIHasNoEscapes(t *testing.T) {
	for name, rd := range map[string]*lipgloss.Renderer{"ascii": asciiRenderer(), "nil": nil} {
		if out := render(t, sample(), rd); strings.Contains(out, "\x1b[") {
			t.Errorf("%s renderer: output has ANSI escapes", name)
		}
	}
}

func TestRenderColor(t *testing.T) {
	rd := lipgloss.NewRenderer(&bytes.Buffer{})
	rd.SetColorProfile(termenv.ANSI)
	out := render(t, sample(), rd)
	if !strings.Contains(out, "\x1b[") {
		t.Error("ANSI renderer gave no escape codes")
	}
	if plain := ansi.Strip(out); plain != render(t, sample(), asciiRenderer()) {
		t.Error("coloured report without its escape codes differs from the plain report")
	}
}

func TestRenderWidth(t *testing.T) {
	r := sample()
	r.Scenarios[2].Findings = append(r.Scenarios[2].Findings, strings.Repeat("x", 150))
	r.Cluster.Bootstrap = append(r.Cluster.Bootstrap, strings.Repeat("very-long-host-name.", 6)+"example:9092")
	for _, rd := range []*lipgloss.Renderer{asciiRenderer(), nil} {
		for i, l := range strings.Split(render(t, r, rd), "\n") {
			if w := ansi.StringWidth(l); w > 100 {
				t.Errorf("line %d is %d columns: %q", i+1, w, l)
			}
		}
	}
}

func TestRenderVerdicts(t *testing.T) {
	pass := func() *Report {
		r := sample()
		for _, s := range r.Scenarios {
			s.Passed, s.Skipped, s.Error, s.Findings = true, false, "", nil
		}
		r.Finish(r.StartedAt.Add(time.Second))
		return r
	}
	tests := []struct {
		name string
		r    func() *Report
		want string
	}{
		{"passed", pass, "✓ PASSED (5/5 scenarios) in 1.00s"},
		{"failed", sample, "✗ FAILED (2/5 scenarios passed, 1 skipped) in 3m32s"},
		{"interrupted", func() *Report {
			r := pass()
			r.Interrupted = true
			r.Finish(r.StartedAt.Add(time.Second))
			return r
		}, "■ INTERRUPTED (5/5 scenarios passed) in 1.00s"},
		{"empty", func() *Report {
			r := New("p", "id", time.Time{})
			return r
		}, "✗ FAILED (no scenario ran)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if out := render(t, tt.r(), nil); !strings.Contains(out, tt.want) {
				t.Errorf("report lacks %q:\n%s", tt.want, out)
			}
		})
	}
}

func TestRenderManyPartitions(t *testing.T) {
	r := sample()
	r.Partitions = nil
	for i := range 120 {
		n := int64(100)
		if i == 77 {
			n = 160
		}
		r.Partitions = append(r.Partitions, Partition{ID: int32(i), Leader: int32(i%3 + 1),
			Replicas: []int32{1, 2, 3}, ISR: []int32{1, 2, 3}, Messages: n, HighWatermark: n})
	}
	out := render(t, r, nil)
	if !strings.Contains(out, "120 partitions: 120 in sync, 0 under-replicated") {
		t.Errorf("no partition summary:\n%s", out)
	}
	if !strings.Contains(out, "the 10 furthest from the mean") {
		t.Errorf("distribution not cut to the furthest partitions:\n%s", out)
	}
	if n := strings.Count(out, "\n"); n > 120 {
		t.Errorf("report of 120 partitions is %d lines", n)
	}
}

func TestFormatters(t *testing.T) {
	tests := []struct{ got, want string }{
		{commas(0), "0"},
		{commas(999), "999"},
		{commas(1000), "1,000"},
		{commas(-1234567), "-1,234,567"},
		{seconds(0.004), "0.004s"},
		{seconds(0.12), "0.12s"},
		{seconds(12.34), "12.3s"},
		{seconds(125), "2m5s"},
		{number(3), "3"},
		{number(12345.6), "12,346"},
		{number(0.33333), "0.333"},
		{metric("failover_s", 1.5), "1.50s"},
		{metric("p99_ms", 8.444), "8.44 ms"},
		{metric("balanced_pct", 99.71), "99.7%"},
		{metric("records", 1000), "1,000"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func TestCompareIDs(t *testing.T) {
	keys := []string{"10", "x", "2", "-1", "1"}
	slicesSort(keys)
	if got := strings.Join(keys, " "); got != "1 2 10 -1 x" {
		t.Errorf("sorted ids = %q", got)
	}
}

func slicesSort(keys []string) { slices.SortFunc(keys, compareIDs) }

// oneLine joins wrapped lines and collapses runs of spaces.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
