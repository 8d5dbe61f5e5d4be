package report_test

import (
	"bytes"
	"io"
	"os"
	"testing"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"github.com/chronik-e2e/chronik-e2e/pkg/gate"
	"github.com/chronik-e2e/chronik-e2e/pkg/report"
	"github.com/chronik-e2e/chronik-e2e/pkg/workload"
)

// FuzzParseJSON: every input is a report that renders and compares (what
// report show, report diff and --baseline do with it), or an error;
// never a panic. Seeded with the documented example and a report of every
// part. `make fuzz` runs it for longer.
func FuzzParseJSON(f *testing.F) {
	example, err := os.ReadFile(exampleFile)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(example)
	path := f.TempDir() + "/r.json"
	if err := report.GatedSample().WriteJSON(path); err != nil {
		f.Fatal(err)
	}
	sample, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sample)
	for _, s := range []string{`{"schema_version": 1, "scenarios": [null]}`, `{"schema_version": 1, "kind": "repeat", "runs": [null]}`, `null`, `[]`} {
		f.Add([]byte(s))
	}
	rd := lipgloss.NewRenderer(io.Discard)
	rd.SetColorProfile(termenv.Ascii)
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := report.ParseJSON("f.json", data)
		if err != nil {
			return
		}
		if st.Run != nil {
			if err := report.Render(io.Discard, st.Run, rd); err != nil {
				t.Fatalf("render: %v", err)
			}
		}
		if st.Repeat != nil {
			if err := report.RenderRepeat(io.Discard, st.Repeat, rd); err != nil {
				t.Fatalf("render repeat: %v", err)
			}
		}
		src := gate.FromStored("f.json", st)
		_ = gate.Compare(src, src, 10, nil)
	})
}

// FuzzMerge: a shard report of any content merged with a sound one is a
// merged report that renders, or an error; never a panic (a partition id
// of -1 once indexed out of range).
func FuzzMerge(f *testing.F) {
	l := workload.NewLatency()
	l.Record(time.Millisecond)
	sound := func(i int) *report.Report {
		start := time.Date(2026, 12, 1, 12, 0, i, 0, time.UTC)
		r := report.New("3x3", "00000000000000aa", start)
		r.Config = report.Config{Topic: "t", Partitions: 1, Messages: 30, Keys: 4}
		r.Shard = &report.Shard{Group: "g", Index: i, Count: 2, FirstSeq: 15 * i, LastSeq: 15*i + 14, FirstKey: 2 * i, LastKey: 2*i + 1}
		r.Scenarios = []*report.Scenario{{Name: "produce", Passed: true, Findings: []string{}}}
		r.Produced = true
		r.Delivery.Sent, r.Delivery.Acked = 15, 15
		r.Partitions = []report.Partition{{ID: 0, Messages: 15, HighWatermark: 30}}
		r.Latency = report.LatencyOf(l)
		r.Finish(start.Add(time.Second))
		return r
	}
	path := f.TempDir() + "/s1.json"
	if err := sound(1).WriteJSON(path); err != nil {
		f.Fatal(err)
	}
	seed, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add(bytes.Replace(seed, []byte(`"id": 0`), []byte(`"id": -1`), 1))
	rd := lipgloss.NewRenderer(io.Discard)
	rd.SetColorProfile(termenv.Ascii)
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := report.ParseJSON("s1.json", data)
		if err != nil || st.Run == nil || st.Run.Shard == nil {
			return
		}
		m, err := report.Merge([]report.ShardReport{{File: "s0.json", Report: sound(0)}, {File: "s1.json", Report: st.Run}})
		if err != nil {
			return
		}
		if err := report.Render(io.Discard, m, rd); err != nil {
			t.Fatalf("render: %v", err)
		}
	})
}
