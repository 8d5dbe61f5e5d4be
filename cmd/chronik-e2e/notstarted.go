package main

import (
	"github.com/chronik-e2e/chronik-e2e/pkg/report"
	"github.com/chronik-e2e/chronik-e2e/pkg/term"
)

// writeNotStarted writes the JSON report of a run that could not start (the
// cluster could not be started or reached, exit 3) when --json asks for
// it, so that CI finds a report saying why. The error being returned says
// the rest; a failure to write here would only hide it.
func writeNotStarted(t *term.Terminal, rep *report.Report, jsonPath string) {
	if rep == nil {
		return
	}
	_ = writeJSON(t, jsonPath, rep)
}
