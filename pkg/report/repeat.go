package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"time"
)

// KindRepeat is the Kind of a Repeat report in JSON; a single run's report has no kind.
const KindRepeat = "repeat"

// Repeat is the report of a profile run several times (--repeat N): every
// run's own report, each scenario's verdicts across the runs, and the spread
// of every metric.
type Repeat struct {
	SchemaVersion int       `json:"schema_version"`
	Kind          string    `json:"kind"`
	Passed        bool      `json:"passed"`
	Profile       string    `json:"profile"`
	StartedAt     time.Time `json:"started_at"`
	DurationS     float64   `json:"duration_s"`
	// Requested is the number of runs asked for; Runs may hold fewer when
	// the repeat was interrupted.
	Requested int       `json:"requested"`
	Runs      []*Report `json:"runs"`
	// Scenarios are the verdicts of each scenario across the runs.
	Scenarios []RepeatScenario `json:"scenarios"`
	// Spread is each metric's min, median and max over the runs that measured it.
	Spread []Spread `json:"spread"`
	// Baseline compares the medians of the runs with the baseline; nil without one.
	Baseline    *Comparison `json:"baseline,omitempty"`
	Interrupted bool        `json:"interrupted,omitempty"`
}

// RepeatScenario is one scenario's verdicts across the runs of a repeat.
type RepeatScenario struct {
	Name   string `json:"name"`
	Runs   int    `json:"runs"`   // runs the scenario ran in
	Passed int    `json:"passed"` // runs it passed in
	// Flaky is set when it passed in some runs and failed in others.
	Flaky bool `json:"flaky"`
}

// Spread is one metric's range over the runs of a repeat.
type Spread struct {
	Metric string  `json:"metric"`
	Unit   string  `json:"unit,omitempty"`
	Runs   int     `json:"runs"` // runs that measured the metric
	Min    float64 `json:"min"`
	Median float64 `json:"median"`
	Max    float64 `json:"max"`
}

// ChecksPassed reports whether every run's correctness checks passed and
// the repeat was not interrupted (a flaky scenario fails a run's checks).
func (r *Repeat) ChecksPassed() bool {
	if len(r.Runs) == 0 || r.Interrupted || len(r.Runs) < r.Requested {
		return false
	}
	for _, run := range r.Runs {
		if !run.ChecksPassed() {
			return false
		}
	}
	return true
}

// GateFailed reports whether the repeat failed only on its gates: every
// check of every run passed, but a run's threshold or the baseline did not.
func (r *Repeat) GateFailed() bool { return r.ChecksPassed() && !r.Passed }

// PassedRuns counts the runs that passed, gate included.
func (r *Repeat) PassedRuns() int {
	n := 0
	for _, run := range r.Runs {
		if run.Passed {
			n++
		}
	}
	return n
}

// WriteJSON writes the repeat report as indented JSON to path.
func (r *Repeat) WriteJSON(path string) error { return writeJSONFile(path, r) }

// Stored is a JSON report read back: a single run's, or a repeat's.
type Stored struct {
	Run    *Report // set for a single run's report
	Repeat *Repeat // set for a repeat's report
}

// ReadJSON reads a JSON report that WriteJSON wrote, of this schema version
// or an earlier one. The error names the file and says what is wrong.
func ReadJSON(path string) (Stored, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Stored{}, fmt.Errorf("read report: %w", err)
	}
	return ParseJSON(path, data)
}

// ParseJSON decodes the JSON report data; name names it in errors.
func ParseJSON(name string, data []byte) (Stored, error) {
	var head struct {
		SchemaVersion *int   `json:"schema_version"`
		Kind          string `json:"kind"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return Stored{}, fmt.Errorf("%s is not a chronik-e2e JSON report: %w", name, err)
	}
	switch v := head.SchemaVersion; {
	case v == nil:
		return Stored{}, fmt.Errorf("%s is not a chronik-e2e JSON report: it has no schema_version", name)
	case *v < 1 || *v > SchemaVersion:
		return Stored{}, fmt.Errorf("%s has schema_version %d; this chronik-e2e reads versions 1 to %d (a newer chronik-e2e wrote it?)", name, *v, SchemaVersion)
	}
	dec := func(v any) error {
		d := json.NewDecoder(bytes.NewReader(data))
		if err := d.Decode(v); err != nil {
			var te *json.UnmarshalTypeError
			if errors.As(err, &te) {
				return fmt.Errorf("%s: %s is a JSON %s, want %s", name, te.Field, te.Value, te.Type)
			}
			return fmt.Errorf("%s: %w", name, err)
		}
		return nil
	}
	switch head.Kind {
	case "":
		var r Report
		if err := checkSchema(name, "Report", data); err != nil {
			return Stored{}, err
		}
		if err := dec(&r); err != nil {
			return Stored{}, err
		}
		sanitize(reflect.ValueOf(&r))
		return Stored{Run: &r}, nil
	case KindRepeat:
		var r Repeat
		if err := checkSchema(name, "Repeat", data); err != nil {
			return Stored{}, err
		}
		if err := dec(&r); err != nil {
			return Stored{}, err
		}
		sanitize(reflect.ValueOf(&r))
		return Stored{Repeat: &r}, nil
	}
	return Stored{}, fmt.Errorf("%s: unknown report kind %q (known: a run's report without a kind, or %q)", name, head.Kind, KindRepeat)
}
