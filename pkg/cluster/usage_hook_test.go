//go:build unix

package cluster

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chronik-e2e/chronik-e2e/pkg/report"
)

// ParseStats reads key=value words anywhere in a hook's output, and says
// what is wrong with output it cannot read.
func TestParseStats(t *testing.T) {
	for _, tc := range []struct {
		out  string
		want Stats
		err  string
	}{
		{out: "rss_mb=512.5 cpu_pct=35 fds=812", want: Stats{RSSMB: 512.5, CPUPct: 35, FDs: 812, Has: map[string]bool{report.FigureRSS: true, report.FigureCPU: true, report.FigureFDs: true}}},
		{out: "NAME CPU MEMORY\nchronik-0: rss_bytes=2000000 cpu_pct=250\n", want: Stats{RSSMB: 2, CPUPct: 250, Has: map[string]bool{report.FigureRSS: true, report.FigureCPU: true}}},
		{out: "fds=7 other=x", want: Stats{FDs: 7, Has: map[string]bool{report.FigureFDs: true}}},
		{out: "chronik-0 250m 512Mi", err: `no figures in its output "chronik-0 250m 512Mi": print rss_mb=`},
		{out: "rss_mb=lots", err: "rss_mb=lots is not a number of mb"},
		{out: "cpu_pct=-3", err: "cpu_pct=-3 is not a percentage"},
		{out: "fds=1.5", err: "fds=1.5 is not a count"},
		// NaN and Inf parse as floats: NaN passes every threshold (NaN > x is
		// false) and neither can be written in the JSON report.
		{out: "rss_mb=NaN", err: "rss_mb=NaN is not a number of mb"},
		{out: "rss_bytes=+Inf", err: "rss_bytes=+Inf is not a number of bytes"},
		{out: "cpu_pct=inf", err: "cpu_pct=inf is not a percentage"},
		{out: "fds=1e30", err: "fds=1e30 is not a count"},
		{out: "fds=NaN", err: "fds=NaN is not a count"},
		// Two samples of 1e308 MB sum to +Inf: a mean the JSON report cannot hold.
		{out: "rss_mb=1e308", err: "rss_mb=1e308 is beyond any node (at most 1e+12 MB)"},
		{out: "rss_bytes=1e300", err: "rss_bytes=1e300 is beyond any node"},
		{out: "cpu_pct=5e15", err: "cpu_pct=5e15 is beyond any node"},
		{out: "rss_bytes=64000000000000 cpu_pct=12800 fds=1000000", want: Stats{RSSMB: 64e6, CPUPct: 12800, FDs: 1000000, Has: map[string]bool{report.FigureRSS: true, report.FigureCPU: true, report.FigureFDs: true}}},
	} {
		got, err := ParseStats(tc.out)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%q: error %v, want %q", tc.out, err, tc.err)
		case tc.err == "" && err != nil:
			t.Errorf("%q: %v", tc.out, err)
		case tc.err == "" && (got.RSSMB != tc.want.RSSMB || got.CPUPct != tc.want.CPUPct || got.FDs != tc.want.FDs || len(got.Has) != len(tc.want.Has)):
			t.Errorf("%q = %+v, want %+v", tc.out, got, tc.want)
		}
	}
}

// The stats hook runs for every node before StartStats returns, its figures
// land in the report like /proc's, and Close stops it.
func TestStatsHookSamples(t *testing.T) {
	h, err := AttachWithHooks([]string{"127.0.0.1:1"}, Hooks{Stats: `echo rss_mb={{.ID}}00 fds=9`, StatsInterval: time.Hour, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	h.StartStats(context.Background(), []report.Broker{{ID: 1, Addr: "127.0.0.1:1"}, {ID: 2, Addr: "127.0.0.1:2"}})
	defer h.Close()
	var c report.Cluster
	h.Describe(&c)
	r := c.Resources
	if r == nil || len(r.Nodes) != 2 || r.Unavailable != "" {
		t.Fatalf("resources %+v, want two nodes sampled", r)
	}
	if n := r.Nodes[1]; n.Node != 2 || n.Samples != 1 || n.PeakRSSMB != 200 || n.PeakFDs != 9 {
		t.Errorf("node 2: %+v, want one sample of 200 MB and 9 fds", n)
	}
	if !slices.Equal(r.Missing, []string{report.FigureCPU}) || !strings.HasPrefix(r.Source, "faults.hooks.stats: echo") {
		t.Errorf("missing %v, source %q", r.Missing, r.Source)
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
}
