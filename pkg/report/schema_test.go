package report_test

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/chronik-e2e/chronik-e2e/pkg/report"
	"github.com/chronik-e2e/chronik-e2e/pkg/report/internal/schemagen"
)

const (
	schemaFile  = "../../docs/report.schema.json"
	exampleFile = "../../docs/report.example.json"
)

// TestSchemaUpToDate: docs/report.schema.json is what the report's Go types
// make, so the documented schema never drifts from the code.
func TestSchemaUpToDate(t *testing.T) {
	want, err := schemagen.Generate(".")
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is not the schema of the report's Go types: run go generate ./pkg/report", schemaFile)
	}
}

// compileSchema compiles docs/report.schema.json.
func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatalf("%s: %v", schemaFile, err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource(schemagen.ID, doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(schemagen.ID)
	if err != nil {
		t.Fatalf("%s does not compile: %v", schemaFile, err)
	}
	return s
}

// validate validates JSON data against the schema.
func validate(t *testing.T, s *jsonschema.Schema, data []byte) error {
	t.Helper()
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return s.Validate(v)
}

// TestSchemaExample: the documented example is a valid report of this
// schema version, and reads back.
func TestSchemaExample(t *testing.T) {
	s := compileSchema(t)
	data, err := os.ReadFile(exampleFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate(t, s, data); err != nil {
		t.Fatalf("%s does not validate against %s: %v", exampleFile, schemaFile, err)
	}
	st, err := report.ParseJSON(exampleFile, data)
	if err != nil {
		t.Fatal(err)
	}
	r := st.Run
	if r == nil || r.SchemaVersion != report.SchemaVersion || r.Gate == nil || len(r.Gate.Thresholds) == 0 ||
		r.Gate.Baseline == nil || len(r.Latency.Histogram) == 0 {
		t.Errorf("the example should show a run with thresholds, a baseline and a latency histogram: %+v", r)
	}
}

// TestSchemaValidatesReports: reports as the code writes them, a run's and
// a repeat's, full and empty, validate; a report with a wrong type does not.
func TestSchemaValidatesReports(t *testing.T) {
	s := compileSchema(t)
	full := report.GatedSample()
	empty := report.New("empty", "id", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	empty.Finish(empty.StartedAt)
	repeat := &report.Repeat{SchemaVersion: report.SchemaVersion, Kind: report.KindRepeat, Profile: "p",
		StartedAt: full.StartedAt, Requested: 2, Runs: []*report.Report{full, empty},
		Scenarios: []report.RepeatScenario{{Name: "produce", Runs: 2, Passed: 1, Flaky: true}},
		Spread:    []report.Spread{{Metric: "produce.p99_ms", Unit: "ms", Runs: 1, Min: 1, Median: 1, Max: 1}},
		Baseline:  full.Gate.Baseline}
	for name, v := range map[string]any{"full": full, "empty": empty, "repeat": repeat} {
		data, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if err := validate(t, s, data); err != nil {
			t.Errorf("%s report does not validate: %v\n%s", name, err, data)
		}
	}

	bad := map[string]func(m map[string]any){
		"passed is a string":     func(m map[string]any) { m["passed"] = "yes" },
		"no delivery":            func(m map[string]any) { delete(m, "delivery") },
		"another schema version": func(m map[string]any) { m["schema_version"] = 2 },
		"a repeat without runs": func(m map[string]any) {
			m["kind"] = report.KindRepeat
		},
	}
	for name, edit := range bad {
		data, _ := json.Marshal(report.GatedSample())
		var m map[string]any
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatal(err)
		}
		edit(m)
		data, _ = json.Marshal(m)
		if err := validate(t, s, data); err == nil {
			t.Errorf("%s: validates, want an error", name)
		}
	}
}

// TestReadJSON: a report reads back as written; a foreign file, a newer
// schema version and an unknown kind are errors that name the file.
func TestReadJSON(t *testing.T) {
	dir := t.TempDir()
	r := report.GatedSample()
	path := dir + "/r.json"
	if err := r.WriteJSON(path); err != nil {
		t.Fatal(err)
	}
	st, err := report.ReadJSON(path)
	if err != nil || st.Run == nil || st.Repeat != nil {
		t.Fatalf("ReadJSON = %+v, %v", st, err)
	}
	if st.Run.Gate.Thresholds[1].Expr != r.Gate.Thresholds[1].Expr || *st.Run.Gate.Thresholds[1].Value != *r.Gate.Thresholds[1].Value {
		t.Errorf("read back %+v", st.Run.Gate)
	}
	for name, tt := range map[string]struct{ data, want string }{
		"not JSON":       {"hello", "x.json is not a chronik-e2e JSON report"},
		"no version":     {`{"passed": true}`, "x.json is not a chronik-e2e JSON report: it has no schema_version"},
		"newer":          {`{"schema_version": 99}`, "x.json has schema_version 99; this chronik-e2e reads versions 1 to 1"},
		"unknown kind":   {`{"schema_version": 1, "kind": "soak"}`, `x.json: unknown report kind "soak"`},
		"wrong type":     {`{"schema_version": 1, "passed": "yes"}`, "x.json: passed is a JSON string, want bool"},
		"repeat is read": {`{"schema_version": 1, "kind": "repeat", "runs": []}`, ""},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := report.ParseJSON("x.json", []byte(tt.data))
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("error %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("error = %v, want %q", err, tt.want)
			}
		})
	}
}
