package report

import (
	"bytes"
	"encoding/xml"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/muesli/termenv"
)

func ptr(v float64) *float64 { return &v }

// gatedSample is sample() with every scenario passed, a latency histogram,
// thresholds (one failed, one unmeasured) and a regressed baseline
// comparison: a run that fails only its gate.
func gatedSample() *Report {
	r := sample()
	for _, s := range r.Scenarios {
		s.Passed, s.Skipped, s.Error, s.Findings = true, false, "", []string{}
	}
	r.Delivery.Lost, r.Delivery.Duplicated = 0, 0
	r.Latency.Histogram = []Bucket{{LeMs: 1, Count: 120}, {LeMs: 2, Count: 700}, {LeMs: 5, Count: 150}, {LeMs: 10, Count: 26}, {LeMs: 20, Count: 0}, {LeMs: 50, Count: 0}, {LeMs: 100, Count: 4}}
	r.Finish(r.StartedAt.Add(212*time.Second + 300*time.Millisecond))
	r.Gate = &Gate{
		ChecksPassed: true,
		Thresholds: []Threshold{
			{Expr: "delivery.lost == 0", Metric: "delivery.lost", Unit: "messages", Passed: true, Value: ptr(0)},
			{Expr: "produce.p99_ms < 5", Metric: "produce.p99_ms", Unit: "ms", Passed: false, Value: ptr(8.44)},
			{Expr: "consume.msgs_per_s > 1000", Metric: "consume.msgs_per_s", Unit: "msg/s", Reason: "not measured: the consume scenario did not run or did not finish"},
		},
		Baseline: &Comparison{
			File: "v2.10.2.json", Profile: "three-node", RunID: "1438acbcba65a343",
			StartedAt: time.Date(2024, 12, 1, 10, 0, 0, 0, time.UTC), TolerancePct: 10,
			Metrics: []Delta{
				{Metric: "produce.msgs_per_s", Scenario: "produce", Unit: "msg/s", Better: "higher", Baseline: 107206, Value: 245.1, DeltaPct: ptr(-99.77), Regressed: true},
				{Metric: "produce.p50_ms", Scenario: "produce", Unit: "ms", Better: "lower", Baseline: 1.25, Value: 1.2, DeltaPct: ptr(-4)},
				{Metric: "produce.p99_ms", Scenario: "produce", Unit: "ms", Better: "lower", Baseline: 0, Value: 8.44, Regressed: true},
			},
			Notes: []string{"the baseline ran another configuration: messages 10000 → 1000"},
		},
	}
	r.Passed = false
	return r
}

func TestRenderGate(t *testing.T) {
	r := gatedSample()
	out := render(t, r, asciiRenderer())
	checkGolden(t, "gate.golden", out)
	for _, want := range []string{
		"  ✓ delivery.lost == 0         0 messages",
		"  ✗ produce.p99_ms < 5         8.44 ms",
		"  ✗ consume.msgs_per_s > 1000  not measured: the consume scenario did not run",
		"Baseline comparison (tolerance 10%)",
		"  ✗ produce.msgs_per_s  107,206 msg/s  245 msg/s  -99.8%  (higher is better)",
		"  ✓ produce.p50_ms            1.25 ms    1.20 ms   -4.0%  (lower is better)",
		"  ✗ produce.p99_ms            0.00 ms    8.44 ms       —  (lower is better)",
		"  • the baseline ran another configuration: messages 10000 → 1000",
		"  ✗ 2 of 3 metrics worse than the baseline by more than 10%",
		"   ≤ 1 ms    120   12.0%  █████",
		" ≤ 100 ms      4    0.4%  █",
		"✗ FAILED (5/5 scenarios passed; 2 of 3 thresholds failed;\n",
		"2 of 3 metrics regressed) in 3m32s\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	for i, l := range strings.Split(out, "\n") {
		if w := ansi.StringWidth(l); w > lineWidth {
			t.Errorf("line %d is %d columns: %q", i+1, w, l)
		}
	}
}

