package scenarios

import (
	"fmt"
	"sync"

	"github.com/chronik-e2e/chronik-e2e/pkg/report"
	"github.com/chronik-e2e/chronik-e2e/pkg/verify"
)

// Step records one scenario's findings, notes and metrics into its report
// section. It is safe for concurrent use: fault hooks record from the
// goroutines of the clients they run in (exactly-once-failover's from its
// processors) while the scenario records from its own.
type Step struct {
	mu  sync.Mutex
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
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rep.Findings = append(s.rep.Findings, fmt.Sprintf(format, args...))
}

// Notef records a fact worth reading that does not fail the run.
func (s *Step) Notef(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rep.Notes = append(s.rep.Notes, fmt.Sprintf(format, args...))
}

// Metric records a measurement.
func (s *Step) Metric(name string, v float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rep.Metrics[name] = v
}

// metricOf returns a measurement recorded so far (0: none).
func (s *Step) metricOf(name string) float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rep.Metrics[name]
}

// Failed reports whether any check failed so far.
func (s *Step) Failed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.rep.Findings) > 0
}

// failExamples records one finding per example, and one for the rest.
func (s *Step) failExamples(e *verify.Examples) {
	for _, l := range e.Lines() {
		s.Failf("%s", l)
	}
}

// noteExamples records one note per example, and one for the rest.
func (s *Step) noteExamples(e *verify.Examples) {
	for _, l := range e.Lines() {
		s.Notef("%s", l)
	}
}
