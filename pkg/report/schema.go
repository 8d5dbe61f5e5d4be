package report

// The JSON Schema of the JSON report, docs/report.schema.json, is generated
// from this package's types and doc comments; schema_test.go fails when it
// is out of date.
//go:generate go run ./genschema ../../docs/report.schema.json
