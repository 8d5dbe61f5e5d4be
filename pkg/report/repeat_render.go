package report

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/muesli/termenv"
)

// orASCII returns rd, or a plain-text renderer bound to w when rd is nil.
// The profile is set on the renderer, not passed as termenv.WithProfile:
// lipgloss ignores that option and detects the profile again from w.
func orASCII(w io.Writer, rd *lipgloss.Renderer) *lipgloss.Renderer {
	if rd == nil {
		rd = lipgloss.NewRenderer(w)
		rd.SetColorProfile(termenv.Ascii)
	}
	return rd
}

// RenderRepeat writes the terminal report of a repeat: every failed run in
// full (a passing run's details are in its own report), then the repeat
// summary: each run's verdict, each scenario's verdicts across the runs with
// flaky ones marked, the thresholds of every run, the spread of every metric,
// the baseline comparison of the medians, and the verdict.
func RenderRepeat(w io.Writer, rep *Repeat, rd *lipgloss.Renderer) error {
	rd = orASCII(w, rd)
	for i, r := range rep.Runs {
		if r.Passed {
			continue
		}
		var b strings.Builder
		p := &printer{st: newStyles(rd)}
		p.line(p.st.heading.Render(fmt.Sprintf("RUN %d of %d", i+1, len(rep.Runs))))
		b.WriteString(p.b.String())
		if err := Render(&b, r, rd); err != nil {
			return err
		}
		b.WriteString("\n")
		if _, err := io.WriteString(w, b.String()); err != nil {
			return err
		}
	}
	p := &printer{st: newStyles(rd)}
	if len(rep.Runs) > 0 {
		head := *rep.Runs[0]
		head.RunID = fmt.Sprintf("%d runs, a fresh topic each", len(rep.Runs))
		if len(rep.Runs) < rep.Requested {
			head.RunID = fmt.Sprintf("%d of %d runs, a fresh topic each", len(rep.Runs), rep.Requested)
		}
		head.Config.Topic = ""
		for _, r := range rep.Runs[1:] {
			if !slices.Equal(r.Cluster.Bootstrap, head.Cluster.Bootstrap) {
				// A fresh embedded cluster per run: no one address to show.
				head.Cluster.Mode += ", a fresh cluster per run"
				head.Cluster.Bootstrap, head.Cluster.Brokers = nil, nil
				break
			}
		}
		head.StartedAt, head.DurationS = rep.StartedAt, rep.DurationS
		p.header(&head)
	}
	p.blank()
	p.line(strings.Repeat("═", lineWidth))
	p.line(p.st.heading.Render(fmt.Sprintf("REPEAT SUMMARY (%d runs)", len(rep.Runs))))
	p.line(strings.Repeat("═", lineWidth))
	p.runs(rep)
	p.repeatScenarios(rep.Scenarios)
	p.repeatThresholds(rep.Runs)
	p.spread(rep.Spread, len(rep.Runs))
	if rep.Baseline != nil {
		p.comparison(rep.Baseline, "median")
	}
	p.repeatVerdict(rep)
	_, err := io.WriteString(w, p.b.String())
	return err
}

// RenderRepeatSummary writes the summary of a repeat, as --quiet asks: each
// run's verdict, each scenario's verdicts across the runs, and the verdict.
func RenderRepeatSummary(w io.Writer, rep *Repeat, rd *lipgloss.Renderer) error {
	p := &printer{st: newStyles(orASCII(w, rd))}
	p.runs(rep)
	p.repeatScenarios(rep.Scenarios)
	p.repeatVerdict(rep)
	_, err := io.WriteString(w, p.b.String())
	return err
}

// runs writes one line per run: its verdict, time, run id and what failed.
func (p *printer) runs(rep *Repeat) {
	p.section("Runs")
	for i, r := range rep.Runs {
		mark, word, st := p.st.pass.Render("✓"), "PASSED", p.st.pass
		switch {
		case r.Errored():
			mark, word, st = p.st.fail.Render("✗"), "ERROR", p.st.fail
		case r.Interrupted:
			mark, word, st = p.st.skip.Render("■"), "INTERRUPTED", p.st.skip
		case !r.Passed:
			mark, word, st = p.st.fail.Render("✗"), "FAILED", p.st.fail
		}
		var what []string
		for _, s := range r.Scenarios {
			if !s.Passed && !(s.NotApplicable && r.AllowNotApplicable) {
				what = append(what, s.Name)
			}
		}
		if g := r.Gate; g != nil {
			for _, t := range g.Thresholds {
				if !t.Passed {
					what = append(what, t.Expr)
				}
			}
		}
		l := fmt.Sprintf("  %s run %-3d %s  %7s  %s", mark, i+1, st.Render(pad(word, 11)), seconds(r.DurationS), r.RunID)
		if len(what) > 0 {
			l += "  " + p.st.bad.Render(ansi.Truncate("failed: "+strings.Join(what, ", "), lineWidth-ansi.StringWidth(ansi.Strip(l))-2, "…"))
		}
		p.line(l)
	}
}

