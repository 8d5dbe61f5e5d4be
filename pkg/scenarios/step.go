package scenarios

import (
	"fmt"

	"github.com/chronik-e2e/chronik-e2e/pkg/report"
)

// maxExamples bounds how many individual records a finding lists.
const maxExamples = 10

// Step records one scenario's findings, notes and metrics into its report section.
type Step struct {
	rep *report.Scenario
}

// NewStep returns a step writing into rep.
func NewStep(rep *report.Scenario) *Step {
	if rep.Metrics == nil {
		rep.Metrics = map[string]float64{}
	}
	return &Step{rep: rep}
}

// Failf records a failed check.
func (s *Step) Failf(format string, args ...any) {
	s.rep.Findings = append(s.rep.Findings, fmt.Sprintf(format, args...))
}

// Notef records a fact worth reading that does not fail the run.
func (s *Step) Notef(format string, args ...any) {
	s.rep.Notes = append(s.rep.Notes, fmt.Sprintf(format, args...))
}

// Metric records a measurement.
func (s *Step) Metric(name string, v float64) { s.rep.Metrics[name] = v }

// Failed reports whether any check failed so far.
func (s *Step) Failed() bool { return len(s.rep.Findings) > 0 }

// examples collects up to maxExamples descriptions of bad records of one kind.
type examples struct {
	kind  string
	count int64
	list  []string
}

func (e *examples) add(format string, args ...any) {
	e.count++
	if len(e.list) < maxExamples {
		e.list = append(e.list, fmt.Sprintf(format, args...))
	}
}

// failInto records one finding per example, and one for the rest.
func (e *examples) failInto(s *Step) {
	for _, x := range e.list {
		s.Failf("%s: %s", e.kind, x)
	}
	if rest := e.count - int64(len(e.list)); rest > 0 {
		s.Failf("%s: … and %d more", e.kind, rest)
	}
}

// noteInto records one note per example, and one for the rest.
func (e *examples) noteInto(s *Step) {
	for _, x := range e.list {
		s.Notef("%s: %s", e.kind, x)
	}
	if rest := e.count - int64(len(e.list)); rest > 0 {
		s.Notef("%s: … and %d more", e.kind, rest)
	}
}
