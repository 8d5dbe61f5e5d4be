package main

import (
	"runtime"

	"github.com/spf13/cobra"

	"github.com/chronik-e2e/chronik-e2e/pkg/gate"
	"github.com/chronik-e2e/chronik-e2e/pkg/scenarios"
	"github.com/chronik-e2e/chronik-e2e/pkg/term"
)

// addJSONFlag registers --json on a listing command: its output as JSON, to
// this file or to stdout with --json -.
func addJSONFlag(cmd *cobra.Command, path *string) {
	cmd.Flags().StringVar(path, "json", "", "write the output as JSON to this file, or to stdout with --json -")
}

// scenarioJSON is one scenario in `scenarios --json`.
type scenarioJSON struct {
	Name     string   `json:"name"`
	Summary  string   `json:"summary"`
	Requires []string `json:"requires"`
}

func scenariosJSON(t *term.Terminal, path string) error {
	out := []scenarioJSON{}
	for _, s := range scenarios.All() {
		req := s.Requires()
		if req == nil {
			req = []string{}
		}
		out = append(out, scenarioJSON{Name: s.Name(), Summary: s.Summary(), Requires: req})
	}
	return writeJSONValue(t, path, out)
}

// metricJSON is one metric in `metrics --json`.
type metricJSON struct {
	Name     string `json:"name"`
	Unit     string `json:"unit,omitempty"`
	Scenario string `json:"scenario,omitempty"`
	Better   string `json:"better,omitempty"`
	Compare  bool   `json:"compared_by_default"`
	Doc      string `json:"doc"`
}

func metricsJSON(t *term.Terminal, path string) error {
	out := []metricJSON{}
	for _, m := range gate.Metrics() {
		out = append(out, metricJSON{Name: m.Name, Unit: m.Unit, Scenario: m.Scenario, Better: m.Better.String(), Compare: m.Compare, Doc: m.Doc})
	}
	return writeJSONValue(t, path, out)
}

// versionJSON is `version --json`.
type versionJSON struct {
	Version string `json:"version"`
	Go      string `json:"go"`
	OS      string `json:"os"`
	Arch    string `json:"arch"`
}

func versionInfoJSON(t *term.Terminal, path string) error {
	return writeJSONValue(t, path, versionJSON{Version: versionString(), Go: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH})
}
