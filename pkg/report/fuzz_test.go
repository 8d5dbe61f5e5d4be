package report_test

import (
	"io"
	"os"
	"testing"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"github.com/chronik-e2e/chronik-e2e/pkg/gate"
	"github.com/chronik-e2e/chronik-e2e/pkg/report"
)

// FuzzParseJSON: every input is a report that renders and compares (what
// report show, report diff and --baseline do with it), or an error;
// never a panic. Seeded with the documented example and a report of every
// part. `make fuzz` runs it for longer.
func FuzzParseJSON(f *testing.F) {
	example, err := os.ReadFile(exampleFile)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(example)
	path := f.TempDir() + "/r.json"
	if err := report.GatedSample().WriteJSON(path); err != nil {
		f.Fatal(err)
	}
	sample, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sample)
	for _, s := range []string{`{"schema_version": 1, "scenarios": [null]}`, `{"schema_version": 1, "kind": "repeat", "runs": [null]}`, `null`, `[]`} {
		f.Add([]byte(s))
	}
	rd := lipgloss.NewRenderer(io.Discard)
	rd.SetColorProfile(termenv.Ascii)
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := report.ParseJSON("f.json", data)
		if err != nil {
			return
		}
		if st.Run != nil {
			if err := report.Render(io.Discard, st.Run, rd); err != nil {
				t.Fatalf("render: %v", err)
			}
		}
		if st.Repeat != nil {
			if err := report.RenderRepeat(io.Discard, st.Repeat, rd); err != nil {
				t.Fatalf("render repeat: %v", err)
			}
		}
		src := gate.FromStored("f.json", st)
		_ = gate.Compare(src, src, 10, nil)
	})
}
