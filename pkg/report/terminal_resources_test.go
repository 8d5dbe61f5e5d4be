package report

import (
	"strings"
	"testing"
)

func TestSpark(t *testing.T) {
	s := []UsageSample{{AtS: 0, RSSMB: 0}, {AtS: 1, RSSMB: 50}, {AtS: 2, RSSMB: 100}, {AtS: 3, RSSMB: 100}}
	if got := spark(s, 3); got != "▁▅██" {
		t.Errorf("spark = %q, want ▁▅██", got)
	}
	// More samples than columns: each column shows the highest in its slice.
	var long []UsageSample
	for i := range 200 {
		long = append(long, UsageSample{AtS: float64(i), RSSMB: float64(i)})
	}
	if got := []rune(spark(long, 199)); len(got) != sparkWidth || got[0] != '▁' || got[sparkWidth-1] != '█' {
		t.Errorf("spark of 200 rising samples = %q, want %d columns from ▁ to █", string(got), sparkWidth)
	}
}

func TestResourcesRender(t *testing.T) {
	var p printer
	p.resources(Cluster{Resources: &Resources{Unavailable: "not available on darwin: node resources are read from /proc (Linux)"}})
	if !strings.Contains(p.b.String(), "resources  not available on darwin") {
		t.Errorf("unavailable: %q", p.b.String())
	}
	p = printer{}
	p.resources(Cluster{Resources: &Resources{IntervalS: 1, Nodes: []NodeUsage{
		{Node: 2, Samples: 2, PeakRSSMB: 6021, MeanRSSMB: 3000, PeakCPUPct: 87.4, MeanCPUPct: 2.5, PeakFDs: 312, Series: []UsageSample{{AtS: 0, RSSMB: 10}, {AtS: 1, RSSMB: 6021}}},
		{Node: 1},
	}}})
	out := p.b.String()
	for _, want := range []string{
		"     1  not sampled",
		"     2   6,021 MB   3,000 MB       87%      2.5%       312",
		"     2  ▁█  6,021 MB",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("render lacks %q:\n%s", want, out)
		}
	}
}
