package report

import (
	"strings"
	"testing"
)

// The load settings show in the header, and consuming while producing adds
// an end-to-end latency section after the produce latency.
func TestRenderLoadSettings(t *testing.T) {
	r := sample()
	r.Config.Producers, r.Config.Rate, r.Config.ConcurrentConsume = 4, 5000, true
	r.EndToEnd = &Latency{P50: 2.5, P99: 9.75, P999: 14, Max: 20, Mean: 3}
	out := render(t, r, asciiRenderer())
	for _, want := range []string{
		"4 producers",
		"5,000 msg/s",
		"consume while producing",
		"Latency (produce acknowledgement, from scheduled send)",
		"Latency (end to end: send to read)\n  p50 2.50 ms   p99 9.75 ms   p99.9 14.0 ms   max 20.0 ms   mean 3.00 ms",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report does not contain %q:\n%s", want, out)
		}
	}
	if strings.Index(out, "Latency (end to end") < strings.Index(out, "Latency (produce") {
		t.Error("end-to-end latency comes before the produce latency")
	}
}

// Without load settings the header and sections stay as they were.
func TestRenderNoLoadSettings(t *testing.T) {
	out := render(t, sample(), asciiRenderer())
	for _, unwanted := range []string{"producer", "msg/s ·", "consume while producing", "end to end", "scheduled send"} {
		if strings.Contains(out, unwanted) {
			t.Errorf("report contains %q without load settings", unwanted)
		}
	}
	if !strings.Contains(out, "Latency (produce acknowledgement)\n") {
		t.Error("no produce latency section")
	}
}
