//go:build cgo

// Package junitxsd_test validates the JUnit XML that chronik-e2e writes
// against testdata/junit.xsd, the JUnit format as Jenkins, GitLab and GitHub
// read it, with libxml2 (github.com/terminalstatic/go-xsd-validate; cgo, in
// this test only). The reports are those of real runs on embedded clusters:
// a healthy one, one whose produce fails on a partition and whose thresholds
// fail, and a repeat of both.
package junitxsd_test

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	xsdvalidate "github.com/terminalstatic/go-xsd-validate"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/chronik-e2e/chronik-e2e/pkg/cluster"
	"github.com/chronik-e2e/chronik-e2e/pkg/gate"
	"github.com/chronik-e2e/chronik-e2e/pkg/profile"
	"github.com/chronik-e2e/chronik-e2e/pkg/report"
	"github.com/chronik-e2e/chronik-e2e/pkg/runner"
	"github.com/chronik-e2e/chronik-e2e/pkg/scenarios"
)

func TestMain(m *testing.M) {
	if err := xsdvalidate.Init(); err != nil {
		panic(err)
	}
	code := m.Run()
	xsdvalidate.Cleanup()
	os.Exit(code)
}

// schema compiles testdata/junit.xsd.
func schema(t *testing.T) *xsdvalidate.XsdHandler {
	t.Helper()
	xsd, err := os.ReadFile("testdata/junit.xsd")
	if err != nil {
		t.Fatal(err)
	}
	h, err := xsdvalidate.NewXsdHandlerMem(xsd, xsdvalidate.ParsErrVerbose)
	if err != nil {
		t.Fatalf("testdata/junit.xsd: %v", err)
	}
	t.Cleanup(h.Free)
	return h
}

// run runs a small profile with thresholds against a fresh embedded cluster
// that faults (when faults are given) and returns the judged report.
func run(t *testing.T, plan *gate.Plan, faults ...kfake.Fault) *report.Report {
	t.Helper()
	c, err := cluster.StartEmbedded(3)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if len(faults) > 0 {
		c.Kfake().Fault(faults...)
	}
	p := profile.Default()
	p.Name = "xsd & <check>"
	p.Workload.Messages = 300
	p.Timeouts.ClusterReady.Duration = 30 * time.Second
	p.Timeouts.Scenario.Duration = 30 * time.Second
	if err := p.Validate(scenarios.Names()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rep, err := runner.Run(ctx, runner.Options{Profile: p, Cluster: c})
	if err != nil {
		t.Fatal(err)
	}
	plan.Judge(rep)
	return rep
}

func thresholds(t *testing.T, exprs ...string) []gate.Threshold {
	t.Helper()
	var out []gate.Threshold
	for _, e := range exprs {
		th, err := gate.ParseThreshold(e)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, th)
	}
	return out
}

func TestJUnitValidatesAgainstXSD(t *testing.T) {
	h := schema(t)
	healthy := run(t, &gate.Plan{Thresholds: thresholds(t, "delivery.lost == 0", "produce.p99_ms < 60000")})
	if !healthy.Passed {
		t.Fatalf("the healthy run failed: %+v", healthy.Scenarios)
	}
	plan := &gate.Plan{
		Thresholds:   thresholds(t, "delivery.failed == 0", "produce.msgs_per_s > 1e12", "leaders.max_minus_min <= 1"),
		Baseline:     gate.FromRun("healthy.json", healthy),
		TolerancePct: 0,
	}
	faulty := run(t, plan, kfake.Fault{Keys: []kmsg.Key{kmsg.Produce}, Err: kerr.NotEnoughReplicas, Partitions: []int32{1}, Count: -1})
	if faulty.ChecksPassed() || faulty.Gate == nil || faulty.Gate.Passed {
		t.Fatalf("the faulty run should fail its checks and its gate: %+v", faulty.Gate)
	}

	// A hand-made report for what the runs cannot show: an error, a skip,
	// an interruption, and text XML cannot hold as it is.
	odd := report.New("odd", "id", time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	odd.Scenarios = []*report.Scenario{
		{Name: "produce", Error: "timed out after 2m0s: <no answer> & \x00\x1b[31m\xff", Findings: []string{}},
		{Name: "consume", Skipped: true, Error: "skipped: nothing to verify", Findings: []string{}},
		{Name: "metadata", Findings: []string{"partition 2 has no leader", "second\nline"}, Notes: []string{"a \"note\""}},
	}
	odd.Interrupted = true
	odd.Finish(odd.StartedAt.Add(-time.Second)) // a negative duration must not write a negative time

	rep := &report.Repeat{SchemaVersion: report.SchemaVersion, Kind: report.KindRepeat, Profile: "xsd",
		StartedAt: time.Now(), Requested: 3, Runs: []*report.Report{healthy, faulty}, Interrupted: true}
	(&gate.Plan{Baseline: gate.FromRun("healthy.json", healthy), TolerancePct: 10}).JudgeRepeat(rep)

	docs := map[string]func(*bytes.Buffer) error{
		"healthy run": func(b *bytes.Buffer) error { return report.WriteJUnit(b, healthy) },
		"faulty run":  func(b *bytes.Buffer) error { return report.WriteJUnit(b, faulty) },
		"odd run":     func(b *bytes.Buffer) error { return report.WriteJUnit(b, odd) },
		"repeat":      func(b *bytes.Buffer) error { return report.WriteJUnitRepeat(b, rep) },
	}
	for name, write := range docs {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			if err := write(&b); err != nil {
				t.Fatal(err)
			}
			if err := h.ValidateMem(b.Bytes(), xsdvalidate.ValidErrDefault); err != nil {
				t.Errorf("JUnit XML does not validate against testdata/junit.xsd: %v\n%s", err, b.String())
			}
		})
	}

	// The schema is not a rubber stamp: broken documents fail it.
	var b bytes.Buffer
	if err := report.WriteJUnit(&b, faulty); err != nil {
		t.Fatal(err)
	}
	good := b.String()
	for name, bad := range map[string]string{
		"a negative count":        strings.Replace(good, `errors="0"`, `errors="-1"`, 1),
		"a time with a unit":      strings.Replace(good, `time="0"`, `time="0s"`, 1),
		"a testcase without name": strings.Replace(good, `<testcase name="topic-create"`, `<testcase`, 1),
		"an unknown element":      strings.Replace(good, `</testsuite>`, `<flaky/></testsuite>`, 1),
		"two outcomes":            strings.Replace(good, `<failure `, `<skipped></skipped><failure `, 1),
	} {
		if bad == good {
			t.Fatalf("%s: the replacement did not apply", name)
		}
		if err := h.ValidateMem([]byte(bad), xsdvalidate.ValidErrDefault); err == nil {
			t.Errorf("%s: validates, want an error", name)
		}
	}
}
