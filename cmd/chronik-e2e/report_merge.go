package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/chronik-e2e/chronik-e2e/pkg/exitcode"
	"github.com/chronik-e2e/chronik-e2e/pkg/report"
	"github.com/chronik-e2e/chronik-e2e/pkg/term"
)

// newReportMergeCmd returns `chronik-e2e report merge A.json B.json ...`.
func newReportMergeCmd(t *term.Terminal) *cobra.Command {
	var out, junit, markdown string
	cmd := &cobra.Command{
		Use:   "merge SHARD.json... [-o MERGED.json]",
		Short: "Combine the reports of a run group's shards (--shard) into one verdict",
		Long: `merge combines the JSON reports of every shard of one run group (run --shard
I/N --run-group ID) into one report: delivery counts summed, latency
histograms merged exactly, throughput summed over the window from the first
shard's first send (read) to the last shard's last answer (read): every shard
reads the whole shared topic, so consume counts the records all shards read.
Each finding is named by its shard; the cluster section is the first shard's,
its nodes' resources (faults.hooks.stats) merged from every shard's samples. The
merge passes only if every shard passed: a shard whose checks failed fails it
(exit 1, naming the shard and why), one that failed only its thresholds or
baseline exits 4. Reports of other run groups or topics, a shard given twice
or missing, shards that ran another version, other settings or other
scenarios, and a report that contradicts itself are refused (exit 2).`,
		Example: `  chronik-e2e report merge shard-0.json shard-1.json shard-2.json -o merged.json`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return exitcode.Usagef("report merge takes the shards' JSON reports, one per shard")
			}
			return nil
		},
		RunE: func(_ *cobra.Command, args []string) error {
			var in []report.ShardReport
			for _, file := range args {
				st, err := report.ReadJSON(file)
				if err != nil {
					return exitcode.UsageError(err)
				}
				if st.Run == nil {
					return exitcode.Usagef("%s is the report of a repeat (--repeat), not of one shard's run", file)
				}
				in = append(in, report.ShardReport{File: file, Report: st.Run})
			}
			m, err := report.Merge(in)
			if err != nil {
				return exitcode.UsageError(err)
			}
			w, rd := t.Out, t.Renderer()
			if out == stdoutPath { // the JSON has stdout; the text goes to stderr
				w, rd = t.ErrOut, t.ErrRenderer()
			}
			if out != stdoutPath || t.Verbosity() != term.Quiet {
				if err := reportRenderer(t)(w, m, rd); err != nil {
					return fmt.Errorf("render report: %w", err)
				}
			}
			if err := writeJSON(t, out, m); err != nil {
				return exitcode.UsageError(err)
			}
			if junit != "" {
				if err := report.WriteJUnitFile(junit, m, nil); err != nil {
					return exitcode.UsageError(err)
				}
			}
			if markdown != "" {
				if err := report.WriteMarkdownFile(markdown, m, nil, false); err != nil {
					return exitcode.UsageError(err)
				}
			}
			return mergeVerdict(in)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&out, "output", "o", "", "write the merged JSON report to this file, or to stdout with -o - (the terminal report then goes to stderr)")
	f.StringVar(&junit, "junit", "", "also write the merged report as JUnit XML to this file")
	f.StringVar(&markdown, "markdown", "", "also write the merged report as Markdown to this file")
	return cmd
}

// mergeVerdict is the merge's exit status, as a run's: an internal error in
// a shard 5, a failed check 1, a failed gate alone 4.
func mergeVerdict(in []report.ShardReport) error {
	code := exitcode.OK
	for _, sr := range in {
		r := sr.Report
		switch {
		case r.Errored():
			code = max(code, exitcode.Internal)
		case r.Passed:
		case r.GateFailed():
			if code == exitcode.OK {
				code = exitcode.Thresholds
			}
		default:
			if code != exitcode.Internal {
				code = exitcode.Failed
			}
		}
	}
	if code == exitcode.OK {
		return nil
	}
	return &exitcode.Error{Code: code, Err: &runFailedError{}}
}
