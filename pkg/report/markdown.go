package report

import (
	"fmt"
	"io"
	"os"
	"strings"
)

// maxMarkdownFindings bounds the findings listed per scenario in Markdown,
// which ends up in pull requests and job summaries.
const maxMarkdownFindings = 20

// WriteMarkdown writes r as a GitHub-flavoured Markdown summary for pull
// requests and job summaries: the verdict, the scenarios, the thresholds, the
// baseline comparison, the delivery counts and the performance numbers.
func WriteMarkdown(w io.Writer, r *Report) error {
	var b strings.Builder
	fmt.Fprintf(&b, "## %s chronik-e2e %s: %s\n\n", verdictEmoji(r.Passed, r.Interrupted), r.Profile, verdictWord(r))
	c := r.Config
	fmt.Fprintf(&b, "Run `%s` · %s cluster · topic `%s` · %d partitions · RF %d · %s messages · acks %s · %s\n\n",
		r.RunID, r.Cluster.Mode, c.Topic, c.Partitions, c.ReplicationFactor, commas(int64(c.Messages)), c.Acks, seconds(r.DurationS))
	if about := mdAbout(r); about != "" {
		b.WriteString(about + "\n\n")
	}
	mdScenarios(&b, r.Scenarios, r.AllowNotApplicable)
	if r.Gate != nil {
		mdThresholds(&b, r.Gate.Thresholds)
		if r.Gate.Baseline != nil {
			mdComparison(&b, r.Gate.Baseline)
		}
	}
	mdDelivery(&b, r)
	mdFindings(&b, r.Scenarios)
	mdTimeline(&b, r)
	mdInternalErrors(&b, r.InternalErrors)
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteMarkdownRepeat writes a repeat as Markdown: the verdict, each run's
// verdict, each scenario across the runs, the spread and the baseline.
func WriteMarkdownRepeat(w io.Writer, rep *Repeat) error {
	var b strings.Builder
	word := "PASSED"
	switch {
	case rep.Errored():
		word = "ERROR, " + InternalErrorText
	case rep.Interrupted:
		word = "INTERRUPTED"
	case !rep.Passed:
		word = "FAILED"
	}
	fmt.Fprintf(&b, "## %s chronik-e2e %s: %s (%d/%d runs passed)\n\n", verdictEmoji(rep.Passed, rep.Interrupted), rep.Profile, word, rep.PassedRuns(), len(rep.Runs))
	b.WriteString("| run | verdict | time | run id | failed |\n|---:|---|---:|---|---|\n")
	for i, r := range rep.Runs {
		var failed []string
		for _, s := range r.Scenarios {
			if !s.Passed && !(s.NotApplicable && r.AllowNotApplicable) {
				failed = append(failed, s.Name)
			}
		}
		if r.Gate != nil {
			for _, t := range r.Gate.Thresholds {
				if !t.Passed {
					failed = append(failed, "`"+t.Expr+"`")
				}
			}
		}
		fmt.Fprintf(&b, "| %d | %s %s | %s | `%s` | %s |\n", i+1, verdictEmoji(r.Passed, r.Interrupted), verdictWord(r), seconds(r.DurationS), r.RunID, mdCell(strings.Join(failed, ", ")))
	}
	b.WriteString("\n### Scenarios across the runs\n\n| | scenario | passed |\n|---|---|---:|\n")
	for _, s := range rep.Scenarios {
		mark, note := "✅", ""
		switch {
		case s.Flaky:
			mark, note = "❌", " **flaky**"
		case s.Passed < s.Runs:
			mark = "❌"
		}
		fmt.Fprintf(&b, "| %s | %s | %d/%d%s |\n", mark, mdCell(s.Name), s.Passed, s.Runs, note)
	}
	if len(rep.Spread) > 0 {
		b.WriteString("\n### Spread over the runs\n\n| metric | min | median | max |\n|---|---:|---:|---:|\n")
		for _, s := range rep.Spread {
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", s.Metric, FormatValue(s.Min, s.Unit), FormatValue(s.Median, s.Unit), FormatValue(s.Max, s.Unit))
		}
	}
	if rep.Baseline != nil {
		mdComparison(&b, rep.Baseline)
	}
	for i, r := range rep.Runs {
		if len(r.Scenarios) > 0 && !r.ChecksPassed() {
			fmt.Fprintf(&b, "\n### Run %d\n", i+1)
			mdFindings(&b, r.Scenarios)
			mdInternalErrors(&b, r.InternalErrors)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteMarkdownFile writes the Markdown of r, or of rep when it is not nil,
// to path; with appendTo it appends, as $GITHUB_STEP_SUMMARY wants.
func WriteMarkdownFile(path string, r *Report, rep *Repeat, appendTo bool) error {
	s, err := renderEither(r, rep, WriteMarkdown, WriteMarkdownRepeat)
	if err != nil {
		return err
	}
	flags := os.O_CREATE | os.O_WRONLY | os.O_TRUNC
	if appendTo {
		flags = os.O_CREATE | os.O_WRONLY | os.O_APPEND
	}
	f, err := os.OpenFile(path, flags, 0o644)
	if err != nil {
		return fmt.Errorf("write Markdown report: %w", err)
	}
	if _, err := f.WriteString(s); err != nil {
		f.Close()
		return fmt.Errorf("write Markdown report: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write Markdown report: %w", err)
	}
	return nil
}

func verdictEmoji(passed, interrupted bool) string {
	switch {
	case interrupted:
		return "⏹️"
	case passed:
		return "✅"
	}
	return "❌"
}

// verdictWord is PASSED, FAILED, ERROR or INTERRUPTED, saying when only the gate failed.
func verdictWord(r *Report) string {
	switch {
	case r.Errored():
		return "ERROR (" + InternalErrorText + ")"
	case r.Interrupted:
		return "INTERRUPTED"
	case r.Passed:
		return "PASSED"
	case r.GateFailed():
		return "FAILED (thresholds or baseline; every check passed)"
	}
	return "FAILED"
}

// mdScenarios writes the scenarios' table; a scenario not applicable to the
// cluster failed the run unless allowNA.
func mdScenarios(b *strings.Builder, ss []*Scenario, allowNA bool) {
	if len(ss) == 0 {
		return
	}
	b.WriteString("| | scenario | verdict | time | findings |\n|---|---|---|---:|---:|\n")
	for _, s := range ss {
		mark, word := "✅", "passed"
		switch {
		case s.InternalError:
			mark, word = "❌", "**error**"
		case s.NotApplicable && allowNA:
			mark, word = "➖", "not applicable"
		case s.NotApplicable:
			mark, word = "❌", "not applicable (untested)"
		case s.NotRun:
			mark, word = "⏭️", "not run"
		case s.Skipped:
			mark, word = "⏭️", "skipped"
		case !s.Passed:
			mark, word = "❌", "failed"
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %d |\n", mark, mdCell(s.Name), word, seconds(s.DurationS), len(s.Findings))
	}
}

func mdThresholds(b *strings.Builder, ts []Threshold) {
	if len(ts) == 0 {
		return
	}
	b.WriteString("\n### Thresholds\n\n| | threshold | measured |\n|---|---|---:|\n")
	for _, t := range ts {
		mark := "✅"
		if !t.Passed {
			mark = "❌"
		}
		v := optValue(t.Value, t.Unit)
		if t.Reason != "" {
			v = t.Reason
		}
		fmt.Fprintf(b, "| %s | `%s` | %s |\n", mark, strings.ReplaceAll(t.Expr, "|", `\|`), mdCell(v))
	}
}

func mdComparison(b *strings.Builder, c *Comparison) {
	fmt.Fprintf(b, "\n### Baseline comparison (tolerance %s%%)\n\n", number(c.TolerancePct))
	what := nonEmpty([]string{c.File, prefixed("profile ", c.Profile), prefixed("run ", c.RunID)})
	if !c.StartedAt.IsZero() {
		what = append(what, c.StartedAt.Format("2006-01-02 15:04:05 MST"))
	}
	fmt.Fprintf(b, "Against %s.\n\n", mdCell(strings.Join(what, " · ")))
	if len(c.Metrics) > 0 {
		b.WriteString("| | scenario | metric | baseline | this run | change |\n|---|---|---|---:|---:|---:|\n")
		for _, d := range c.Metrics {
			mark := "✅"
			if d.Regressed {
				mark = "❌"
			}
			fmt.Fprintf(b, "| %s | %s | `%s` | %s | %s | %s |\n", mark, mdCell(d.Scenario), d.Metric,
				FormatValue(d.Baseline, d.Unit), FormatValue(d.Value, d.Unit), deltaPct(d.DeltaPct))
		}
	}
	for _, n := range c.Notes {
		fmt.Fprintf(b, "\n- %s", mdCell(n))
	}
	if len(c.Notes) > 0 {
		b.WriteString("\n")
	}
}

func mdDelivery(b *strings.Builder, r *Report) {
	if !r.Produced && !r.Consumed {
		return
	}
	d := r.Delivery
	b.WriteString("\n### Delivery\n\n| sent | acked | failed | consumed | lost | duplicated | reordered | unexpected | misplaced | unacked read |\n")
	b.WriteString("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
		commas(d.Sent), commas(d.Acked), commas(d.Failed), commas(d.Consumed), commas(d.Lost),
		commas(d.Duplicated), commas(d.Reordered), commas(d.Unexpected), commas(d.Misplaced), commas(d.UnackedRead))
	if r.Produced {
		t, l := r.Throughput, r.Latency
		fmt.Fprintf(b, "\nProduce %s msg/s (%s MB/s) · latency p50 %s · p99 %s · p99.9 %s · max %s",
			rate(t.ProduceMsgsPerS), megabytes(t.ProduceMBPerS), millis(l.P50), millis(l.P99), millis(l.P999), millis(l.Max))
		if r.Consumed {
			fmt.Fprintf(b, " · consume %s msg/s", rate(t.ConsumeMsgsPerS))
		}
		b.WriteString("\n")
	}
}

// mdFindings lists the findings and errors of the failed scenarios in a
// collapsed block.
func mdFindings(b *strings.Builder, ss []*Scenario) {
	var lines []string
	for _, s := range ss {
		if s.Error != "" {
			lines = append(lines, fmt.Sprintf("- **%s**: %s", mdCell(s.Name), mdCell(s.Error)))
		}
		for i, f := range s.Findings {
			if i == maxMarkdownFindings {
				lines = append(lines, fmt.Sprintf("- **%s**: … and %d more (see the JSON report)", mdCell(s.Name), len(s.Findings)-i))
				break
			}
			lines = append(lines, fmt.Sprintf("- **%s**: %s", mdCell(s.Name), mdCell(f)))
		}
	}
	if len(lines) == 0 {
		return
	}
	fmt.Fprintf(b, "\n<details><summary>Findings (%d)</summary>\n\n%s\n\n</details>\n", len(lines), strings.Join(lines, "\n"))
}

// mdCell makes text safe inside a Markdown table cell or list item: no
// pipes, no line breaks, no HTML.
func mdCell(s string) string {
	r := strings.NewReplacer("|", `\|`, "\n", " ", "\r", "", "<", "&lt;", ">", "&gt;")
	return r.Replace(s)
}

// mdAbout is the line with the profile's source and digest, the tool's
// version and the tags; empty when the report has none of them.
func mdAbout(r *Report) string {
	var parts []string
	if r.ProfileSource != "" {
		parts = append(parts, "profile `"+r.ProfileSource+"`")
	}
	if r.ProfileDigest != "" {
		parts = append(parts, "`"+shortDigest(r.ProfileDigest)+"`")
	}
	if r.ToolVersion != "" {
		parts = append(parts, "chronik-e2e "+r.ToolVersion)
	}
	for _, t := range r.TagList() {
		parts = append(parts, "`"+t+"`")
	}
	return strings.Join(parts, " · ")
}

// mdInternalErrors lists the internal errors, each with its stack folded away.
func mdInternalErrors(b *strings.Builder, es []InternalError) {
	if len(es) == 0 {
		return
	}
	fmt.Fprintf(b, "\n### Internal errors\n\n%s: please report it with these stacks.\n", InternalErrorText)
	for _, e := range es {
		fmt.Fprintf(b, "\n<details><summary>%s</summary>\n\n```\n%s\n```\n\n</details>\n",
			mdCell(e.Title()), strings.TrimRight(e.Stack, "\n"))
	}
}

// mdTimeline writes each fault scenario's timeline, folded: the faults with
// their links and every symptom, seconds since the run started.
func mdTimeline(b *strings.Builder, r *Report) {
	if r.Faults == nil || len(r.Faults.Timeline) == 0 {
		return
	}
	fmt.Fprintf(b, "\n### Fault timeline (seed %d)\n\n", r.Faults.Seed)
	for _, s := range r.Scenarios {
		tl := r.Faults.TimelineText(s.Name)
		if len(tl) == 0 {
			continue
		}
		n := 0
		for _, e := range r.Faults.Timeline {
			if e.Scenario == s.Name {
				n++
			}
		}
		fmt.Fprintf(b, "<details><summary>%s: %s</summary>\n\n```\n%s\n```\n\n</details>\n\n", mdCell(s.Name), countOf(n, "event"), strings.Join(tl, "\n"))
	}
}
