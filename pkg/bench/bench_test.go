package bench

import (
	"bytes"
	"strings"
	"testing"
)

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{
		{nil, 0},
		{[]float64{5}, 5},
		{[]float64{3, 1, 2}, 2},
		{[]float64{4, 1, 3, 2}, 2.5},
	} {
		if got := Median(tc.in); got != tc.want {
			t.Errorf("Median(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

// The table gives every side's median and each runner side's ratios,
// marked against the targets; without kcat its ratios are dashes.
func TestRender(t *testing.T) {
	r := &Result{Messages: 1000, ValueBytes: 100, Partitions: 9, Sides: []*Side{
		{Name: "sarama AsyncProducer (bare)", Produce: []float64{100, 300, 200}, Consume: []float64{1000, 1000, 1000}},
		{Name: "runner, batch engine, 1 producer", runner: true, Produce: []float64{500, 400, 900}, Consume: []float64{3000, 3000, 3000}},
		{Name: "runner, sarama engine, 1 producer", runner: true, Produce: []float64{150, 150, 150}, Consume: []float64{3000, 3000, 3000}},
		{Name: "kcat 1.7.1 (librdkafka 2.0.2)", Produce: []float64{600, 600, 600}, Consume: []float64{2000, 2000, 2000}},
	}}
	var out bytes.Buffer
	r.Render(&out)
	for _, want := range []string{
		"medians of 3 round(s)",
		"  runner, batch engine, 1 producer            500         3,000   500  400  900",
		"  runner, batch engine, 1 producer          2.50× ✓         0.83× ✓         1.50× ✓",
		"  runner, sarama engine, 1 producer         0.75× ✗         0.25× ✗         1.50× ✓",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	r.Sides = r.Sides[:3]
	out.Reset()
	r.Render(&out)
	if !strings.Contains(out.String(), "  runner, batch engine, 1 producer          2.50× ✓               -               -") {
		t.Errorf("without kcat, want dashes:\n%s", out.String())
	}
}

func TestRate(t *testing.T) {
	for in, want := range map[float64]string{0: "0", 999: "999", 1000: "1,000", 1234567.4: "1,234,567"} {
		if got := rate(in); got != want {
			t.Errorf("rate(%v) = %q, want %q", in, got, want)
		}
	}
}
