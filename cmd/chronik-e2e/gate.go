package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/chronik-e2e/chronik-e2e/pkg/artifacts"
	"github.com/chronik-e2e/chronik-e2e/pkg/cluster"
	"github.com/chronik-e2e/chronik-e2e/pkg/exitcode"
	"github.com/chronik-e2e/chronik-e2e/pkg/gate"
	"github.com/chronik-e2e/chronik-e2e/pkg/profile"
	"github.com/chronik-e2e/chronik-e2e/pkg/report"
	"github.com/chronik-e2e/chronik-e2e/pkg/runner"
	"github.com/chronik-e2e/chronik-e2e/pkg/term"
)

// stepSummaryEnv names the file GitHub Actions shows as the job summary;
// when it is set, the Markdown report is appended to it.
const stepSummaryEnv = "GITHUB_STEP_SUMMARY"

// GateOptions are the release-gate flags of run and scenario.
type GateOptions struct {
	Baseline  string // --baseline: an earlier run's JSON report to compare with
	JUnit     string // --junit: write JUnit XML here
	Markdown  string // --markdown: write a Markdown summary here
	Repeat    int    // --repeat: run the profile this many times
	Artifacts string // --artifacts: keep every report, the ledger CSV and node logs here
}

// addGateFlags registers the release-gate flags.
func addGateFlags(cmd *cobra.Command, o *GateOptions) {
	f := cmd.Flags()
	f.StringVar(&o.Baseline, "baseline", "", "compare throughput and latency with this earlier JSON report; worse by more than baseline.tolerance_pct fails the run (exit 4)")
	f.StringVar(&o.JUnit, "junit", "", "write a JUnit XML report to this file (one testcase per scenario, threshold and compared metric)")
	f.StringVar(&o.Markdown, "markdown", "", "write a Markdown summary to this file ($"+stepSummaryEnv+" gets one too when it is set)")
	f.IntVar(&o.Repeat, "repeat", 1, "run the profile N times, a fresh topic each time, and report the spread; a scenario that fails some runs is flaky and fails the gate")
	f.StringVar(&o.Artifacts, "artifacts", "", "keep the reports in every format, the ledger of lost and duplicated messages (CSV) and node logs in this directory")
}

// gateRun is the release gate of one invocation of run or scenario: what to
// check after the run and where to write the reports.
type gateRun struct {
	opts GateOptions
	plan *gate.Plan
	dir  *artifacts.Dir // nil without --artifacts
	// stepSummary is $GITHUB_STEP_SUMMARY, or "".
	stepSummary string
	warn        func(format string, args ...any)
}

// newGateRun checks the gate flags and reads the baseline before anything
// runs: a path that cannot be written or a baseline that cannot be read is
// bad usage (exit 2) now rather than after a long run.
func newGateRun(t *term.Terminal, o GateOptions, p *profile.Profile) (*gateRun, error) {
	if o.Repeat < 1 {
		return nil, exitcode.Usagef("--repeat must be 1 or more, not %d", o.Repeat)
	}
	for _, f := range []struct{ flag, path, what string }{
		{"--junit", o.JUnit, "JUnit report"},
		{"--markdown", o.Markdown, "Markdown report"},
	} {
		if err := checkOutPath(f.flag, f.path, f.what); err != nil {
			return nil, err
		}
	}
	plan, err := p.GatePlan()
	if err != nil {
		return nil, exitcode.UsageError(err)
	}
	if o.Baseline != "" {
		st, err := report.ReadJSON(o.Baseline)
		if err != nil {
			return nil, exitcode.Usagef("--baseline %s: %v", o.Baseline, err)
		}
		plan.Baseline = gate.FromStored(o.Baseline, st)
	}
	g := &gateRun{opts: o, plan: plan, stepSummary: os.Getenv(stepSummaryEnv),
		warn: func(format string, args ...any) { fmt.Fprintf(t.ErrOut, "chronik-e2e: warning: "+format+"\n", args...) }}
	if o.Artifacts != "" {
		if g.dir, err = artifacts.Open(o.Artifacts); err != nil {
			return nil, exitcode.Usagef("--artifacts %v", err)
		}
	}
	return g, nil
}

// checkOutPath fails, as bad usage, when flag names a path a report clearly
// cannot be written to.
func checkOutPath(flag, path, what string) error {
	if path == "" {
		return nil
	}
	if isDir(path) {
		return exitcode.Usagef("%s %s is a directory: give a file name for the %s", flag, path, what)
	}
	if dir := filepath.Dir(path); !isDir(dir) {
		return exitcode.Usagef("%s %s: there is no directory %s to write the %s in", flag, path, dir, what)
	}
	return nil
}

// run runs the profile once, with the artifacts' ledger CSV and node logs
// hooked in when --artifacts is given, and judges the report against the
// thresholds and the baseline.
func (g *gateRun) run(ctx context.Context, opts runner.Options, dir *artifacts.Dir, plan *gate.Plan) (*report.Report, error) {
	var ledger *artifacts.LedgerCSV
	if dir != nil {
		var err error
		if ledger, err = dir.Ledger(); err != nil {
			return nil, exitcode.UsageError(fmt.Errorf("--artifacts: %w", err))
		}
		opts.Records = ledger
		opts.BeforeClose = func(c cluster.Cluster) {
			if err := dir.CopyNodeLogs(c); err != nil {
				g.warn("%v", err)
			}
		}
	}
	rep, err := runner.Run(ctx, opts)
	if ledger != nil {
		if cerr := ledger.Close(); cerr != nil {
			g.warn("%v", cerr)
		}
	}
	if err != nil {
		return rep, err // a report that says why the run could not start, or nil
	}
	plan.Judge(rep)
	return rep, nil
}