func TestRenderGatePassed(t *testing.T) {
	r := gatedSample()
	r.Gate.Thresholds = r.Gate.Thresholds[:1]
	r.Gate.Baseline.Metrics = r.Gate.Baseline.Metrics[1:2]
	r.Gate.Passed, r.Gate.Baseline.Passed, r.Passed = true, true, true
	out := render(t, r, nil)
	if want := "✓ PASSED (5/5 scenarios; 1/1 thresholds; baseline within 10%) in 3m32s"; !strings.Contains(out, want) {
		t.Errorf("report lacks %q:\n%s", want, out)
	}
	if strings.Contains(out, "✗") {
		t.Errorf("a passing gate shows a ✗:\n%s", out)
	}
}

func TestFormatValue(t *testing.T) {
	for _, tt := range []struct {
		v    float64
		unit string
		want string
	}{
		{8.444, "ms", "8.44 ms"},
		{0.12, "s", "0.12s"},
		{107206.4, "msg/s", "107,206 msg/s"},
		{10.72, "MB/s", "10.7 MB/s"},
		{2.04, "%", "2.0%"},
		{1000, "messages", "1,000 messages"},
		{22.2222, "messages²", "22.222"},
		{1, "partitions", "1 partitions"},
	} {
		if got := FormatValue(tt.v, tt.unit); got != tt.want {
			t.Errorf("FormatValue(%v, %q) = %q, want %q", tt.v, tt.unit, got, tt.want)
		}
	}
	if got := deltaPct(nil); got != "—" {
		t.Errorf("deltaPct(nil) = %q", got)
	}
	if got := deltaPct(ptr(-0.01)); got != "0.0%" {
		t.Errorf("deltaPct(-0.01) = %q", got)
	}
}

