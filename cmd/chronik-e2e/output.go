package main

import (
	"encoding/json"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/IBM/sarama"
	"github.com/charmbracelet/lipgloss"

	"github.com/chronik-e2e/chronik-e2e/pkg/artifacts"
	"github.com/chronik-e2e/chronik-e2e/pkg/exitcode"
	"github.com/chronik-e2e/chronik-e2e/pkg/report"
	"github.com/chronik-e2e/chronik-e2e/pkg/term"
)

// stdoutPath is the --json value that means standard output.
const stdoutPath = "-"

// checkOutputs fails, as bad usage, when two outputs name one file, when
// --json - meets another output that wants stdout, or when --artifacts names a
// directory that already holds files and --overwrite is not given.
func checkOutputs(o *RunOptions) error {
	seen := map[string]string{} // cleaned absolute path → flag
	for _, f := range []struct{ flag, path string }{
		{"--json", o.JSONPath},
		{"--junit", o.Gate.JUnit},
		{"--markdown", o.Gate.Markdown},
		{"--cpuprofile", o.Profiling.CPUProfile},
		{"--memprofile", o.Profiling.MemProfile},
	} {
		if f.path == "" {
			continue
		}
		if f.path == stdoutPath && f.flag != "--json" {
			return exitcode.Usagef("%s -: only --json writes to standard output; give %s a file name", f.flag, f.flag)
		}
		abs, err := filepath.Abs(f.path)
		if f.path == stdoutPath || err != nil {
			abs = f.path
		}
		if other, dup := seen[abs]; dup {
			return exitcode.Usagef("%s and %s both write to %s: give each its own file", other, f.flag, f.path)
		}
		seen[abs] = f.flag
		if a := o.Gate.Artifacts; a != "" && f.path != stdoutPath {
			if dir, err := filepath.Abs(a); err == nil && filepath.Dir(abs) == dir && artifacts.IsArtifact(filepath.Base(abs)) {
				return exitcode.Usagef("%s %s: --artifacts %s writes that file itself: give %s a path outside it, or leave it out", f.flag, f.path, a, f.flag)
			}
		}
	}
	if o.JSONPath != stdoutPath {
		if err := checkJSONPath(o.JSONPath); err != nil {
			return err
		}
	}
	if a := o.Gate.Artifacts; a != "" {
		earlier, err := artifacts.Earlier(a)
		switch {
		case err != nil || len(earlier) == 0:
			// artifacts.Open says what is wrong with a path it cannot use.
		case !o.Overwrite:
			return exitcode.Usagef("--artifacts %s already holds %d file(s) of an earlier run: give an empty or new directory, or add --overwrite to replace them", a, len(earlier))
		default:
			if err := artifacts.Clear(a); err != nil {
				return exitcode.Usagef("--artifacts --overwrite: %v", err)
			}
		}
	}
	return nil
}

// reportTarget is where the terminal report goes, with the renderer for it:
// stdout, or stderr when --json - takes stdout; a nil writer with --quiet and
// --json -, when it goes nowhere.
func reportTarget(t *term.Terminal, o *RunOptions) (io.Writer, *lipgloss.Renderer) {
	switch {
	case o.JSONPath != stdoutPath:
		return t.Out, t.Renderer()
	case t.Verbosity() == term.Quiet:
		return nil, nil
	}
	return t.ErrOut, t.ErrRenderer()
}

// renderRun writes the terminal report of rep where reportTarget says, as
// reportRenderer tells it.
func renderRun(t *term.Terminal, o *RunOptions, rep *report.Report) error {
	w, rd := reportTarget(t, o)
	if w == nil {
		return nil
	}
	if err := reportRenderer(t)(w, rep, rd); err != nil {
		return fmt.Errorf("render report: %w", err)
	}
	return nil
}

// writeJSON writes the JSON report v where --json says: a file, or stdout.
func writeJSON(t *term.Terminal, path string, v interface{ WriteJSON(string) error }) error {
	switch path {
	case "":
		return nil
	case stdoutPath:
		return writeJSONValue(t, path, v)
	}
	return v.WriteJSON(path)
}

// statusFunc returns the function that tells each step of a run on stderr:
// on a terminal, or anywhere with -v; never with --quiet.
func statusFunc(t *term.Terminal) func(format string, args ...any) {
	show := t.Verbosity() >= term.Verbose || (t.IsErrTTY() && t.Verbosity() == term.Normal)
	return func(format string, args ...any) {
		if show {
			fmt.Fprintf(t.ErrOut, strings.TrimSuffix(format, "\n")+"\n", args...)
		}
	}
}

// liveVerdicts returns what prints each scenario's verdict line on stderr as
// it finishes: on a terminal, or anywhere with -v; never with --quiet.
func liveVerdicts(t *term.Terminal) func(*report.Scenario) {
	if t.Verbosity() == term.Quiet || (!t.IsErrTTY() && t.Verbosity() < term.Verbose) {
		return nil
	}
	return func(s *report.Scenario) {
		_ = report.RenderScenarioLine(t.ErrOut, s, 16, t.ErrRenderer())
	}
}

// writeJSONValue writes v as indented JSON to path, or to stdout for "-";
// nothing for "".
func writeJSONValue(t *term.Terminal, path string, v any) error {
	if path == "" {
		return nil
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if path == stdoutPath {
		_, err = t.Out.Write(b)
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// clientLog sends sarama's own log to stderr with -vv: connections,
// metadata refreshes and retries, for seeing why a cluster is not reached.
func clientLog(t *term.Terminal) {
	if t.Verbosity() >= term.Verbose+1 {
		sarama.Logger = log.New(t.ErrOut, "sarama: ", log.Ltime|log.Lmicroseconds)
	}
}

// reportRenderer returns how the terminal report is told: the summary with
// --quiet, everything with -v, else all but the fault timeline.
func reportRenderer(t *term.Terminal) func(io.Writer, *report.Report, *lipgloss.Renderer) error {
	switch {
	case t.Verbosity() == term.Quiet:
		return report.RenderSummary
	case t.Verbosity() >= term.Verbose:
		return report.Render
	}
	return report.RenderCompact
}

// repeatRenderer returns how the terminal report of a repeat is told: the
// summary with --quiet, else every failed run and the repeat summary.
func repeatRenderer(t *term.Terminal) func(io.Writer, *report.Repeat, *lipgloss.Renderer) error {
	if t.Verbosity() == term.Quiet {
		return report.RenderRepeatSummary
	}
	return report.RenderRepeat
}
