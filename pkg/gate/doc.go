package gate

//go:generate go run ./gendoc ../../README.md

import (
	"fmt"
	"strings"
)

// Markers of the generated metric table in the README.
const (
	TableBegin = "<!-- metrics: generated from pkg/gate/metrics.go by `go generate ./pkg/gate`; edit there -->"
	TableEnd   = "<!-- end of metrics -->"
)

// MetricTable returns the Markdown table of every metric, for the README.
func MetricTable() string {
	var b strings.Builder
	b.WriteString("| metric | unit | better | measured by | what it is |\n|---|---|---|---|---|\n")
	for _, m := range metrics {
		better := m.Better.String()
		if m.Compare {
			better += " (compared by default)"
		}
		scenario := m.Scenario
		if scenario == "" {
			scenario = "the run"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", m.Name, m.Unit, better, scenario, m.Doc)
	}
	return b.String()
}

// UpdateREADME returns readme with the text between TableBegin and
// TableEnd replaced by MetricTable.
func UpdateREADME(readme string) (string, error) {
	before, rest, ok := strings.Cut(readme, TableBegin)
	if !ok {
		return "", fmt.Errorf("no line %q marks where the metric table begins", TableBegin)
	}
	_, after, ok := strings.Cut(rest, TableEnd)
	if !ok {
		return "", fmt.Errorf("no line %q marks where the metric table ends", TableEnd)
	}
	return before + TableBegin + "\n" + MetricTable() + TableEnd + after, nil
}
