package gate

import (
	"os"
	"strings"
	"testing"
)

// TestREADMEMetricTable: the README's metric table is the registry's, so it
// never drifts from the code.
func TestREADMEMetricTable(t *testing.T) {
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	want, err := UpdateREADME(string(data))
	if err != nil {
		t.Fatalf("README.md: %v", err)
	}
	if want != string(data) {
		t.Errorf("the metric table in README.md is not the one pkg/gate/metrics.go makes: run go generate ./pkg/gate")
	}
}

func TestUpdateREADME(t *testing.T) {
	in := "intro\n" + TableBegin + "\nold table\n" + TableEnd + "\noutro\n"
	out, err := UpdateREADME(in)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out, "intro\n"+TableBegin+"\n| metric |") || !strings.HasSuffix(out, TableEnd+"\noutro\n") ||
		strings.Contains(out, "old table") || !strings.Contains(out, "| `produce.p99_ms` | ms | lower (compared by default) | produce |") {
		t.Errorf("updated:\n%s", out)
	}
	if _, err := UpdateREADME("no markers"); err == nil {
		t.Error("no error without markers")
	}
}