// write writes the reports of a run the flags ask for, besides the terminal
// and JSON ones (see writeFiles).
func (g *gateRun) write(rep *report.Report) error {
	return usageErr(errors.Join(g.writeFiles(rep, nil)...))
}

// writeFiles writes the reports the flags ask for, besides the terminal and
// JSON ones: JUnit, Markdown, the job summary and the artifacts; of run, or
// of repeat when it is not nil. It returns the errors of the files it could
// not write.
func (g *gateRun) writeFiles(run *report.Report, repeat *report.Repeat) []error {
	var errs []error
	if g.opts.JUnit != "" {
		errs = append(errs, report.WriteJUnitFile(g.opts.JUnit, run, repeat))
	}
	if g.opts.Markdown != "" {
		errs = append(errs, report.WriteMarkdownFile(g.opts.Markdown, run, repeat, false))
	}
	if g.dir != nil {
		if repeat != nil {
			errs = append(errs, g.dir.WriteRepeat(repeat))
		} else {
			errs = append(errs, g.dir.WriteRun(run))
		}
	}
	g.summary(run, repeat)
	return errs
}

// summary appends the Markdown report to $GITHUB_STEP_SUMMARY when it is
// set; a failure there is a warning, not a failed run.
func (g *gateRun) summary(rep *report.Report, repeat *report.Repeat) {
	if g.stepSummary == "" {
		return
	}
	if err := report.WriteMarkdownFile(g.stepSummary, rep, repeat, true); err != nil {
		g.warn("$%s: %v", stepSummaryEnv, err)
	}
}

// repeat runs the profile --repeat times, each run against a fresh topic,
// then renders and writes the repeat's report and returns its verdict.
func (g *gateRun) repeat(ctx context.Context, t *term.Terminal, o *RunOptions, base runner.Options) error {
	p := base.Profile
	n := g.opts.Repeat
	rep := &report.Repeat{SchemaVersion: report.SchemaVersion, Kind: report.KindRepeat,
		Profile: p.Name, StartedAt: time.Now(), Requested: n}
	status := base.Status
	if status == nil {
		status = func(string, ...any) {}
	}
	runPlan := &gate.Plan{Thresholds: g.plan.Thresholds} // the baseline compares the medians, not each run
	var errs []error
	for i := 1; i <= n; i++ {
		if ctx.Err() != nil {
			rep.Interrupted = true
			break
		}
		status("run %d of %d", i, n)
		opts := base
		opts.Profile = freshTopic(p, i)
		var dir *artifacts.Dir
		if g.dir != nil {
			var err error
			if dir, err = g.dir.Run(i); err != nil {
				return exitcode.UsageError(fmt.Errorf("--artifacts: %w", err))
			}
		}
		r, err := g.run(ctx, opts, dir, runPlan)
		if err != nil {
			writeNotStarted(t, r, o.JSONPath)
			return err
		}
		rep.Runs = append(rep.Runs, r)
		if dir != nil {
			errs = append(errs, dir.WriteRun(r))
		}
		status("run %d of %d: %s in %.2fs", i, n, r.Verdict, r.DurationS)
		if r.Interrupted {
			rep.Interrupted = true
			break
		}
	}
	rep.DurationS = time.Since(rep.StartedAt).Seconds()
	g.plan.JudgeRepeat(rep)

	if w, rd := reportTarget(t, o); w != nil {
		if err := repeatRenderer(t)(w, rep, rd); err != nil {
			return fmt.Errorf("render report: %w", err)
		}
	}
	errs = append(errs, writeJSON(t, o.JSONPath, rep))
	errs = append(errs, g.writeFiles(nil, rep)...)
	if err := usageErr(errors.Join(errs...)); err != nil {
		return err
	}
	if rep.Errored() {
		return internalFailed()
	}
	return verdictError(rep.Passed, rep.GateFailed())
}

// freshTopic returns the profile of run i of a repeat: a profile that names
// its topic gets "-<i>" appended, since a topic can be created only once (an
// unnamed topic is fresh in every run anyway, and an existing one is used
// as it is: each run reads from its end offsets as they then stand).
func freshTopic(p *profile.Profile, i int) *profile.Profile {
	if p.Topic.Name == "" || p.Topic.Existing {
		return p
	}
	cp := *p
	cp.Topic.Name = fmt.Sprintf("%s-%d", p.Topic.Name, i)
	return &cp
}

// verdictError is the error a finished run ends with: nil when it passed,
// exit 4 when only thresholds or the baseline failed, else exit 1. The report
// already said why, so nothing more is printed.
func verdictError(passed, gateOnly bool) error {
	switch {
	case passed:
		return nil
	case gateOnly:
		return &exitcode.Error{Code: exitcode.Thresholds, Err: &runFailedError{}}
	}
	return &runFailedError{}
}

// internalFailed is the error of a run that an internal error stopped
// (exit 5): the report already showed it, with its stack.
func internalFailed() error {
	return &exitcode.Error{Code: exitcode.Internal, Err: &runFailedError{}}
}

// usageErr marks a failure to write a report as bad usage (exit 2), as a
// --json file that cannot be written is.
func usageErr(err error) error {
	if err == nil {
		return nil
	}
	return exitcode.UsageError(err)
}
