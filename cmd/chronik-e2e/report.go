package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/chronik-e2e/chronik-e2e/pkg/exitcode"
	"github.com/chronik-e2e/chronik-e2e/pkg/gate"
	"github.com/chronik-e2e/chronik-e2e/pkg/report"
	"github.com/chronik-e2e/chronik-e2e/pkg/term"
)

// newReportCmd returns `chronik-e2e report`, the commands on stored JSON reports.
func newReportCmd(t *term.Terminal) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Show a stored JSON report, compare two, or merge a run group's shards",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return exitcode.Usagef("unknown report command %q (known: show, diff, merge)", args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newReportShowCmd(t), newReportDiffCmd(t), newReportMergeCmd(t))
	return cmd
}

// newReportShowCmd returns `chronik-e2e report show FILE.json`.
func newReportShowCmd(t *term.Terminal) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "show FILE.json",
		Short:   "Render a stored JSON report in the terminal, exactly as the run showed it",
		Example: "  chronik-e2e report show report.json",
		Args:    exactFiles(1, "report show takes one JSON report"),
		RunE: func(_ *cobra.Command, args []string) error {
			st, err := report.ReadJSON(args[0])
			if err != nil {
				return exitcode.UsageError(err)
			}
			if st.Repeat != nil {
				err = repeatRenderer(t)(t.Out, st.Repeat, t.Renderer())
			} else {
				err = reportRenderer(t)(t.Out, st.Run, t.Renderer())
			}
			if err != nil {
				return fmt.Errorf("render report: %w", err)
			}
			return nil
		},
	}
	return cmd
}

// newReportDiffCmd returns `chronik-e2e report diff OLD.json NEW.json`.
func newReportDiffCmd(t *term.Terminal) *cobra.Command {
	var (
		tolerance float64
		metrics   []string
		jsonPath  string
	)
	cmd := &cobra.Command{
		Use:   "diff OLD.json NEW.json",
		Short: "Compare the throughput and latency of two stored runs, as --baseline does",
		Long: `diff compares NEW with OLD as a run compares itself with --baseline OLD: each
compared metric's values and change, failing (exit 4) when NEW is worse than OLD
by more than the tolerance. A repeat's report compares by its medians.`,
		Example: `  chronik-e2e report diff v2.10.2.json v2.11.0-rc1.json
  chronik-e2e report diff old.json new.json --tolerance-pct 5 --metric produce.p99_ms`,
		Args: exactFiles(2, "report diff takes two JSON reports: the old one, then the new one"),
		RunE: func(_ *cobra.Command, args []string) error {
			if tolerance < 0 {
				return exitcode.Usagef("--tolerance-pct must be 0 or more, not %v", tolerance)
			}
			for _, m := range metrics {
				if _, err := gate.LookupMetric(m); err != nil {
					return exitcode.Usagef("--metric %v", err)
				}
			}
			var srcs [2]*gate.Source
			for i, file := range args {
				st, err := report.ReadJSON(file)
				if err != nil {
					return exitcode.UsageError(err)
				}
				srcs[i] = gate.FromStored(file, st)
			}
			c := gate.Compare(srcs[0], srcs[1], tolerance, metrics)
			w, rd := t.Out, t.Renderer()
			if jsonPath == stdoutPath { // the comparison as text goes to stderr, or nowhere with --quiet
				w, rd = t.ErrOut, t.ErrRenderer()
			}
			if jsonPath != stdoutPath || t.Verbosity() != term.Quiet {
				fmt.Fprintf(w, "%s (%s) compared with %s (%s)\n", args[1], srcs[1].RunID, args[0], srcs[0].RunID)
				if err := report.RenderComparison(w, c, rd); err != nil {
					return fmt.Errorf("render comparison: %w", err)
				}
			}
			if err := writeJSONValue(t, jsonPath, c); err != nil {
				return exitcode.UsageError(err)
			}
			return verdictError(c.Passed, !c.Passed)
		},
	}
	f := cmd.Flags()
	f.Float64Var(&tolerance, "tolerance-pct", gate.DefaultTolerancePct, "how much worse than OLD, in percent, a metric may be")
	f.StringVar(&jsonPath, "json", "", "write the comparison as JSON to this file, or to stdout with --json -")
	f.StringSliceVar(&metrics, "metric", nil, "compare these metrics (default: produce.msgs_per_s, produce.p50_ms, produce.p99_ms, consume.msgs_per_s)")
	return cmd
}

// exactFiles accepts exactly n file arguments, as bad usage otherwise.
func exactFiles(n int, what string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) != n {
			return exitcode.Usagef("%s, not %d argument(s)", what, len(args))
		}
		return nil
	}
}

// newMetricsCmd returns `chronik-e2e metrics`, the metrics thresholds and baselines read.
func newMetricsCmd(t *term.Terminal) *cobra.Command {
	var jsonPath string
	cmd := &cobra.Command{
		Use:   "metrics",
		Short: "List the metrics that thresholds and baseline comparisons read",
		Args:  noArgs,
		RunE: func(*cobra.Command, []string) error {
			if jsonPath != "" {
				return usageErr(metricsJSON(t, jsonPath))
			}
			w := 0
			for _, m := range gate.Metrics() {
				w = max(w, len(m.Name))
			}
			for _, m := range gate.Metrics() {
				var tags []string
				if m.Unit != "" {
					tags = append(tags, m.Unit)
				}
				if b := m.Better.String(); b != "" {
					tags = append(tags, b+" is better")
				}
				if m.Compare {
					tags = append(tags, "compared with a baseline by default")
				}
				fmt.Fprintf(t.Out, "%-*s  %s (%s)\n", w, m.Name, m.Doc, strings.Join(tags, "; "))
			}
			return nil
		},
	}
	addJSONFlag(cmd, &jsonPath)
	return cmd
}