// junitDoc is the JUnit XML as a strict reader sees it: every element and
// attribute the format has, and only those (the XSD check in
// pkg/report/junitxsd validates the same output against a schema).
type junitDoc struct {
	XMLName  xml.Name `xml:"testsuites"`
	Name     string   `xml:"name,attr"`
	Tests    string   `xml:"tests,attr"`
	Failures string   `xml:"failures,attr"`
	Errors   string   `xml:"errors,attr"`
	Time     string   `xml:"time,attr"`
	Suites   []struct {
		Name       string `xml:"name,attr"`
		Tests      string `xml:"tests,attr"`
		Failures   string `xml:"failures,attr"`
		Errors     string `xml:"errors,attr"`
		Skipped    string `xml:"skipped,attr"`
		Time       string `xml:"time,attr"`
		Timestamp  string `xml:"timestamp,attr"`
		Properties []struct {
			Name  string `xml:"name,attr"`
			Value string `xml:"value,attr"`
		} `xml:"properties>property"`
		Cases []struct {
			Name      string `xml:"name,attr"`
			Classname string `xml:"classname,attr"`
			Time      string `xml:"time,attr"`
			Failure   *struct {
				Message string `xml:"message,attr"`
				Type    string `xml:"type,attr"`
				Text    string `xml:",chardata"`
			} `xml:"failure"`
			Error *struct {
				Message string `xml:"message,attr"`
			} `xml:"error"`
			Skipped *struct {
				Message string `xml:"message,attr"`
			} `xml:"skipped"`
			SystemOut string `xml:"system-out"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

func parseJUnit(t *testing.T, data []byte) junitDoc {
	t.Helper()
	var d junitDoc
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = true
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("JUnit XML does not parse: %v\n%s", err, data)
	}
	return d
}

// checkJUnitCounts checks what every JUnit reader relies on: counters that
// are whole numbers and add up, times that are plain decimals.
func checkJUnitCounts(t *testing.T, d junitDoc) {
	t.Helper()
	atoi := func(what, s string) int {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			t.Errorf("%s = %q, not a count", what, s)
		}
		return n
	}
	decimal := func(what, s string) {
		if _, err := strconv.ParseFloat(s, 64); err != nil || strings.ContainsAny(s, "eE+-") {
			t.Errorf("%s = %q, not a plain decimal", what, s)
		}
	}
	decimal("testsuites time", d.Time)
	var tests, failures, errors int
	for _, s := range d.Suites {
		decimal(s.Name+" time", s.Time)
		var f, e, sk int
		for _, c := range s.Cases {
			decimal(c.Name+" time", c.Time)
			if c.Name == "" || c.Classname == "" {
				t.Errorf("testcase %+v lacks a name or classname", c)
			}
			switch {
			case c.Failure != nil:
				f++
			case c.Error != nil:
				e++
			case c.Skipped != nil:
				sk++
			}
		}
		if atoi("tests", s.Tests) != len(s.Cases) || atoi("failures", s.Failures) != f || atoi("errors", s.Errors) != e || atoi("skipped", s.Skipped) != sk {
			t.Errorf("suite %s counts tests=%s failures=%s errors=%s skipped=%s; its testcases: %d, %d, %d, %d",
				s.Name, s.Tests, s.Failures, s.Errors, s.Skipped, len(s.Cases), f, e, sk)
		}
		tests, failures, errors = tests+len(s.Cases), failures+f, errors+e
	}
	if atoi("tests", d.Tests) != tests || atoi("failures", d.Failures) != failures || atoi("errors", d.Errors) != errors {
		t.Errorf("testsuites counts %s/%s/%s, suites add up to %d/%d/%d", d.Tests, d.Failures, d.Errors, tests, failures, errors)
	}
}

func TestJUnit(t *testing.T) {
	var b bytes.Buffer
	r := sample() // a failed scenario, one with an error, a skipped one
	r.Gate = gatedSample().Gate
	if err := WriteJUnit(&b, r); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(b.String(), `<?xml version="1.0" encoding="UTF-8"?>`) {
		t.Errorf("no XML declaration:\n%s", b.String())
	}
	d := parseJUnit(t, b.Bytes())
	checkJUnitCounts(t, d)
	if len(d.Suites) != 1 {
		t.Fatalf("%d suites, want 1", len(d.Suites))
	}
	s := d.Suites[0]
	if s.Name != "chronik-e2e three-node" || s.Timestamp != "2025-01-02T15:04:05" || s.Time != "212.300" {
		t.Errorf("suite %s at %s took %s", s.Name, s.Timestamp, s.Time)
	}
	props := map[string]string{}
	for _, p := range s.Properties {
		props[p.Name] = p.Value
	}
	if props["profile"] != "three-node" || props["partitions"] != "3" || props["acks"] != "all" {
		t.Errorf("properties %v", props)
	}
	// 5 scenarios, 3 thresholds, 3 compared metrics.
	if len(s.Cases) != 11 {
		t.Fatalf("%d testcases, want 11", len(s.Cases))
	}
	byName := map[string]int{}
	for i, c := range s.Cases {
		byName[c.Classname+" "+c.Name] = i
	}
	get := func(class, name string) int {
		i, ok := byName["chronik-e2e.three-node."+class+" "+name]
		if !ok {
			t.Fatalf("no testcase %s %s in %v", class, name, byName)
		}
		return i
	}
	c := s.Cases[get("scenario", "consume-verify")]
	if c.Failure == nil || c.Failure.Type != "finding" || !strings.Contains(c.Failure.Text, "partition 0: offset 17 read twice") || c.Time != "75.400" {
		t.Errorf("failed scenario: %+v", c)
	}
	if c := s.Cases[get("scenario", "leader-failover")]; c.Error == nil || !strings.Contains(c.Error.Message, "context deadline exceeded") {
		t.Errorf("scenario with an error: %+v", c)
	}
	if c := s.Cases[get("scenario", "rolling-restart")]; c.Skipped == nil {
		t.Errorf("skipped scenario: %+v", c)
	}
	if c := s.Cases[get("scenario", "topic-create")]; c.Failure != nil || c.Error != nil || c.SystemOut != "leaders are spread over 3 of 3 brokers" {
		t.Errorf("passed scenario: %+v", c)
	}
	if c := s.Cases[get("threshold", "produce.p99_ms < 5")]; c.Failure == nil || c.Failure.Message != "produce.p99_ms is 8.44 ms: produce.p99_ms < 5 does not hold" {
		t.Errorf("failed threshold: %+v", c)
	}
	if c := s.Cases[get("threshold", "consume.msgs_per_s > 1000")]; c.Failure == nil || !strings.Contains(c.Failure.Message, "not measured") {
		t.Errorf("unmeasured threshold: %+v", c)
	}
	if c := s.Cases[get("threshold", "delivery.lost == 0")]; c.Failure != nil {
		t.Errorf("passed threshold: %+v", c)
	}
	if c := s.Cases[get("baseline", "produce.msgs_per_s")]; c.Failure == nil || c.Failure.Type != "regression" ||
		c.Failure.Message != "produce.msgs_per_s: 245 msg/s, baseline 107,206 msg/s (-99.8%): worse than the baseline by more than 10%" {
		t.Errorf("regressed metric: %+v", c.Failure)
	}
	if c := s.Cases[get("baseline", "produce.p50_ms")]; c.Failure != nil {
		t.Errorf("metric within tolerance: %+v", c)
	}
}

func TestJUnitRepeat(t *testing.T) {
	pass := gatedSample()
	pass.Gate = nil
	rep := &Repeat{Profile: "p", Requested: 3, Runs: []*Report{pass, sample()},
		Scenarios: []RepeatScenario{{Name: "produce", Runs: 2, Passed: 2}, {Name: "consume-verify", Runs: 2, Passed: 1, Flaky: true}, {Name: "leader-failover", Runs: 2}},
		Baseline:  gatedSample().Gate.Baseline, Interrupted: true}
	var b bytes.Buffer
	if err := WriteJUnitRepeat(&b, rep); err != nil {
		t.Fatal(err)
	}
	d := parseJUnit(t, b.Bytes())
	checkJUnitCounts(t, d)
	var names []string
	for _, s := range d.Suites {
		names = append(names, s.Name)
	}
	if got := strings.Join(names, "|"); got != "chronik-e2e p run 1 of 3|chronik-e2e p run 2 of 3|chronik-e2e p repeat" {
		t.Errorf("suites %s", got)
	}
	last := d.Suites[2]
	msgs := map[string]string{}
	for _, c := range last.Cases {
		switch {
		case c.Failure != nil:
			msgs[c.Name] = c.Failure.Message
		case c.Error != nil:
			msgs[c.Name] = c.Error.Message
		default:
			msgs[c.Name] = "ok"
		}
	}
	for name, want := range map[string]string{
		"produce":            "ok",
		"consume-verify":     "flaky: passed 1 of 2 runs",
		"leader-failover":    "failed every one of 2 runs",
		"runs":               "2 of 3 runs done: the repeat was interrupted",
		"produce.msgs_per_s": "produce.msgs_per_s: 245 msg/s, baseline 107,206 msg/s (-99.8%): worse than the baseline by more than 10%",
	} {
		if msgs[name] != want {
			t.Errorf("repeat testcase %s: %q, want %q", name, msgs[name], want)
		}
	}
}

func TestMarkdown(t *testing.T) {
	var b bytes.Buffer
	r := gatedSample()
	r.Scenarios[2].Findings = []string{"partition 2 | offset 3\nread <twice>"}
	r.Scenarios[2].Passed = false
	r.Gate.ChecksPassed = false
	if err := WriteMarkdown(&b, r); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	for _, want := range []string{
		"## ❌ chronik-e2e three-node: FAILED\n",
		"| ✅ | topic-create | passed | 0.12s | 0 |",
		"| ❌ | consume-verify | failed | 1m15s | 1 |",
		"| ❌ | `produce.p99_ms < 5` | 8.44 ms |",
		"| ❌ | `consume.msgs_per_s > 1000` | not measured: the consume scenario did not run or did not finish |",
		"### Baseline comparison (tolerance 10%)",
		"| ❌ | produce | `produce.msgs_per_s` | 107,206 msg/s | 245 msg/s | -99.8% |",
		"- the baseline ran another configuration: messages 10000 → 1000",
		"- **consume-verify**: partition 2 \\| offset 3 read &lt;twice&gt;",
		"| 1,000 | 996 | 4 | 994 | 0 | 0 | 0 | 0 | 0 | 0 |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("Markdown lacks %q:\n%s", want, md)
		}
	}

	b.Reset()
	if err := WriteMarkdown(&b, gatedSample()); err != nil {
		t.Fatal(err)
	}
	if want := "## ❌ chronik-e2e three-node: FAILED (thresholds or baseline; every check passed)\n"; !strings.HasPrefix(b.String(), want) {
		t.Errorf("gate-only failure heading: %q", strings.SplitN(b.String(), "\n", 2)[0])
	}
}

func TestMarkdownFileAppends(t *testing.T) {
	path := filepath.Join(t.TempDir(), "summary.md")
	if err := os.WriteFile(path, []byte("earlier step\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteMarkdownFile(path, gatedSample(), nil, true); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	if !strings.HasPrefix(string(data), "earlier step\n## ❌ chronik-e2e") {
		t.Errorf("not appended:\n%s", data)
	}
	if err := WriteMarkdownFile(path, gatedSample(), nil, false); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(path); strings.Contains(string(data), "earlier step") {
		t.Error("--markdown did not replace the file")
	}
}

func TestRenderRepeat(t *testing.T) {
	pass := gatedSample()
	pass.Gate, pass.Passed = nil, true
	fail := sample()
	rep := &Repeat{Profile: "three-node", Requested: 2, StartedAt: pass.StartedAt, DurationS: 300, Passed: false,
		Runs:      []*Report{pass, fail},
		Scenarios: []RepeatScenario{{Name: "topic-create", Runs: 2, Passed: 2}, {Name: "consume-verify", Runs: 2, Passed: 1, Flaky: true}},
		Spread: []Spread{
			{Metric: "produce.msgs_per_s", Unit: "msg/s", Runs: 2, Min: 200, Median: 245.1, Max: 290.2},
			{Metric: "delivery.lost", Unit: "messages", Runs: 1, Min: 3, Median: 3, Max: 3},
		}}
	var b bytes.Buffer
	if err := RenderRepeat(&b, rep, nil); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"RUN 2 of 2", // the failed run in full
		"▶ consume-verify  FAILED (1m15s)",
		"REPEAT SUMMARY (2 runs)",
		"  ✓ run 1   PASSED         3m32s  20250102-150405-a1b2",
		"  ✗ run 2   FAILED         3m32s  20250102-150405-a1b2  failed: consume-verify,",
		"  ✗ consume-verify  1/2 passed  FLAKY: passed some runs and failed others",
		"  produce.msgs_per_s   200 msg/s   245 msg/s   290 msg/s",
		"  delivery.lost  ", "(1 of 2 runs)",
		"✗ FAILED (1/2 runs passed; flaky: consume-verify) in 5m0s",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("repeat report lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "RUN 1 of 2") {
		t.Error("a passing run is shown in full")
	}
	for i, l := range strings.Split(out, "\n") {
		if w := ansi.StringWidth(l); w > lineWidth {
			t.Errorf("line %d is %d columns: %q", i+1, w, l)
		}
	}
}

// TestRenderGateColor: with colour, the gate's tables and the repeat report
// say the same as without, escape codes aside.
func TestRenderGateColor(t *testing.T) {
	rd := lipgloss.NewRenderer(&bytes.Buffer{})
	rd.SetColorProfile(termenv.ANSI)
	r := gatedSample()
	out := render(t, r, rd)
	if !strings.Contains(out, "\x1b[") {
		t.Error("ANSI renderer gave no escape codes")
	}
	if ansi.Strip(out) != render(t, r, asciiRenderer()) {
		t.Error("coloured report without its escape codes differs from the plain report")
	}
	rep := &Repeat{Profile: "p", Requested: 1, Runs: []*Report{r}, Scenarios: []RepeatScenario{{Name: "produce", Runs: 1}},
		Spread: []Spread{{Metric: "produce.p99_ms", Unit: "ms", Runs: 1, Min: 1, Median: 1, Max: 1}}, Baseline: r.Gate.Baseline}
	var colour, plain bytes.Buffer
	if err := RenderRepeat(&colour, rep, rd); err != nil {
		t.Fatal(err)
	}
	if err := RenderRepeat(&plain, rep, nil); err != nil {
		t.Fatal(err)
	}
	if ansi.Strip(colour.String()) != plain.String() || strings.Contains(plain.String(), "\x1b[") {
		t.Error("coloured repeat report without its escape codes differs from the plain one")
	}
}
