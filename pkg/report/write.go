package report

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

// writeJSONFile writes v as indented JSON to path.
func writeJSONFile(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write JSON report: %w", err)
	}
	return nil
}

// renderEither renders rep with repeat when rep is not nil, else r with run.
func renderEither(r *Report, rep *Repeat, run func(io.Writer, *Report) error, repeat func(io.Writer, *Repeat) error) (string, error) {
	var b strings.Builder
	if rep != nil {
		err := repeat(&b, rep)
		return b.String(), err
	}
	err := run(&b, r)
	return b.String(), err
}
