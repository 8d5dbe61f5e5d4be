package report

// GatedSample exports gatedSample to the external tests (schema_test.go).
func GatedSample() *Report { return gatedSample() }
