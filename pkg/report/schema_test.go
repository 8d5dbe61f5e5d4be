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
	valid, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for name, tt := range map[string]struct{ data, want string }{
		"not JSON":       {"hello", "x.json is not a chronik-e2e JSON report"},
		"no version":     {`{"passed": true}`, "x.json is not a chronik-e2e JSON report: it has no schema_version"},
		"newer":          {`{"schema_version": 99}`, "x.json has schema_version 99; this chronik-e2e reads versions 1 to 1"},
		"unknown kind":   {`{"schema_version": 1, "kind": "soak"}`, `x.json: unknown report kind "soak"`},
		"wrong type":     {`{"schema_version": 1, "passed": "yes"}`, "at /passed: got string, want boolean"},
		"missing fields": {`{"schema_version": 1, "kind": "repeat", "runs": []}`, "x.json is not a valid chronik-e2e report (docs/report.schema.json):\n  at /: missing properties 'passed', 'profile'"},
		"null scenario":  {strings.Replace(string(valid), `"scenarios": [`, `"scenarios": [null, `, 1), "at /scenarios/0: got null, want object"},
		"null section":   {strings.Replace(string(valid), `"config": {`, `"config": null, "x": {`, 1), "at /config: got null, want object"},
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

// TestReadJSONRepeat: a repeat's report reads back as written.
func TestReadJSONRepeat(t *testing.T) {
	path := t.TempDir() + "/r.json"
	rep := &report.Repeat{SchemaVersion: report.SchemaVersion, Kind: report.KindRepeat, Profile: "p", Requested: 2,
		Runs: []*report.Report{report.GatedSample()}}
	if err := rep.WriteJSON(path); err != nil {
		t.Fatal(err)
	}
	st, err := report.ReadJSON(path)
	if err != nil || st.Repeat == nil || len(st.Repeat.Runs) != 1 {
		t.Fatalf("ReadJSON = %+v, %v", st, err)
	}
}

// TestReadJSONStripsEscapes: strings from a file, map keys included, are
// read without escape sequences and control characters, so that showing a
// report prints text, not terminal commands; newlines stay.
func TestReadJSONStripsEscapes(t *testing.T) {
	r := report.GatedSample()
	r.Profile = "\x1b[2J\x1b]0;pwned\x07evil\rprofile"
	r.Scenarios[0].Findings = []string{"line one\nline \x1b[31mtwo\x1b[0m"}
	r.Leaders = map[string]int{"\x1b[1mbroker": 1}
	path := t.TempDir() + "/r.json"
	if err := r.WriteJSON(path); err != nil {
		t.Fatal(err)
	}
	st, err := report.ReadJSON(path)
	if err != nil {
		t.Fatal(err)
	}
	got := st.Run
	if got.Profile != "evilprofile" {
		t.Errorf("profile %q, want %q", got.Profile, "evilprofile")
	}
	if f := got.Scenarios[0].Findings[0]; f != "line one\nline two" {
		t.Errorf("finding %q, want %q", f, "line one\nline two")
	}
	if _, ok := got.Leaders["broker"]; !ok || len(got.Leaders) != 1 {
		t.Errorf("leaders %v, want the key without its escape", got.Leaders)
	}
}
