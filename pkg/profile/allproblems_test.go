package profile

import (
	"errors"
	"strings"
	"testing"
)

// A file with an unknown key, a badly typed value and an out-of-range value
// gets all three reported in one go, in file order.
func TestDecodeAndRangeProblemsTogether(t *testing.T) {
	yml := `name: mixed
topic:
  partitons: 3
  replication_factor: 9
workload:
  messages: many
`
	p, err := Parse("mixed.yaml", []byte(yml))
	if err == nil || p == nil {
		t.Fatalf("Parse = %v, %v; want the partly decoded profile and an error", p, err)
	}
	err = p.Validate([]string{"topic-create", "produce", "consume", "metadata"})
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("Validate = %v, want a *ValidationError", err)
	}
	var lines []int
	for _, pr := range ve.Problems {
		lines = append(lines, pr.Line)
	}
	msg := err.Error()
	for _, want := range []string{`mixed.yaml:3: unknown key "partitons"`, "mixed.yaml:4: topic.replication_factor: 9 is more than cluster.nodes (3)", "mixed.yaml:6"} {
		if !strings.Contains(msg, want) {
			t.Errorf("problems lack %q:\n%s", want, msg)
		}
	}
	for i := 1; i < len(lines); i++ {
		if lines[i] < lines[i-1] {
			t.Errorf("problems not in file order: lines %v", lines)
		}
	}
}