// repeatScenarios writes each scenario's verdicts across the runs.
func (p *printer) repeatScenarios(ss []RepeatScenario) {
	if len(ss) == 0 {
		return
	}
	p.section("Scenarios across the runs")
	nw := widest(ss, func(s RepeatScenario) string { return s.Name })
	for _, s := range ss {
		mark, note := p.st.pass.Render("✓"), ""
		switch {
		case s.Flaky:
			mark, note = p.st.fail.Render("✗"), p.st.fail.Render("FLAKY: passed some runs and failed others")
		case s.Passed < s.Runs:
			mark, note = p.st.fail.Render("✗"), p.st.fail.Render("failed every run")
		}
		p.line(fmt.Sprintf("  %s %s  %d/%d passed  ", mark, pad(s.Name, nw), s.Passed, s.Runs), note)
	}
}

// repeatThresholds writes each threshold with how many runs met it and the
// range of its measured values.
func (p *printer) repeatThresholds(runs []*Report) {
	type agg struct {
		expr, unit   string
		runs, passed int
		lo, hi       float64
		measured     bool
		reason       string
	}
	var list []*agg
	index := map[string]*agg{}
	for _, r := range runs {
		if r.Gate == nil {
			continue
		}
		for _, t := range r.Gate.Thresholds {
			a := index[t.Expr]
			if a == nil {
				a = &agg{expr: t.Expr, unit: t.Unit}
				index[t.Expr] = a
				list = append(list, a)
			}
			a.runs++
			if t.Passed {
				a.passed++
			}
			if t.Value == nil {
				a.reason = t.Reason
				continue
			}
			if !a.measured {
				a.lo, a.hi, a.measured = *t.Value, *t.Value, true
			}
			a.lo, a.hi = min(a.lo, *t.Value), max(a.hi, *t.Value)
		}
	}
	if len(list) == 0 {
		return
	}
	p.section("Thresholds (every run must meet each)")
	ew := min(widest(list, func(a *agg) string { return a.expr }), lineWidth/2)
	for _, a := range list {
		mark, st := p.st.pass.Render("✓"), lipgloss.Style{}
		if a.passed < a.runs {
			mark, st = p.st.fail.Render("✗"), p.st.bad
		}
		vals := a.reason
		if a.measured {
			vals = FormatValue(a.lo, a.unit)
			if a.hi != a.lo {
				vals += " … " + FormatValue(a.hi, a.unit)
			}
		}
		p.wrapped("  "+mark+" ", pad(ansi.Truncate(a.expr, ew, "…"), ew)+"  ", fmt.Sprintf("%d/%d runs  %s", a.passed, a.runs, vals), st)
	}
}

// spread writes the min, median and max of every metric over the runs.
func (p *printer) spread(ss []Spread, total int) {
	if len(ss) == 0 {
		return
	}
	p.section("Spread over the runs")
	type row struct{ name, lo, med, hi string }
	rows := make([]row, len(ss))
	nw, lw, mw, hw := len("metric"), len("min"), len("median"), len("max")
	for i, s := range ss {
		rows[i] = row{s.Metric, FormatValue(s.Min, s.Unit), FormatValue(s.Median, s.Unit), FormatValue(s.Max, s.Unit)}
		nw, lw = max(nw, len(s.Metric)), max(lw, ansi.StringWidth(rows[i].lo))
		mw, hw = max(mw, ansi.StringWidth(rows[i].med)), max(hw, ansi.StringWidth(rows[i].hi))
	}
	p.line(p.st.faint.Render(fmt.Sprintf("  %-*s  %*s  %*s  %*s", nw, "metric", lw, "min", mw, "median", hw, "max")))
	for i, s := range ss {
		r := rows[i]
		l := fmt.Sprintf("  %-*s  %s  %s  %s", nw, r.name, padLeft(r.lo, lw), padLeft(r.med, mw), padLeft(r.hi, hw))
		if s.Runs < total {
			l += p.st.faint.Render(fmt.Sprintf("  (%d of %d runs)", s.Runs, total))
		}
		p.line(l)
	}
}

// repeatVerdict writes the final banner of a repeat.
func (p *printer) repeatVerdict(rep *Repeat) {
	passed := rep.PassedRuns()
	n := len(rep.Runs)
	var flaky []string
	for _, s := range rep.Scenarios {
		if s.Flaky {
			flaky = append(flaky, s.Name)
		}
	}
	var text string
	var st lipgloss.Style
	switch {
	case rep.Errored():
		text, st = fmt.Sprintf("✗ ERROR  %s (%d/%d runs passed)", InternalErrorText, passed, n), p.st.fail
	case rep.Interrupted:
		text, st = fmt.Sprintf("■ INTERRUPTED (%d of %d runs done, %d passed)", n, rep.Requested, passed), p.st.skip
	case rep.Passed:
		text, st = fmt.Sprintf("✓ PASSED (%d/%d runs)", passed, n), p.st.pass
	default:
		text, st = fmt.Sprintf("✗ FAILED (%d/%d runs passed)", passed, n), p.st.fail
	}
	if len(flaky) > 0 {
		text = strings.TrimSuffix(text, ")") + "; flaky: " + strings.Join(flaky, ", ") + ")"
	}
	if c := rep.Baseline; c != nil && !c.Passed {
		text = strings.TrimSuffix(text, ")") + "; medians regressed from the baseline)"
	}
	if rep.DurationS > 0 {
		text += " in " + seconds(rep.DurationS)
	}
	rule := st.Render(strings.Repeat("═", lineWidth))
	p.blank()
	p.line(rule)
	for _, l := range verdictLines(text) {
		p.line(strings.Repeat(" ", max(0, (lineWidth-ansi.StringWidth(l))/2)), st.Render(l))
	}
	p.line(rule)
}
